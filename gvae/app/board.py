"""Which training jobs run, wait or sleep: server-wide admission control and reaping.

A shared demo has many sessions and few cores. The board lets at most `max_jobs` jobs
train at once, one job per session; a Start beyond that waits in a queue, in order, and
starts by itself when a slot frees, rather than every job sharing the CPU slowly. It ends
the workers nobody needs, without waiting for garbage collection to notice:

- the session is gone (a closed tab that did not come back, an expired session): its job
  ends and its state file is deleted;
- nobody watched for `idle_s` (no page run, no fragment poll), or the tab has been
  disconnected for `grace_s`: training pauses and the worker is suspended to a state file
  (its memory freed; Resume continues exactly, while the session lives);
- a worker that has not trained for `park_s` is suspended the same way;
- a fresh Start ends the session's previous job; a server stop ends them all (atexit).

Streamlit-free and torch-free: the front end passes `presence` (what its runtime knows of
a session) and the jobs come from `launch` (gvae.app.jobs.TrainingJob by default).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

LOG = logging.getLogger(__name__)

MAX_JOBS_ENV = "GVAE_MAX_JOBS"
IDLE_ENV = "GVAE_IDLE_S"
# One training at once per two cores: a second concurrent job trains no more in total but
# halves each job's speed and slows the pages (docs/benchmarks.md, admission).
DEFAULT_MAX_JOBS = max(1, (os.cpu_count() or 2) // 2)
DEFAULT_IDLE_S = 300.0  # a run nobody has looked at for 5 minutes pauses
PARK_S = 60.0  # a worker that has not trained for a minute gives its memory back
GRACE_S = 15.0  # a disconnected tab may come back (a network blip) within this long
FORGET_S = 3600.0  # without a runtime to ask (AppTest, scripts): unseen this long = gone
REAP_EVERY_S = 1.0

Presence = Callable[[str], "str | None"]  # "connected", "disconnected", "gone" or None


def env_number(name: str, default: float, low: float, high: float) -> float:
    """A setting from the environment; a malformed or out-of-range value is logged and
    the default used, so a typo never stops the server."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
        if not low <= value <= high:
            raise ValueError(f"not within {low:g}..{high:g}")
    except ValueError as error:
        LOG.warning("ignoring %s=%r (%s); using %g", name, raw[:80], error, default)
        return default
    return value


@dataclass
class BoardView:
    """What a page shows of its session's training."""

    job: Any | None  # None before the first Start, and while a fresh Start waits
    starting: bool  # admitted, its worker being started
    position: int | None  # 1-based place in the queue while waiting, else None
    waiting: int  # how many sessions wait in all
    max_jobs: int
    notice: tuple[str, str] | None  # (kind, text): why the board paused or refused it


@dataclass
class _Entry:
    key: str
    session_id: str | None
    last_seen: float
    lock: threading.Lock = field(default_factory=threading.Lock)  # taken before the board's
    job: Any | None = None
    recipe: tuple | None = None  # (config, data_dir) of a fresh Start waiting for a slot
    queued: bool = False
    holds_slot: bool = False
    launching: bool = False  # admitted, its worker being started or restored
    generation: int = 0  # counts admissions: a stale background launch sees it changed
    idle_since: float | None = None  # when its worker last stopped training
    disconnected_since: float | None = None
    notice: tuple[str, str] | None = None


def _in_thread(task: Callable[[], None]) -> None:
    threading.Thread(target=task, name="gvae-launch", daemon=True).start()


def _default_launch(config, data_dir):
    from gvae.app.jobs import TrainingJob  # torch: imported on the first Start only

    return TrainingJob(config, data_dir)


def _default_check(config, data_dir) -> None:
    from gvae.app.jobs import check_start

    check_start(config, data_dir)


