"""Soak: 30 sessions on one in-process server (AppTest), 10 of which start a training and
walk away. Within a bounded time no training worker is left, no paused state remains on
disk, and the server's memory is back within 20 % of where it started."""

import gc
import itertools
import os
import time

import pytest
from conftest import assert_no_exception, new_app
from test_app_safe import start
from test_board import training_workers

PAGES = ["pages/home.py", "pages/latent_editor.py", "pages/playground.py", "pages/train.py"]
SESSIONS, TRAINERS = 30, 10
SETTLE_S = 60  # the bound: every abandoned worker ends within this long


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.slow
def test_abandoned_sessions_leave_no_worker_and_no_memory(job_board):
    job_board.max_jobs = 2
    job_board.idle_s = job_board.park_s = 2.0  # an abandoned run pauses after 2 s
    job_board.forget_s = 4.0  # no runtime in AppTest: an unseen session counts as gone
    for page in PAGES:  # warm-up: every page's imports and caches, as a server has them
        assert_no_exception(new_app(page=page))
    gc.collect()
    baseline = rss_bytes()

    queries = itertools.cycle([{}, {"seed": "7", "tau": "0.5"}, {"z": "1" * 20}, {"p": "1,2"}])
    trainers = 0
    for i in range(SESSIONS):
        if i % 3 == 0 and trainers < TRAINERS:  # starts a run, then leaves
            at = start(new_app(page="pages/train.py"), seed=i)
            trainers += 1
        else:
            at = new_app(next(queries), page=PAGES[i % 3])
            assert_no_exception(at)
        del at  # the visitor closes the tab
    assert trainers == TRAINERS
    assert len(training_workers()) <= job_board.max_jobs  # the rest waited in line

    deadline = time.time() + SETTLE_S
    while training_workers() or job_board.session_count():
        assert time.time() < deadline, f"{len(training_workers())} workers left"
        time.sleep(0.2)
        job_board.reap()  # what the server's reaper thread does every second
    state_dir = job_board._state_dir
    assert state_dir is None or not os.listdir(state_dir)  # paused states deleted
    gc.collect()
    assert rss_bytes() <= 1.2 * baseline, (rss_bytes() / 2**20, baseline / 2**20)
