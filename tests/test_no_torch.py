"""Viewing never needs torch: every page of the app draws in a Python where `import torch`
fails (a viewing-only install), and the two places that run torch say what they need."""

import subprocess
import sys
import textwrap

from conftest import ROOT

from gvae.app.pages import PAGES as APP_PAGES

PAGES = [page.script for page in APP_PAGES]

# On PYTHONPATH as sitecustomize: this Python and every one it starts lack torch.
NO_TORCH = textwrap.dedent(
    """
    import importlib.abc, sys

    class NoTorch(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("torch", "torchvision"):
                raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)")

    sys.meta_path.insert(0, NoTorch())
    """
)
SCRIPT = textwrap.dedent(
    """
    import json, sys, time

    sys.path.insert(0, "tests")
    from conftest import new_app

    report = {}
    for page in sys.argv[1:]:
        at = new_app(page=page, timeout=120)
        report[page] = {
            "exceptions": [e.value for e in at.exception],
            "errors": [e.value for e in at.error],
            "elements": len(at.main.children),
            "info": [i.value for i in at.info],
        }
        if page == "pages/reparameterization.py":  # the autograd panel's subprocess
            deadline = time.time() + 60
            while not at.info and time.time() < deadline:
                time.sleep(0.5)
                at.run()
            report[page]["info"] = [i.value for i in at.info]
        if page == "pages/train.py":
            start = next(b for b in at.button if "Start" in b.label)
            start.click().run()
            report[page]["after_start"] = [e.value for e in at.error]
    report["torch_imported"] = "torch" in sys.modules
    print(json.dumps(report))
    """
)


def test_every_page_draws_without_torch(tmp_path):
    import json
    import os

    (tmp_path / "sitecustomize.py").write_text(NO_TORCH)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, *PAGES],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(PAGES) >= 11 and not report.pop("torch_imported")
    for page, seen in report.items():
        assert not seen["exceptions"] and not seen["errors"], (page, seen)
        assert seen["elements"] > 3, (page, seen)  # it drew
    assert any("training needs torch" in e for e in report["pages/train.py"]["after_start"])
    panel = report["pages/reparameterization.py"]["info"]
    assert any("install torch" in i for i in panel), panel