class JobBoard:
    """The server's training jobs, one per session key, and the queue for the slots."""

    def __init__(
        self,
        max_jobs: int | None = None,
        idle_s: float | None = None,
        park_s: float = PARK_S,
        grace_s: float = GRACE_S,
        forget_s: float = FORGET_S,
        presence: Presence | None = None,
        launch: Callable = _default_launch,
        check: Callable = _default_check,
        clock: Callable[[], float] = time.monotonic,
        reap_every_s: float | None = REAP_EVERY_S,
        background: Callable[[Callable[[], None]], None] | None = None,
    ):
        self.max_jobs = int(
            max_jobs if max_jobs is not None else env_number(MAX_JOBS_ENV, DEFAULT_MAX_JOBS, 1, 64)
        )
        self.idle_s = idle_s if idle_s is not None else env_number(IDLE_ENV, DEFAULT_IDLE_S, 1, 1e7)
        self.park_s, self.grace_s, self.forget_s = park_s, grace_s, forget_s
        self.presence = presence or (lambda session_id: None)
        self._launch, self._check, self._clock = launch, check, clock
        self._background = background or _in_thread
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._queue: list[str] = []  # keys, first come first served
        self._state_dir: str | None = None
        self._closed = threading.Event()
        atexit.register(self.close_all)
        if reap_every_s:
            thread = threading.Thread(
                target=self._reap_forever, args=(reap_every_s,), name="gvae-reaper", daemon=True
            )
            thread.start()

    # -- what pages call --------------------------------------------------------------
    def touch(self, key: str, session_id: str | None = None) -> None:
        """The session is being watched now (its script or a fragment ran)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                entry.last_seen = self._clock()
                entry.session_id = session_id or entry.session_id

    def start(self, key: str, session_id: str | None, config, data_dir=None) -> None:
        """A fresh run for this session, replacing (ending) its previous one; it starts
        now if a slot is free, else waits in the queue. Raises ValueError or GvaeError
        for what would stop it from starting at all (device, MNIST)."""
        self._check(config, data_dir)
        entry = self._entry(key, session_id)
        with entry.lock:
            old = entry.job
            with self._lock:
                entry.job, entry.recipe, entry.notice = None, (config, data_dir), None
                entry.holds_slot = False
                self._enqueue(entry)
        if old is not None:
            old.close()
        self._admit()

    def resume(self, key: str) -> None:
        """Continue this session's run (restoring a suspended one); queued if no slot."""
        entry = self._entries.get(key)
        if entry is None:
            return
        with entry.lock, self._lock:
            if entry.job is not None and not entry.holds_slot:
                entry.notice = None
                self._enqueue(entry)
        self._admit()

    def stop(self, key: str) -> None:
        """Stop training after the step in progress, or leave the queue."""
        entry = self._entries.get(key)
        if entry is None:
            return
        with entry.lock:
            with self._lock:
                self._dequeue(entry)
                entry.holds_slot = entry.launching = False  # a launch not yet begun: cancelled
                entry.idle_since = self._clock()
            if entry.job is not None:
                entry.job.stop()
        self._admit()

    def reset(self, key: str) -> None:
        """End this session's job and forget it."""
        entry = self._entries.get(key)
        if entry is not None:
            self._end(entry)
        self._admit()

    def view(self, key: str) -> BoardView:
        with self._lock:
            entry = self._entries.get(key)
            position = self._queue.index(key) + 1 if entry is not None and entry.queued else None
            return BoardView(
                job=entry.job if entry else None,
                starting=entry is not None and entry.launching,
                position=position,
                waiting=len(self._queue),
                max_jobs=self.max_jobs,
                notice=entry.notice if entry else None,
            )

    def training_count(self) -> int:
        """How many jobs hold a slot (train, or are being started)."""
        with self._lock:
            return sum(e.holds_slot for e in self._entries.values())

    def session_count(self) -> int:
        """How many sessions have a job, waiting or not."""
        with self._lock:
            return len(self._entries)

    def close_all(self) -> None:
        """End every job and delete the state files (server stop)."""
        self._closed.set()
        with self._lock:
            entries = list(self._entries.values())
        for entry in entries:
            self._end(entry)
        if self._state_dir is not None:
            shutil.rmtree(self._state_dir, ignore_errors=True)

    # -- bookkeeping ------------------------------------------------------------------
    def _entry(self, key: str, session_id: str | None) -> _Entry:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = _Entry(key, session_id, self._clock())
            entry.last_seen = self._clock()
            entry.session_id = session_id or entry.session_id
            return entry

    def _enqueue(self, entry: _Entry) -> None:  # with self._lock held
        if not entry.queued:
            entry.queued = True
            self._queue.append(entry.key)

    def _dequeue(self, entry: _Entry) -> None:  # with self._lock held
        if entry.queued:
            entry.queued = False
            self._queue.remove(entry.key)

    def _end(self, entry: _Entry) -> None:
        with entry.lock:
            with self._lock:
                self._dequeue(entry)
                entry.holds_slot = False
                if self._entries.get(entry.key) is entry:
                    del self._entries[entry.key]
            if entry.job is not None:
                entry.job.close()  # ends the worker, deletes a suspended state

    def _state_path(self, entry: _Entry) -> str:
        with self._lock:
            if self._state_dir is None:
                self._state_dir = tempfile.mkdtemp(prefix="gvae-jobs-")
            return os.path.join(self._state_dir, f"{entry.key}.state")

    # -- admission --------------------------------------------------------------------
    def _next_admissible(self) -> _Entry | None:
        with self._lock:
            free = self.max_jobs - sum(e.holds_slot for e in self._entries.values())
            if free <= 0 or not self._queue:
                return None
            return self._entries[self._queue[0]]

    def _admit(self) -> None:
        """Give free slots to queued runs, first come first served. Claiming a slot is
        quick and happens here; the worker comes up in the background (its process
        imports torch and reads MNIST for seconds), so a Start answers at once and the
        page shows "starting" meanwhile."""
        while not self._closed.is_set():
            entry = self._next_admissible()
            if entry is None:
                return
            with entry.lock, self._lock:
                free = self.max_jobs - sum(e.holds_slot for e in self._entries.values())
                if not entry.queued or free <= 0 or self._entries.get(entry.key) is not entry:
                    continue  # changed meanwhile: look again
                self._dequeue(entry)
                entry.holds_slot = entry.launching = True
                entry.generation += 1
                generation = entry.generation
            self._background(functools.partial(self._bring_up, entry, generation))

    def _bring_up(self, entry: _Entry, generation: int) -> None:
        """Launch (or restore) and start the run that `_admit` gave a slot, unless the
        session stopped, reset or started afresh since."""
        with entry.lock:
            with self._lock:
                current = generation == entry.generation
                wanted = current and entry.holds_slot and self._entries.get(entry.key) is entry
            if not wanted:
                if current:
                    entry.launching = False
                return
            try:
                if entry.job is None:
                    entry.job = self._launch(*entry.recipe)
                    entry.recipe = None
                elif entry.job.suspended:
                    entry.job.restore()
                entry.job.start()
            except Exception as error:  # noqa: BLE001  shown on the session's page
                with self._lock:
                    entry.holds_slot = False
                entry.notice = ("error", f"Not started: {error}")
                LOG.info("training of session %s not started: %s", entry.key, error)
            finally:
                entry.launching = False
        self._admit()  # a failed launch frees its slot for the next in line

    # -- reaping ----------------------------------------------------------------------
    def _reap_forever(self, every_s: float) -> None:
        while not self._closed.wait(every_s):
            try:
                self.reap()
            except Exception:  # noqa: BLE001  the reaper must outlive any one failure
                LOG.exception("reaping training jobs failed")

    def _presence(self, entry: _Entry) -> str | None:
        if entry.session_id is None:
            return None
        try:
            return self.presence(entry.session_id)
        except Exception:  # noqa: BLE001  unknown is safe: the idle limit still applies
            return None

    def reap(self) -> None:
        """One round: end the jobs of gone sessions, suspend unwatched and idle workers,
        free the slots of runs that ended, and admit waiting runs. The reaper thread calls
        it every REAP_EVERY_S; tests call it directly."""
        now = self._clock()
        with self._lock:
            entries = list(self._entries.values())
        for entry in entries:
            presence = self._presence(entry)
            if presence == "gone" or (presence is None and now - entry.last_seen > self.forget_s):
                self._end(entry)
                continue
            if presence == "disconnected":
                entry.disconnected_since = entry.disconnected_since or now
            else:
                entry.disconnected_since = None
            if not entry.lock.acquire(blocking=False):  # a page or an admission is at it
                continue
            try:
                self._reap_entry(entry, now)
            finally:
                entry.lock.release()
        self._admit()

    def _reap_entry(self, entry: _Entry, now: float) -> None:  # with entry.lock held
        unwatched = now - entry.last_seen > self.idle_s or (
            entry.disconnected_since is not None and now - entry.disconnected_since > self.grace_s
        )
        job = entry.job
        if unwatched and entry.queued:
            with self._lock:
                self._dequeue(entry)
            entry.notice = ("info", "Left the queue: nobody was watching this page.")
        if job is None:
            return
        running = job.running
        if entry.holds_slot and not running:  # finished, failed or stopped: slot free
            with self._lock:
                entry.holds_slot = False
            entry.idle_since = now
        if not job.alive:  # suspended already, closed, or its process died
            return
        if unwatched:
            self._suspend(entry, paused=running)
        elif not running and now - (entry.idle_since or now) > self.park_s:
            self._suspend(entry, paused=False)
        elif not running and entry.idle_since is None:
            entry.idle_since = now

    def _suspend(self, entry: _Entry, paused: bool) -> None:  # with entry.lock held
        with self._lock:
            entry.holds_slot = False
        if entry.job.suspend(self._state_path(entry)):
            if paused:
                minutes = self.idle_s / 60
                entry.notice = (
                    "info",
                    f"Paused: nobody watched this run for {minutes:.3g} min or the tab was "
                    "closed. Resume continues exactly where it stopped.",
                )
            return
        entry.job.stop()  # the state could not be written (e.g. a full disk): at least stop
        entry.notice = ("warning", "Paused: nobody was watching this run.")


_shared: JobBoard | None = None
_shared_lock = threading.Lock()


def shared_board(presence: Presence | None = None) -> JobBoard:
    """The server-wide board, created on first use with the settings of the environment
    (GVAE_MAX_JOBS, GVAE_IDLE_S)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = JobBoard(presence=presence)
        elif presence is not None:
            _shared.presence = presence
        return _shared


@contextlib.contextmanager
def replaced_shared_board(board: JobBoard):
    """Tests: use `board` as the server-wide board for a while, then close it."""
    global _shared
    with _shared_lock:
        previous, _shared = _shared, board
    try:
        yield board
    finally:
        board.close_all()
        with _shared_lock:
            _shared = previous
