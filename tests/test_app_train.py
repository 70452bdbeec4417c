"""AppTest of the Train page with a tiny configuration (a few hundred images, tens of steps).

AppTest runs the page's run_every fragment once per run(), so each test advances by
sleeping while the background thread trains, then calling run() again.
"""

import base64
import json
import time

import numpy as np
import pytest
from conftest import assert_no_exception, new_app, shown

import gvae

PAGE = "pages/train.py"


def configure(at, max_steps: int, seed: int = 0, **values):
    at.select_slider(key="t_train_size").set_value(500)
    at.number_input(key="t_max_steps").set_value(max_steps)
    at.number_input(key="t_batch_size").set_value(50)
    at.number_input(key="t_epochs").set_value(100)
    at.number_input(key="t_seed").set_value(seed)
    for key, value in values.items():
        at.number_input(key=key).set_value(value)
    return at


def job(at):
    return at.session_state["train_job"]


def wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def array(data) -> np.ndarray:
    """A Plotly JSON array: a list, or numpy's {"dtype", "bdata"} base64 encoding."""
    if isinstance(data, dict):
        return np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"])
    return np.asarray(data)


def curve_lengths(at) -> tuple[int, int]:
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    loss = next(s for s in specs if "Loss" in s["layout"]["title"]["text"])
    tau = next(s for s in specs if "Temperature" in s["layout"]["title"]["text"])
    return len(array(loss["data"][0]["x"])), len(array(tau["data"][0]["x"]))


@pytest.fixture
def weights_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("GVAE_WEIGHTS_DIR", str(tmp_path))
    return tmp_path


def test_start_grow_stop_resume_save(weights_dir):
    at = new_app(page=PAGE)
    assert_no_exception(at)
    configure(at, max_steps=400).button(key="t_start").click().run()
    assert_no_exception(at)
    wait_for(lambda: job(at).step >= 5)
    at.run()
    first = curve_lengths(at)
    wait_for(lambda: job(at).step >= first[0] + 20)
    at.run()
    second = curve_lengths(at)
    assert second[0] > first[0] and second[1] > first[1]  # loss and tau curves grow

    at.button(key="t_stop").click().run()
    assert_no_exception(at)
    stopped_at = job(at).step
    assert job(at).status == "stopped" and 0 < stopped_at < 400
    time.sleep(0.5)
    at.run()
    assert job(at).step == stopped_at  # stop holds
    assert any(m.value == f"{stopped_at} / 400" for m in at.metric)

    # Stopped: Resume leads, and Start asks before it discards the run.
    assert at.button(key="t_resume").proto.type == "primary"
    assert at.button(key="t_start").proto.type == "secondary"
    stopped = job(at)
    at.button(key="t_start").click().run()
    assert job(at) is stopped and any("Start a fresh run?" in w.value for w in at.warning)
    at.button(key="t_keep").click().run()
    assert job(at) is stopped and not any("Start a fresh run?" in w.value for w in at.warning)

    at.button(key="t_resume").click().run()
    wait_for(lambda: job(at).step >= stopped_at + 10)
    history = job(at).history()
    assert [h["step"] for h in history] == list(range(1, len(history) + 1))  # continues, no restart
    at.button(key="t_stop").click().run()

    at.text_input(key="t_save_name").set_value("from-the-app").run()
    at.button(key="t_save").click().run()
    assert_no_exception(at)
    assert any("Saved from-the-app.safetensors" in shown(s.value) for s in at.success)
    model = gvae.load_model(weights_dir / "from-the-app.safetensors")
    assert model.card["steps"] == job(at).step and "neg_elbo" in model.card["metrics"]
    # Selectable at once on the other pages. (AppTest drops the sidebar from its tree once
    # a run_every fragment has run, so a second session looks at the selector.)
    other = new_app(page="pages/latent_editor.py")
    assert "from-the-app" in other.sidebar.selectbox[0].options


def test_start_fresh_after_a_confirmation_replaces_the_stopped_run(weights_dir):
    at = new_app(page=PAGE)
    configure(at, max_steps=400).button(key="t_start").click().run()
    wait_for(lambda: job(at).step >= 3)
    at.button(key="t_stop").click().run()
    stopped = job(at)
    at.button(key="t_start").click().run()
    at.button(key="t_start_fresh").click().run()
    assert_no_exception(at)
    wait_for(lambda: job(at) is not stopped and job(at).step >= 1)
    at.run()
    assert at.button(key="t_start").disabled
    at.button(key="t_stop").click().run()


