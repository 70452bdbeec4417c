"""`pip install .` gives a working library away from the repository: the package, its
shipped weights and the console scripts (installed without dependencies, into a folder,
so the test takes seconds; the venv already holds torch)."""

import dataclasses
import os
import subprocess
import sys

from conftest import ROOT

import gvae


def test_pip_install_gives_the_library_its_weights_and_commands(tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation"]
        + ["--target", str(target), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    code = "import gvae; print(gvae.__file__); print(gvae.load_model().card['metrics']['n_images'])"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    location, n_images = out.stdout.split()
    assert location.startswith(str(target)) and n_images == "10000"  # not the repo's copy
    help_text = subprocess.run(
        [str(target / "bin" / "gvae-train"), "--help"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    ).stdout
    for field in dataclasses.fields(gvae.TrainConfig):
        assert "--" + field.name.replace("_", "-") in help_text, field.name
