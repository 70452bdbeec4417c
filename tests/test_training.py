"""The training engine and the CLIs on real MNIST from ../shared/data (never downloaded)."""

import json
import os
import signal
import time

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gvae
import gvae.evaluate as evaluate_cli
import gvae.train as train_cli
from gvae import MissingDataError, NonFiniteLossError, TrainConfig, Trainer, load_mnist

pytestmark = pytest.mark.usefixtures("data_dir")


@pytest.fixture(scope="module")
def images():
    x, _ = load_mnist("train", limit=2000)
    return x


def test_mnist_loads_as_in_memory_tensors(data_dir):
    x, y = load_mnist("test", data_dir, limit=100)
    assert x.shape == (100, 784) and x.dtype == torch.float32
    assert x.min() >= 0 and x.max() <= 1 and 0 < x.mean() < 0.5
    assert y[:5].tolist() == [7, 2, 1, 0, 4]  # the test set's famous first digits


def test_fixed_test_set_is_binary_and_reproducible(data_dir):
    a, _ = gvae.fixed_test_set(data_dir, limit=200)
    b, _ = gvae.fixed_test_set(data_dir, limit=200)
    assert torch.equal(a, b)
    assert set(a.unique().tolist()) <= {0.0, 1.0}


def test_missing_data_says_where_the_files_go(tmp_path):
    with pytest.raises(MissingDataError) as info:
        load_mnist("train", tmp_path / "empty", download=False)
    message = str(info.value)
    assert str((tmp_path / "empty" / "MNIST" / "raw").resolve()) in message
    assert "train-images-idx3-ubyte" in message and "GVAE_DATA_DIR" in message


def test_failed_download_is_a_clear_error(tmp_path, monkeypatch):
    from torchvision.datasets import MNIST

    def offline(self):
        raise OSError("network is unreachable")

    monkeypatch.setattr(MNIST, "download", offline)
    with pytest.raises(MissingDataError, match="network is unreachable"):
        load_mnist("train", tmp_path / "offline")


def test_training_smoke_loss_falls(images):
    trainer = Trainer(TrainConfig(epochs=100, max_steps=300, batch_size=100, seed=0), images=images)
    losses = [m.loss for m in trainer.steps()]
    assert len(losses) == 300 and trainer.done
    first, last = sum(losses[:20]) / 20, sum(losses[-20:]) / 20
    # Measured: ~360 nats over the first 20 steps, ~190 over the last 20. A margin of
    # 120 nats leaves room for noise and still fails for a model that does not learn.
    assert first - last > 120, (first, last)
    m = trainer.history[-1]
    assert set(m) == {"step", "epoch", "loss", "reconstruction", "kl", "tau", "lr", "steps_per_s"}


@pytest.mark.parametrize("estimator", gvae.ESTIMATORS)
def test_every_estimator_trains(images, estimator):
    trainer = Trainer(TrainConfig(max_steps=60, estimator=estimator), images=images)
    losses = [m.loss for m in trainer.steps()]
    assert sum(losses[-10:]) / 10 < sum(losses[:10]) / 10 - 50


def test_stop_and_resume_lose_nothing(images, tmp_path):
    config = TrainConfig(
        epochs=5, max_steps=40, batch_size=50, anneal_every=5, anneal_rate=0.01, seed=3
    )
    straight = Trainer(config, images=images)
    straight.run()

    interrupted = Trainer(config, images=images)
    for m in interrupted.steps():
        if m.step == 17:
            interrupted.stop_event.set()
    assert interrupted.step == 17
    interrupted.save_state(tmp_path / "run.state")
    resumed = Trainer.load_state(tmp_path / "run.state", images=images)
    assert resumed.step == 17 and len(resumed.history) == 17
    resumed.run()

    assert resumed.step == straight.step == 40
    for a, b in zip(straight.model.parameters(), resumed.model.parameters()):
        torch.testing.assert_close(a, b)
    for a, b in zip(straight.history, resumed.history):
        assert {k: v for k, v in a.items() if k != "steps_per_s"} == pytest.approx(
            {k: v for k, v in b.items() if k != "steps_per_s"}
        )