def test_the_loss_chart_draws_kl_on_its_own_axis():
    from gvae.app.figures import loss_figure

    history = [
        {"step": i, "loss": 540.0 - i, "reconstruction": 520.0 - i, "kl": 20.0 + i}
        for i in range(1, 6)
    ]
    fig = loss_figure(history)
    kl = next(t for t in fig.data if t.name == "KL")
    assert kl.yaxis == "y2" and fig.layout.yaxis2.overlaying == "y"
    assert all(t.yaxis in (None, "y") for t in fig.data if t.name != "KL")


def test_the_default_weights_cannot_be_overwritten(weights_dir):
    at = new_app(page=PAGE)
    configure(at, max_steps=3).button(key="t_start").click().run()
    wait_for(lambda: not job(at).running)
    at.run()
    at.text_input(key="t_save_name").set_value("gvae-default").run()
    at.button(key="t_save").click().run()
    assert any("cannot be overwritten" in e.value for e in at.error)
    assert not (weights_dir / "gvae-default.safetensors").exists()


@pytest.mark.parametrize(
    "key, value, message",
    [("t_tau_min", 5.0, "tau_min"), ("t_tau0", 0.0, "tau0"), ("t_lr", 0.0, "lr")],
)
def test_an_invalid_hyperparameter_shows_an_error_and_starts_nothing(key, value, message):
    at = new_app(page=PAGE)
    configure(at, max_steps=10, **{key: value}).button(key="t_start").click().run()
    assert_no_exception(at)
    assert any(message in shown(e.value) and "Not started" in e.value for e in at.error)
    assert "train_job" not in at.session_state


def test_missing_mnist_is_explained(monkeypatch, tmp_path):
    from torchvision.datasets import MNIST

    def offline(self):
        raise OSError("network is unreachable")

    monkeypatch.setattr(MNIST, "download", offline)
    monkeypatch.setenv("GVAE_DATA_DIR", str(tmp_path / "nowhere"))
    at = new_app(page=PAGE)
    configure(at, max_steps=10).button(key="t_start").click().run()
    assert_no_exception(at)
    message = " ".join(shown(e.value) for e in at.error)
    assert "MNIST/raw" in message and "GVAE_DATA_DIR" in message


def test_two_sessions_train_independently(weights_dir):
    a, b = new_app(page=PAGE), new_app(page=PAGE)
    configure(a, max_steps=300, seed=1).button(key="t_start").click().run()
    configure(b, max_steps=40, seed=2).button(key="t_start").click().run()
    assert job(a) is not job(b)
    wait_for(lambda: not job(b).running)
    assert job(b).step == 40
    a.button(key="t_stop").click().run()
    assert job(a).config.seed == 1 and job(b).config.seed == 2
    assert job(b).status == "finished" and job(a).status in ("stopped", "finished")
    assert job(a).history()[0]["loss"] != job(b).history()[0]["loss"]


def test_a_killed_training_process_is_explained(weights_dir):
    import os
    import signal

    at = new_app(page=PAGE)
    configure(at, max_steps=5000).button(key="t_start").click().run()
    wait_for(lambda: job(at).step >= 5)
    os.kill(job(at).process.pid, signal.SIGKILL)
    job(at).process.join(timeout=10)
    time.sleep(0.1)
    at.run()
    assert_no_exception(at)
    assert any("ended unexpectedly" in e.value for e in at.error)
    assert any("history is kept" in w.value for w in at.warning)
    assert at.button(key="t_save").disabled


def test_the_cli_and_the_form_are_exactly_the_train_config_fields():
    """One source: gvae-train's options and the page's widgets come from TrainConfig."""
    import dataclasses

    from gvae.train import build_parser

    names = {f.name for f in dataclasses.fields(gvae.TrainConfig)}
    parser = build_parser()
    group = next(g for g in parser._action_groups if g.title.startswith("hyperparameters"))
    assert {action.dest for action in group._group_actions} == names
    at = new_app(page=PAGE)
    form = at.expander[0]  # "Hyperparameters"
    widgets = [w for kind in ("number_input", "selectbox", "select_slider") for w in form.get(kind)]
    assert sorted(w.key for w in widgets) == sorted(f"t_{name}" for name in names)
    # Untouched, the form reads back as the page's recipe, exactly.
    at.button(key="t_start").click().run()
    assert_no_exception(at)
    assert job(at).config == gvae.config.QUICK_DEMO
    job(at).close()
