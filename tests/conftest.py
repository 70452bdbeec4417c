"""Shared fixtures. Tests read real MNIST from ../shared/data and never download."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"

# Everything under test (the library, the app, subprocesses) finds MNIST here.
os.environ.setdefault("GVAE_DATA_DIR", str(SHARED_DATA))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = Path(os.environ["GVAE_DATA_DIR"])
    if not (path / "MNIST" / "raw" / "train-images-idx3-ubyte").exists():
        pytest.fail(f"MNIST is expected under {path}/MNIST/raw (set GVAE_DATA_DIR)")
    return path


APP = str(ROOT / "app.py")


def new_app(query: dict | None = None, page: str | None = None, timeout: float = 60):
    """An AppTest of app.py, optionally on a page and with query parameters."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=timeout)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    if page:
        at.switch_page(page)
    return at.run()


def assert_no_exception(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


@pytest.fixture(autouse=True)
def job_board():
    """A fresh server-wide training job board for each test (two trainings at once), so a
    run one test leaves behind never holds another test's slot; its jobs end afterwards.
    Workers come up inside Start's callback here, so an AppTest sees the job right after
    its click; the server's board brings them up in the background (test_board.py). No
    reaper thread either: it could admit a run, and launch its worker, between a test's
    click and its page run; tests that need reaping call board.reap()."""
    from gvae.app.board import JobBoard, replaced_shared_board

    board = JobBoard(max_jobs=2, background=lambda task: task(), reap_every_s=None)
    with replaced_shared_board(board) as board:
        yield board


def shown(markdown: str) -> str:
    """What a reader sees of an element's Markdown that quotes plain text (pages show
    file and URL text escaped, gvae.app.text)."""
    from gvae.app.text import unescape_markdown

    return unescape_markdown(markdown)


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory):
    """A small real weights file, for weights folders made up by tests."""
    import torch

    import gvae

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("tiny") / "tiny.safetensors"
    gvae.save_model(gvae.CategoricalVAE(), path, card={"note": "untrained, for tests"})
    return path


def component_data(at, key: str) -> dict:
    from benchmarks.app import component_data as data

    return data(at, key)


def send_component_state(at, key: str, name: str, value):
    """Rerun as the browser does when a component's script calls setStateValue(name, value)."""
    from benchmarks.app import with_component_state

    return at._run(with_component_state(at, key, name, value))


# -- the real-browser tests' shared fixtures: one server and one Chromium per test module ---
@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`streamlit run app.py` on 127.0.0.1 (its log in a temporary folder); the base URL."""
    from benchmarks.browser import streamlit_server

    log = tmp_path_factory.mktemp("server") / "streamlit.log"
    with streamlit_server(log_path=str(log)) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    from benchmarks.browser import chromium

    with chromium() as b:
        yield b


def network_of(model):
    """gvae.infer's numpy network of a torch CategoricalVAE (the same weights)."""
    from gvae import infer

    state = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    return infer.from_arrays(model.config, state, getattr(model, "card", None))


def torch_images(model, codes):
    """The torch model's Bernoulli means of category codes (B, N) as (B, 28, 28): the
    reference the numpy path and the page are compared with."""
    import numpy as np
    import torch

    with torch.no_grad():
        means = model.decode_codes(torch.as_tensor(np.asarray(codes), dtype=torch.long))
    return means.numpy().reshape(-1, 28, 28)


def torch_argmax_code(model, image) -> list[int]:
    """The torch model's per-variable argmax of q(z|x) for one image."""
    import numpy as np
    import torch

    with torch.no_grad():
        x = torch.tensor(np.asarray(image, dtype=np.float32).reshape(1, -1))
        return model.posterior(x)[0].argmax(-1).tolist()
