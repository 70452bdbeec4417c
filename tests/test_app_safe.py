"""The Train page on a shared server: admission control, the end of every worker, safe
saving and damaged MNIST (issue 18's probes). AppTest, with tiny runs; tests share
sessions where they can, since each worker costs a process start."""

import errno
import os
import signal
import subprocess
import sys

from conftest import ROOT, assert_no_exception, new_app, shown
from test_board import training_workers, wait_for
from test_mnist_files import damaged_copy

from gvae.weights import SUFFIX

PAGE = "pages/train.py"


def start(at, max_steps: int = 100_000, seed: int = 0):
    at.select_slider(key="t_train_size").set_value(500)
    at.number_input(key="t_epochs").set_value(10_000)
    at.number_input(key="t_max_steps").set_value(max_steps)
    at.number_input(key="t_batch_size").set_value(50)
    at.number_input(key="t_seed").set_value(seed)
    at.button(key="t_start").click().run()
    if at.get("button") and any(b.key == "t_start_fresh" for b in at.button):
        at.button(key="t_start_fresh").click().run()  # a stopped run: Start asks first
    assert_no_exception(at)
    return at


def job(at):
    return at.session_state["train_job"] if "train_job" in at.session_state else None  # noqa: SIM401


def texts(at, kind: str) -> list[str]:
    return [shown(e.value) for e in at.get(kind)]


# -- admission and the end of workers ---------------------------------------------------
def test_sessions_beyond_max_jobs_wait_in_line_and_start_when_a_slot_frees(job_board):
    job_board.max_jobs = 1
    a, b, c = (start(new_app(page=PAGE)) for _ in range(3))
    assert job(a).running and job(b) is None and job(c) is None
    assert len(training_workers()) == 1  # never more than GVAE_MAX_JOBS at once
    assert any("1st in line" in t for t in texts(b, "info"))
    assert any("2nd in line" in t for t in texts(c, "info"))
    assert b.button(key="t_start").disabled and not b.button(key="t_stop").disabled
    a.button(key="t_stop").click().run()  # a slot frees: b starts by itself
    b.run()
    assert job(b).running and not any("in line" in t for t in texts(b, "info"))
    c.run()
    assert any("1st in line" in t for t in texts(c, "info"))
    os.kill(job(b).process.pid, signal.SIGKILL)  # e.g. the out-of-memory killer

    def c_trains() -> bool:
        job_board.reap()  # the server's reaper thread finds the dead worker
        c.run()
        return job(c) is not None and job(c).running

    wait_for(c_trains, timeout=30)  # a dead worker's slot frees as well
    b.run()
    assert_no_exception(b)
    assert any("ended unexpectedly" in t for t in texts(b, "error"))
    c.button(key="t_reset").click().run()
    wait_for(lambda: len(training_workers()) == 1)  # a's stopped worker alone
    job_board.close_all()  # what atexit does when the server stops
    assert not training_workers()


def test_a_fresh_start_ends_the_previous_worker():
    at = start(new_app(page=PAGE))
    for seed in (1, 2):  # the probe: 3 Starts made 3 workers
        wait_for(lambda: job(at).step >= 2)
        at.button(key="t_stop").click().run()
        start(at, seed=seed)
    assert job(at).config.seed == 2 and len(training_workers()) == 1


def test_an_unwatched_run_pauses_frees_its_worker_and_resumes(job_board):
    job_board.idle_s = 2.0
    at = start(new_app(page=PAGE))
    wait_for(lambda: job(at).step >= 3)

    # Nobody runs the page: within the idle limit and a reap the worker is gone.
    # (The worker ends inside the job's suspend(), which marks it paused as it returns.)
    def paused() -> bool:
        job_board.reap()  # what the server's reaper thread does every second
        return not training_workers() and job(at).status == "paused"

    wait_for(paused, timeout=30)
    paused_at = job(at).step
    at.run()
    assert_no_exception(at)
    assert job(at).status == "paused"
    assert any("Paused" in t and "nobody watched" in t for t in texts(at, "info"))
    assert not at.button(key="t_save").disabled  # its weights are still there
    at.button(key="t_resume").click().run()
    assert job(at).running
    wait_for(lambda: job(at).step >= paused_at + 3)
    steps = [row["step"] for row in job(at).history()]
    assert steps == list(range(1, len(steps) + 1))  # continued, not restarted


# -- saving ----------------------------------------------------------------------------
def save(at, name: str):
    at.text_input(key="t_save_name").set_value(name).run()
    at.button(key="t_save").click().run()
    assert_no_exception(at)
    return at


