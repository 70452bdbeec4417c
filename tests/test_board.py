"""The server-wide job board: admission, queue order, and the end of every worker.

Most tests drive a JobBoard with fake jobs and a fake clock (no processes, no sleeping);
the last ones use real TrainingJob workers and check the processes themselves."""

import os
import threading
import time

import pytest
import torch

from gvae.app.board import JobBoard, env_number
from gvae.config import TrainConfig


class FakeJob:
    """The part of TrainingJob the board uses: a run of `steps` steps, advanced by hand."""

    def __init__(self, config, data_dir=None, steps=100):
        self.config, self.step, self.total = config, 0, steps
        self.running = self.closed = self.suspended = False
        self.restores = 0

    @property
    def alive(self):
        return not self.closed and not self.suspended

    @property
    def done(self):
        return self.step >= self.total

    def start(self):
        assert self.alive
        self.running = not self.done

    def stop(self):
        self.running = False

    def finish(self):
        self.step, self.running = self.total, False

    def suspend(self, path):
        self.running, self.suspended, self.path = False, True, path
        return True

    def restore(self):
        self.suspended = False
        self.restores += 1

    def close(self):
        self.running, self.closed = False, True


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def fake_board(max_jobs=1, presence=None, **kwargs):
    clock = Clock()
    board = JobBoard(
        max_jobs=max_jobs,
        idle_s=kwargs.pop("idle_s", 300),
        presence=presence,
        launch=FakeJob,
        check=lambda config, data_dir: None,
        clock=clock,
        reap_every_s=None,  # the test calls reap()
        background=lambda task: task(),  # workers come up before start() returns
        **kwargs,
    )
    return board, clock


def test_at_most_max_jobs_train_and_the_rest_wait_in_order():
    board, _ = fake_board(max_jobs=2)
    for key in "abcde":
        board.start(key, None, TrainConfig())
    assert [board.view(k).job is not None and board.view(k).job.running for k in "ab"] == [1, 1]
    assert [board.view(k).position for k in "abcde"] == [None, None, 1, 2, 3]
    assert board.view("c").job is None and board.training_count() == 2
    board.view("a").job.finish()  # a run ends: the first waiting one starts
    board.reap()
    assert board.view("c").job.running and [board.view(k).position for k in "de"] == [1, 2]
    board.stop("b")  # a stop frees the slot at once
    assert board.view("d").job.running and board.view("e").position == 1
    board.stop("e")  # leaving the queue
    assert board.view("e").position is None and board.view("e").job is None
    assert board.training_count() == 2


def test_a_fresh_start_ends_the_previous_job_of_the_session():
    board, _ = fake_board(max_jobs=3)
    board.start("a", None, TrainConfig())
    first = board.view("a").job
    board.start("a", None, TrainConfig(seed=1))
    second = board.view("a").job
    assert first.closed and not second.closed and second.running
    assert board.training_count() == 1  # one per session


def test_resume_waits_for_a_slot_like_a_start():
    board, _ = fake_board(max_jobs=1)
    board.start("a", None, TrainConfig())
    board.stop("a")
    board.start("b", None, TrainConfig())
    board.resume("a")
    assert board.view("a").position == 1 and not board.view("a").job.running
    board.reset("b")
    assert board.view("a").job.running and board.view("b").job is None


def test_unwatched_run_pauses_and_resumes_exactly_where_it_was():
    board, clock = fake_board(max_jobs=1, idle_s=300)
    board.start("a", None, TrainConfig())
    board.start("b", None, TrainConfig())
    job = board.view("a").job
    clock.now += 200
    board.touch("a")  # a page run: watched
    clock.now += 200
    board.reap()
    assert job.running  # watched 200 s ago: keeps training
    clock.now += 301
    board.reap()  # nobody watched "a" for 301 s; "b" waited as long: it leaves the queue
    assert job.suspended and not job.running and board.view("a").notice[0] == "info"
    assert board.view("b").position is None and "nobody" in board.view("b").notice[1]
    board.touch("a")
    board.resume("a")
    assert job.restores == 1 and job.running and board.view("a").notice is None