def test_non_finite_loss_stops_and_keeps_the_last_good_state(images, monkeypatch):
    trainer = Trainer(TrainConfig(max_steps=50), images=images)
    for _ in range(5):
        trainer.train_step()
    before = [p.detach().clone() for p in trainer.model.parameters()]
    real_loss = trainer.model.loss

    def poisoned(*args, **kwargs):
        terms = real_loss(*args, **kwargs)
        return terms._replace(loss=terms.loss * float("nan"))

    monkeypatch.setattr(trainer.model, "loss", poisoned)
    with pytest.raises(NonFiniteLossError, match="step 5"):
        trainer.train_step()
    assert trainer.step == 5 and len(trainer.history) == 5
    for a, b in zip(before, trainer.model.parameters()):
        assert torch.equal(a, b)


def test_cli_trains_saves_and_the_evaluator_scores_it(tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    args = ["--epochs", "5", "--max-steps", "30", "--train-size", "600", "--no-progress"]
    assert train_cli.main([*args, "--out", str(out)]) == 0
    model = gvae.load_model(out)
    assert model.card["steps"] == 30 and model.card["command"].startswith("gvae-train")
    capsys.readouterr()
    assert (
        evaluate_cli.main([str(out), "--limit", "50", "--iw-samples", "20", "--no-progress"]) == 0
    )
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["iw_nll"] <= metrics["neg_elbo"] and metrics["n_images"] == 50


def ctrl_c_at(step: int, monkeypatch) -> None:
    """Deliver SIGINT, as Ctrl-C does, in the middle of step `step`: after its
    binarization noise is drawn, where an interrupt used to leave the RNG one draw ahead
    of the saved step count."""
    real_binarize, calls = gvae.trainer.binarize, []

    def binarize_then_maybe_interrupt(*args, **kwargs):
        x = real_binarize(*args, **kwargs)
        calls.append(1)
        if len(calls) == step + 1:
            os.kill(os.getpid(), signal.SIGINT)
        return x

    monkeypatch.setattr(gvae.trainer, "binarize", binarize_then_maybe_interrupt)


def test_cli_ctrl_c_saves_and_resume_continues(tmp_path, monkeypatch, capsys):
    out = tmp_path / "m.safetensors"
    ctrl_c_at(12, monkeypatch)
    args = ["--epochs", "5", "--max-steps", "20", "--train-size", "600", "--no-progress"]
    assert train_cli.main([*args, "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert "interrupted at step 13/20" in err  # step 12, under way at Ctrl-C, finished
    assert gvae.load_model(out).card["interrupted"] is True
    monkeypatch.undo()
    state = train_cli.state_path_for(out)
    assert train_cli.main(["--out", str(out), "--resume", str(state), "--no-progress"]) == 0
    card = gvae.load_model(out).card
    assert card["steps"] == 20 and card["interrupted"] is False  # recipe kept: max_steps 20


@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
@given(interrupt_at=st.integers(1, 38))
def test_a_resumed_run_repeats_the_uninterrupted_one_exactly(
    interrupt_at, tmp_path_factory, monkeypatch
):
    """Ctrl-C at a random step, then --resume: every loss equals the uninterrupted run's."""
    folder = tmp_path_factory.mktemp("resume")
    args = ["--max-steps", "40", "--train-size", "500", "--batch-size", "50", "--no-progress"]
    args += ["--estimator", "reinmax", "--anneal-rate", "1e-2", "--anneal-every", "5"]
    whole, parts = folder / "whole.safetensors", folder / "parts.safetensors"
    assert train_cli.main([*args, "--out", str(whole)]) == 0
    with monkeypatch.context() as m:
        ctrl_c_at(interrupt_at, m)
        assert train_cli.main([*args, "--out", str(parts)]) == 130
    assert train_cli.main(["--out", str(parts), "--resume", f"{parts}.state", "--no-progress"]) == 0

    def losses(out):
        history = Trainer.load_state(f"{out}.state", images=torch.zeros(500, 784)).history
        return [(h["step"], h["loss"], h["reconstruction"], h["kl"], h["tau"]) for h in history]

    assert losses(parts) == losses(whole) and len(losses(whole)) == 40


def test_cli_refuses_an_unwritable_or_shipped_destination_before_training(tmp_path, capsys):
    (tmp_path / "a-file").write_text("not a folder")  # unwritable even for root
    for out, problem in [
        (tmp_path / "a-file" / "m.safetensors", "cannot write"),
        (gvae.WEIGHTS_DIR / "GVAE-default.safetensors", "never overwritten"),
        (tmp_path / "m.pt", "must end in .safetensors"),
    ]:
        assert train_cli.main(["--out", str(out), "--max-steps", "1"]) == 2
        assert problem in capsys.readouterr().err


def test_evaluate_refuses_a_limit_below_one(capsys):
    for limit in ("0", "-5"):
        with pytest.raises(SystemExit):
            evaluate_cli.main([str(gvae.DEFAULT_WEIGHTS), "--limit", limit])
        assert "positive whole number" in capsys.readouterr().err


def test_cli_rejects_an_impossible_hyperparameter(tmp_path, capsys):
    assert train_cli.main(["--out", str(tmp_path / "m.safetensors"), "--tau-min", "5"]) == 2
    assert "tau_min" in capsys.readouterr().err
    assert not (tmp_path / "m.safetensors").exists()


def test_training_job_trains_in_its_own_process(images, tmp_path):
    from gvae.app.jobs import HISTORY_COLUMNS, TrainingJob

    config = TrainConfig(max_steps=5, train_size=500)
    job = TrainingJob(config)
    assert job.process.pid != os.getpid() and job.status == "ready"
    job.start()
    deadline = time.time() + 60
    while job.running and time.time() < deadline:
        time.sleep(0.05)
    assert job.status == "finished" and job.step == 5
    lines = job.history_csv().splitlines()
    assert lines[0] == ",".join(HISTORY_COLUMNS) and len(lines) == 1 + 5
    assert lines[-1].startswith("5,0,")  # step 5 of epoch 0
    path = tmp_path / "download.safetensors"
    path.write_bytes(job.checkpoint_bytes())
    model = gvae.load_model(path)
    assert model.card["steps"] == 5
    here = Trainer(config, images=images)  # the same run in this process
    here.run()
    for theirs, mine in zip(model.parameters(), here.model.parameters()):
        torch.testing.assert_close(theirs, mine)
    job.close()
    assert not job.process.is_alive()


def test_training_job_stops_within_a_step_and_resumes(images):
    from gvae.app.jobs import TrainingJob

    job = TrainingJob(TrainConfig(max_steps=100_000, train_size=500))
    job.start()
    while job.step < 3:
        time.sleep(0.02)
    job.stop()
    stopped_at = job.step
    time.sleep(0.3)
    assert job.step == stopped_at and job.status == "stopped"
    job.start()
    while job.step < stopped_at + 3:
        time.sleep(0.02)
    job.stop()
    steps = [row["step"] for row in job.history()]
    assert steps == list(range(1, job.step + 1))  # one history, no restart
    job.close()


def test_a_training_process_killed_halfway_keeps_its_history():
    import signal

    from gvae.app.jobs import TrainingJob

    job = TrainingJob(TrainConfig(max_steps=100_000, train_size=500))
    job.start()
    while job.step < 5:
        time.sleep(0.02)
    os.kill(job.process.pid, signal.SIGKILL)  # e.g. the out-of-memory killer
    job.process.join(timeout=10)
    time.sleep(0.1)  # past the cached answer
    assert job.status == "failed" and "ended unexpectedly" in job.error and not job.alive
    assert len(job.history()) >= 5 and job.history_csv().count("\n") == 1 + len(job.history())
    with pytest.raises(gvae.GvaeError, match="no weights"):
        job.snapshot()


def test_training_job_reports_bad_settings_before_starting(tmp_path, monkeypatch):
    from torchvision.datasets import MNIST

    from gvae.app.jobs import TrainingJob

    def offline(self):
        raise OSError("network is unreachable")

    monkeypatch.setattr(MNIST, "download", offline)

    with pytest.raises(ValueError, match="cuda"):  # raised in the worker, re-raised here
        TrainingJob(TrainConfig(max_steps=5, train_size=500, device="cuda:99"))
    with pytest.raises(MissingDataError, match="MNIST/raw"):
        TrainingJob(TrainConfig(max_steps=5), data_dir=tmp_path / "empty-and-offline")


def test_thread_tuner_does_not_time_the_warm_up_after_a_start():
    from gvae.app.jobs import ThreadTuner

    now = [0.0]
    tuner = ThreadTuner(2, use_s=20.0, trial_s=2.0, warmup_s=3.0, clock=lambda: now[0],
                        set_threads=lambda n: None)  # fmt: skip

    def seconds_per_step() -> float:  # the page's first drawing slows everything at first
        slow = now[0] < 2.5
        return {2: 0.010, 1: 0.025}[tuner.threads] * (4 if slow else 1)

    while now[0] < 10.0:
        now[0] += seconds_per_step()
        tuner.step_done()
    assert tuner.steps_per_s[2] > tuner.steps_per_s[1] and tuner.threads == 2
    tuner.begin()  # a resume warms up afresh, with the most threads
    assert tuner.threads == 2 and not tuner._is_trial


def test_thread_tuner_follows_the_faster_thread_count():
    from gvae.app.jobs import ThreadTuner

    now, set_to = [0.0], []
    seconds_per_step = {2: 0.010, 1: 0.025}  # two threads faster: nothing else on the CPU
    tuner = ThreadTuner(2, use_s=2.0, trial_s=0.2, clock=lambda: now[0], set_threads=set_to.append)

    def run(steps: int) -> dict:
        used = {1: 0, 2: 0}
        for _ in range(steps):
            used[tuner.threads] += 1
            now[0] += seconds_per_step[tuner.threads]
            tuner.step_done()
        return used

    used = run(2000)
    assert used[2] > 0.85 * 2000 and set_to[0] == 2 and set_to[-1] == tuner.threads
    seconds_per_step.update({2: 0.040, 1: 0.020})  # a UI now takes part of a core
    run(500)  # the next trial notices
    used = run(2000)
    assert used[1] > 0.85 * 2000
    assert tuner.steps_per_s[1] > tuner.steps_per_s[2]


def test_the_validation_split_is_the_training_tail_a_50000_image_run_never_sees(capsys):
    """Recipes are chosen on --split valid, never on the test set: the last 10,000
    training images, binarized once as the test set is."""
    from gvae.data import VALIDATION_START, fixed_validation_set

    grey, _ = load_mnist("train")
    valid, labels = fixed_validation_set(limit=30)
    expected = torch.bernoulli(grey[VALIDATION_START:], generator=torch.Generator().manual_seed(0))
    assert torch.equal(valid, expected[:30]) and len(fixed_validation_set()[0]) == 10_000
    assert torch.equal(labels, load_mnist("train")[1][VALIDATION_START : VALIDATION_START + 30])
    trainer = Trainer(TrainConfig(max_steps=1, train_size=VALIDATION_START))
    assert len(trainer.images) == VALIDATION_START and torch.equal(trainer.images, grey[:50_000])
    args = [str(gvae.DEFAULT_WEIGHTS), "--split", "valid", "--limit", "20", "--iw-samples", "5"]
    assert evaluate_cli.main([*args, "--no-progress"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["split"] == "valid" and metrics["n_images"] == 20
    assert metrics["protocol"].startswith("the last 10,000 MNIST training images")


def test_a_resume_that_changes_the_recipe_records_the_earlier_one_in_the_card(images, tmp_path):
    first = Trainer(TrainConfig(epochs=1, max_steps=6, batch_size=50), images=images)
    first.run()
    first.save_state(tmp_path / "run.state")

    same = Trainer.load_state(tmp_path / "run.state", images=images)
    assert same.earlier_phases == [] and "earlier_phases" not in same.card()

    changed = Trainer.load_state(tmp_path / "run.state", images=images, max_steps=9, tau_min=0.1)
    changed.run()
    assert changed.card()["earlier_phases"] == [
        {"until_step": 6, "train_config": first.config.to_dict()}
    ]
    changed.save_state(tmp_path / "run2.state")
    again = Trainer.load_state(tmp_path / "run2.state", images=images, max_steps=12)
    assert [p["until_step"] for p in again.card()["earlier_phases"]] == [6, 9]
    assert again.card()["earlier_phases"][1]["train_config"]["tau_min"] == 0.1
