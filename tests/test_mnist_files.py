"""Damaged MNIST files: every check names the file and its problem, in the library, the
CLI and the Train page. Each test builds a data folder in tmp_path whose intact files are
symlinks to the shared copy (never written) and whose damaged file is a real file."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import gvae
from gvae.data import MNIST_FILES, check_mnist_file, ensure_mnist, load_mnist
from gvae.errors import DataFileError, MissingDataError
from gvae.weights import SUFFIX

ROOT = Path(__file__).resolve().parent.parent

DAMAGES = {
    # name: (how the bytes change, what the message must say)
    "half-truncated": (lambda b: b[: len(b) // 2], "bytes, expected"),
    "header only": (lambda b: b[:16], "16 bytes, expected"),
    "zero-filled": (lambda b: bytes(len(b)), "magic number 0"),
    "pixels zeroed": (lambda b: b[:16] + bytes(len(b) - 16), "MD5"),
    "labels as images": (None, "magic number 2049"),
}


def damaged_copy(tmp_path: Path, shared: Path, name: str, damage: str) -> Path:
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for other in MNIST_FILES:
        if other != name:
            (raw / other).symlink_to(shared / "MNIST" / "raw" / other)
    change, _ = DAMAGES[damage]
    if change is None:  # a label file under an image file's name
        data = (shared / "MNIST" / "raw" / name.replace("images-idx3", "labels-idx1")).read_bytes()
    else:
        data = change((shared / "MNIST" / "raw" / name).read_bytes())
    (raw / name).write_bytes(data)
    return tmp_path


@pytest.mark.parametrize("damage", list(DAMAGES))
@pytest.mark.parametrize("name", ["train-images-idx3-ubyte", "t10k-images-idx3-ubyte"])
def test_damaged_file_is_named_with_its_problem(tmp_path, data_dir, name, damage):
    root = damaged_copy(tmp_path, data_dir, name, damage)
    split = "train" if name.startswith("train") else "test"
    with pytest.raises(DataFileError) as info:
        load_mnist(split, root, download=False)
    assert info.value.path.endswith(name)
    assert DAMAGES[damage][1] in str(info.value) and name in str(info.value)
    with pytest.raises(DataFileError, match=name):  # and for the app's upfront check
        ensure_mnist(root)


def test_damaged_labels_and_special_files(tmp_path, data_dir):
    root = damaged_copy(tmp_path, data_dir, "train-labels-idx1-ubyte", "zero-filled")
    with pytest.raises(DataFileError, match="train-labels-idx1-ubyte: magic number 0"):
        load_mnist("train", root, download=False)
    raw = root / "MNIST" / "raw"
    (raw / "train-labels-idx1-ubyte").unlink()
    (raw / "train-labels-idx1-ubyte").mkdir()  # a folder under a file's name
    with pytest.raises(DataFileError, match="not a regular file"):
        check_mnist_file(raw / "train-labels-idx1-ubyte")
    (raw / "train-labels-idx1-ubyte").rmdir()
    os.mkfifo(raw / "train-labels-idx1-ubyte")  # opening it would block forever
    with pytest.raises(DataFileError, match="not a regular file"):
        check_mnist_file(raw / "train-labels-idx1-ubyte")


def test_intact_files_pass_and_missing_ones_stay_missing(tmp_path, data_dir):
    for name in MNIST_FILES:
        check_mnist_file(data_dir / "MNIST" / "raw" / name)  # the published MD5s
    with pytest.raises(MissingDataError) as info:
        load_mnist("test", tmp_path, download=False)
    assert not isinstance(info.value, DataFileError)


def test_a_replaced_file_is_checked_again(tmp_path, data_dir):
    root = damaged_copy(tmp_path, data_dir, "t10k-labels-idx1-ubyte", "pixels zeroed")
    target = root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    with pytest.raises(DataFileError, match="MD5"):
        check_mnist_file(target)
    target.write_bytes((data_dir / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").read_bytes())
    check_mnist_file(target)  # same path, new bytes: hashed again, and now intact


@pytest.mark.parametrize("damage", ["half-truncated", "header only", "zero-filled"])
@pytest.mark.parametrize("name", ["train-images-idx3-ubyte", "t10k-images-idx3-ubyte"])
def test_cli_names_the_damaged_file(tmp_path, data_dir, name, damage):
    root = damaged_copy(tmp_path / "data", data_dir, name, damage)
    command = [sys.executable, "-m", "gvae.train", "--max-steps", "2", "--train-size", "500"]
    command += ["--data-dir", str(root), "--out", str(tmp_path / f"x{SUFFIX}"), "--no-progress"]
    if name.startswith("t10k"):  # the test set: evaluation reads it
        command = [sys.executable, "-m", "gvae.evaluate", str(gvae.DEFAULT_WEIGHTS)]
        command += ["--data-dir", str(root), "--limit", "10", "--iw-samples", "2"]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode != 0
    assert "Traceback" not in run.stderr, run.stderr
    assert name in run.stderr and DAMAGES[damage][1] in run.stderr, run.stderr