def test_a_stopped_worker_is_parked_after_park_s():
    board, clock = fake_board(max_jobs=1, park_s=60)
    board.start("a", None, TrainConfig())
    board.stop("a")
    job = board.view("a").job
    clock.now += 30
    board.touch("a")
    board.reap()
    assert job.alive
    clock.now += 31
    board.touch("a")
    board.reap()
    assert job.suspended and board.view("a").notice is None  # quietly: nothing to explain


def test_sessions_that_end_lose_their_jobs():
    sessions = {"s1": "connected", "s2": "connected", "s3": "connected"}
    board, clock = fake_board(max_jobs=1, presence=sessions.get, grace_s=15)
    for key, session in [("a", "s1"), ("b", "s2"), ("c", "s3")]:
        board.start(key, session, TrainConfig())
    (a,) = [board.view("a").job]
    sessions["s1"] = "gone"  # expired
    board.reap()
    assert a.closed and board.view("a").job is None
    b = board.view("b").job
    assert b.running  # the next in line started
    sessions["s2"] = "disconnected"  # a closed tab, which might still come back
    board.reap()
    assert b.running
    clock.now += 16
    board.touch("b")
    board.reap()  # disconnected longer than the grace: paused, though recently seen
    assert b.suspended and board.view("c").job.running
    sessions["s2"] = "gone"
    board.reap()
    assert b.closed


def test_without_a_runtime_unseen_sessions_are_forgotten():
    board, clock = fake_board(max_jobs=1, forget_s=600)
    board.start("a", "test session id", TrainConfig())
    clock.now += 601
    board.reap()
    assert board.view("a").job is None and board.training_count() == 0


def test_launch_failure_is_a_notice_and_frees_the_slot():
    def broken(config, data_dir=None):
        raise ValueError("no such device")

    board, _ = fake_board(max_jobs=1)
    board._launch = broken
    board.start("a", None, TrainConfig())
    assert board.view("a").notice == ("error", "Not started: no such device")
    assert board.training_count() == 0


class GatedLaunch:
    """A launcher whose worker takes as long as the test says: each launch waits for
    `release`, as a real worker waits for torch and MNIST."""

    def __init__(self):
        self.release, self.entered, self.launched = threading.Event(), threading.Event(), []

    def __call__(self, config, data_dir=None):
        self.entered.set()
        assert self.release.wait(10), "the test never released the launch"
        self.launched.append(FakeJob(config))
        return self.launched[-1]


def test_start_returns_at_once_and_the_worker_comes_up_in_the_background():
    launch = GatedLaunch()
    board = JobBoard(
        max_jobs=1, launch=launch, check=lambda c, d: None, reap_every_s=None, idle_s=300
    )
    board.start("a", None, TrainConfig())  # returns while the launch still waits
    assert launch.entered.wait(10)
    view = board.view("a")
    assert view.starting and view.job is None and view.position is None
    launch.release.set()
    wait_for(lambda: board.view("a").job is not None and board.view("a").job.running)
    assert not board.view("a").starting and len(launch.launched) == 1
    board.close_all()


def test_a_stop_while_starting_cancels_the_launch():
    launch, tasks = GatedLaunch(), []
    board = JobBoard(
        max_jobs=1,
        launch=launch,
        check=lambda c, d: None,
        reap_every_s=None,
        idle_s=300,
        background=tasks.append,  # held back: the launch has not begun when Stop comes
    )
    board.start("a", None, TrainConfig())
    assert board.view("a").starting
    board.stop("a")  # before the worker came up
    launch.release.set()
    for task in tasks:
        task()  # the stale launch looks and gives up
    view = board.view("a")
    assert not view.starting and view.job is None and launch.launched == []
    assert board.training_count() == 0


def test_close_all_ends_everything():
    board, _ = fake_board(max_jobs=2)
    for key in "abc":
        board.start(key, None, TrainConfig())
    jobs = [board.view(k).job for k in "ab"]
    board.close_all()
    assert all(j.closed for j in jobs) and board.view("c").job is None