def test_saving_never_overwrites_what_it_should_not(tmp_path, monkeypatch):
    import gvae.app.jobs

    monkeypatch.setenv("GVAE_WEIGHTS_DIR", str(tmp_path))
    at = start(new_app(page=PAGE), max_steps=3)
    wait_for(lambda: not job(at).running)
    at.run()
    for name in ["GVAE-DEFAULT", "gvae-default", f"Gvae-Gumbel{SUFFIX}", "gvae-mine"]:
        save(at, name)  # shipped names, in any case, are refused
        assert any("cannot be overwritten" in t for t in texts(at, "error")), name
    assert list(tmp_path.iterdir()) == []

    theirs = tmp_path / f"theirs{SUFFIX}"
    theirs.write_bytes(b"someone else's model")
    save(at, "THEIRS")  # the same file on a case-insensitive disk, not saved here
    assert theirs.read_bytes() == b"someone else's model"
    assert any("already exists" in t for t in texts(at, "warning"))
    confirm = at.button(key="t_overwrite")
    assert shown(confirm.label) == f"Overwrite theirs{SUFFIX}"
    confirm.click().run()
    assert_no_exception(at)
    assert gvae.load_model(theirs).card["steps"] == 3
    saved = theirs.read_bytes()

    # Failed writes: one line, and the file this session saved is kept.
    quick = {"neg_elbo": 1.0, "iw_nll": 1.0, "n_images": 1, "iw_samples": 1}
    monkeypatch.setattr(gvae.metrics, "evaluate", lambda *args, **kwargs: dict(quick))
    for code, said in [
        (errno.ENOSPC, "the disk is full"),
        (errno.EROFS, "read-only file system"),
        (errno.EACCES, "no permission"),
    ]:

        def failing(*args, code=code, **kwargs):
            raise OSError(code, os.strerror(code))

        monkeypatch.setattr(gvae.app.saving, "save_model", failing)
        save(at, "theirs")  # saved by this session now: no question asked
        (error,) = texts(at, "error")
        assert error.startswith("Not saved: ") and said in error and "\n" not in error
        assert error.endswith(f"theirs{SUFFIX} is unchanged.")
        assert theirs.read_bytes() == saved

    not_a_folder = tmp_path / "weights-file"
    not_a_folder.write_bytes(b"x")
    monkeypatch.setenv("GVAE_WEIGHTS_DIR", str(not_a_folder))
    save(at.run(), "mine")
    assert any("is a file, not a folder" in t for t in texts(at, "error"))
    assert not_a_folder.read_bytes() == b"x"


def test_a_short_write_keeps_the_old_file(tmp_path):
    """A real failed write: a file-size limit makes write() fail as a full disk does."""
    script = f"""
import resource, signal, sys
sys.path.insert(0, {str(ROOT)!r})
from gvae.app.saving import SaveError, write_weights
from gvae.model import CategoricalVAE
path = {str(tmp_path / f"mine{SUFFIX}")!r}
open(path, "wb").write(b"old")
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, resource.RLIM_INFINITY))
try:
    write_weights(CategoricalVAE(), path, card={{}})
except SaveError as error:
    print("SaveError:", error)
"""
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert "SaveError: the file is larger than this system allows" in run.stdout, run.stderr
    assert (tmp_path / f"mine{SUFFIX}").read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == [f"mine{SUFFIX}"]  # no temporary left


# -- damaged MNIST on the page -----------------------------------------------------------
def test_damaged_mnist_is_named_on_the_train_page(tmp_path, data_dir, monkeypatch):
    root = damaged_copy(tmp_path, data_dir, "train-images-idx3-ubyte", "half-truncated")
    monkeypatch.setenv("GVAE_DATA_DIR", str(root))
    at = start(new_app(page=PAGE))
    (error,) = texts(at, "error")
    assert error.startswith("Not started: ") and "train-images-idx3-ubyte" in error
    assert "bytes, expected" in error and "Download failed" not in error
    assert job(at) is None and not training_workers()


# -- what a visitor sees of an unexpected error ------------------------------------------
def test_visitors_see_a_short_message_not_a_traceback(tmp_path):
    """The project's .streamlit/config.toml hides error details (they go to the log)."""
    from streamlit.testing.v1 import AppTest

    script = tmp_path / "boom.py"
    script.write_text('raise ValueError("secret detail at /srv/private/path")\n')
    at = AppTest.from_file(str(script)).run()
    (error,) = at.exception
    assert "secret" not in error.value and "/srv" not in error.value
    assert not error.stack_trace and "This app has encountered an error" in error.value