@pytest.mark.parametrize(
    "raw, expected", [(None, 2), ("3", 3), ("0", 2), ("lots", 2), ("1e9", 2), ("", 2)]
)
def test_settings_from_the_environment_fall_back(monkeypatch, raw, expected):
    if raw is None:
        monkeypatch.delenv("GVAE_TEST_N", raising=False)
    else:
        monkeypatch.setenv("GVAE_TEST_N", raw)
    assert env_number("GVAE_TEST_N", 2, 1, 64) == expected


# -- real workers ----------------------------------------------------------------------
def training_workers(root: int | None = None) -> list[int]:
    """Pids of running gvae training workers descending from process `root` (this one by
    default), found by their process name."""
    children: dict[int, list[int]] = {}
    names: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                with open(f"/proc/{entry}/comm") as f:
                    names[int(entry)] = f.read().strip()
            except OSError:
                continue
            if fields[0] == "Z":
                continue  # ended, not yet reaped by its parent: no longer a worker
            children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [root or os.getpid()]
    while todo:
        for child in children.get(todo.pop(), []):
            todo.append(child)
            if names.get(child) == "gvae-training":
                found.append(child)
    return found


def wait_for(condition, timeout=60.0):
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)


def same_weights(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))


def test_suspend_frees_the_process_and_restore_continues_exactly(tmp_path):
    from gvae.app.jobs import TrainingJob

    config = TrainConfig(max_steps=40, train_size=500, batch_size=50)
    job = TrainingJob(config)
    job.start()
    wait_for(lambda: job.step >= 10)
    job.stop()
    before, _ = job.snapshot()
    pid = job.process.pid
    assert pid in training_workers()
    assert job.suspend(tmp_path / "a.state")
    assert job.status == "paused" and job.has_weights and not job.alive
    assert pid not in training_workers() and not job.process.is_alive()
    suspended_at = job.step
    from_file, card = job.snapshot()  # weights read from the state file
    assert card["steps"] == suspended_at and same_weights(before, from_file)
    job.restore()
    assert job.alive and not (tmp_path / "a.state").exists() and job.step == suspended_at
    assert same_weights(before, job.snapshot()[0])  # the new worker holds the same run
    job.start()
    wait_for(lambda: job.status == "finished")
    steps = [r["step"] for r in job.history()]
    assert steps == list(range(1, 41))  # one history, continued, nothing repeated
    uninterrupted = TrainingJob(config)
    uninterrupted.start()
    wait_for(lambda: uninterrupted.status == "finished")
    # Equal up to float reduction order: each worker's ThreadTuner may pick 1 or 2 threads.
    torch.testing.assert_close(
        torch.tensor([r["loss"] for r in job.history()]),
        torch.tensor([r["loss"] for r in uninterrupted.history()]),
    )
    job.close()
    uninterrupted.close()
    assert not training_workers()


def test_real_board_reaps_abandoned_workers():
    board = JobBoard(max_jobs=1, idle_s=5.0, park_s=1.0, reap_every_s=0.2)
    config = TrainConfig(epochs=1000, train_size=500, batch_size=50)
    try:
        board.start("a", None, config)
        wait_for(lambda: board.view("a").job is not None)  # its worker comes up meanwhile
        board.start("b", None, config)
        first = board.view("a").job
        board.start("a", None, config)  # ends a's job; a queues again, behind b
        assert first.status != "running" and not first.process.is_alive()
        assert board.view("a").position == 1  # b's worker may still be starting:
        wait_for(lambda: board.view("b").job is not None and board.view("b").job.running)
        assert len(training_workers()) == 1
        # Nobody touches the board: within idle_s and a reap, no worker is left.
        # (The worker ends inside suspend(), which marks the job paused when it returns.)
        wait_for(lambda: not training_workers() and board.view("b").job.status == "paused", 30)
        assert board.training_count() == 0 and board.view("a").position is None
    finally:
        board.close_all()
    assert not training_workers()
