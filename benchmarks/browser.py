"""A real Streamlit server and Debian's Chromium, for browser tests and the cold-start
benchmark. Playwright drives /usr/bin/chromium; it never downloads a browser.

    python -m benchmarks.browser             # cold start: `streamlit run` to Home rendered
    python -m benchmarks.browser train       # Train page's steps/s in Chromium vs the CLI loop
    python -m benchmarks.browser live        # input -> painted frame in the live editor/playground
    python -m benchmarks.browser start       # Train: Start -> "starting" shown, -> first curve
    python -m benchmarks.browser digits      # Train: Start -> the step of recognizable digits
    python -m benchmarks.browser live --baseline --root DIR   # the same gestures on an older
                                             # checkout (server round trips), for before/after
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from benchmarks.machine import cpu_model

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("GVAE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_process(
    env: dict | None = None,
    log_path: str | None = None,
    address: str | None = "127.0.0.1",
    root: Path = ROOT,
):
    """`streamlit run app.py` (of `root`) at a free port on `address` (None: the project's
    default from .streamlit/config.toml); yields the base URL and the server's process."""
    port = free_port()
    log = open(log_path or os.devnull, "w")  # noqa: SIM115 (closed in the finally below)
    command = [sys.executable, "-m", "streamlit", "run", str(Path(root) / "app.py")]
    command += ["--server.port", str(port), "--server.headless", "true"]
    command += ["--browser.gatherUsageStats", "false"]
    if address is not None:
        command += ["--server.address", address]
    process = subprocess.Popen(
        command,
        cwd=root,
        env={**os.environ, **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:  # the health endpoint answers once the server listens
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
                break
            except OSError:
                if process.poll() is not None or time.time() > deadline:
                    raise RuntimeError(
                        f"streamlit did not start (exit code {process.poll()})"
                    ) from None
                time.sleep(0.05)
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@contextlib.contextmanager
def streamlit_server(env: dict | None = None, log_path: str | None = None, root: Path = ROOT):
    """`streamlit run app.py` (of `root`) on 127.0.0.1 at a free port; yields the base URL."""
    with streamlit_process(env, log_path, root=root) as (url, _):
        yield url


@contextlib.contextmanager
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


IDLE_JS = (
    "() => !document.querySelector(\"[data-testid='stStatusWidget']\")"
    " && !document.querySelector(\"[data-testid='stSkeleton']\")"
    " && [...document.querySelectorAll('img')].every(i => i.complete)"
)


def wait_rendered(page, timeout_ms: int = 60_000, settle_s: float = 0.3) -> float:
    """Wait until the app has drawn its page: a title is up, no script run is in progress
    and none starts within `settle_s` (a first visit reruns once through app.py's
    navigation). Returns the perf_counter time at which the page was first seen complete
    (the start of the settle window that confirmed it)."""
    page.wait_for_selector("[data-testid='stApp']", timeout=timeout_ms)
    page.wait_for_selector("[data-testid='stMainBlockContainer'] h1", timeout=timeout_ms)
    deadline = time.time() + timeout_ms / 1000
    while True:
        page.wait_for_function(IDLE_JS, timeout=max(1, int((deadline - time.time()) * 1000)))
        complete_at = time.perf_counter()
        time.sleep(settle_s)
        if page.evaluate(IDLE_JS) or time.time() > deadline:
            return complete_at


def cold_start_seconds(browser) -> float:
    """From launching `streamlit run` to Home drawn in Chromium, prior samples included:
    the moment the page is first seen complete, not counting the wait that confirms that
    nothing more comes."""
    start = time.perf_counter()
    with streamlit_server() as url:
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector(  # the prior samples are part of "complete"
            "[data-testid='stMainBlockContainer'] [data-testid='stImage'] img", timeout=60_000
        )
        complete_at = wait_rendered(page)
        page.close()
    return complete_at - start


MAIN = "[data-testid='stMainBlockContainer']"
# Records (time, step) each time the Train page's step counter changes, in the page itself,
# so measuring costs no polling.
STEP_RECORDER_JS = """main => {
  window.gvaeSteps = [];
  new MutationObserver(() => {
    const metric = document.querySelectorAll(main + " [data-testid='stMetric']")[1];
    const match = metric && metric.innerText.match(/(\\d+) \\/ \\d+/);
    const steps = window.gvaeSteps, step = match && Number(match[1]);
    if (match && (!steps.length || steps[steps.length - 1][1] !== step))
      steps.push([performance.now() / 1000, step]);
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def browser_steps_per_s(browser, seconds: float, epochs: int) -> float:
    """Steps/s of a Train page run (its default recipe, `epochs` long) as its own step
    counter shows them in Chromium, over `seconds` after a 3 s warm-up."""
    with streamlit_server() as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/train")
        wait_rendered(page)
        main = page.locator(MAIN)
        main.get_by_label("Epochs", exact=True).fill(str(epochs))
        main.get_by_label("Epochs", exact=True).press("Enter")
        wait_rendered(page)
        main.get_by_role("button", name="Start").click()
        page.wait_for_selector(f"{MAIN} [data-testid='stMetric']")
        time.sleep(3.0)
        page.evaluate(STEP_RECORDER_JS, MAIN)
        time.sleep(seconds)
        steps = page.evaluate("() => window.gvaeSteps")
        main.get_by_role("button", name="Stop").click()
        page.close()
    (t0, s0), (t1, s1) = steps[0], steps[-1]
    return (s1 - s0) / (t1 - t0)


def train_throughput(seconds: float, rounds: int = 2, epochs: int = 1000) -> None:
    """The Train page's default recipe, `epochs` long, in Chromium against the same recipe
    in a plain loop, alternating."""
    from dataclasses import replace

    from benchmarks.speed import cli_steps_per_s, prepare_cpu
    from gvae.config import QUICK_DEMO
    from gvae.trainer import Trainer

    prepare_cpu()

    os.environ.setdefault("GVAE_DATA_DIR", str(ROOT.parent / "shared" / "data"))
    app, cli = [], []
    with chromium() as browser:
        for _ in range(rounds):  # alternate, so both see the same background load
            app.append(browser_steps_per_s(browser, seconds, epochs))
            cli.append(cli_steps_per_s(Trainer(replace(QUICK_DEMO, epochs=epochs)), seconds))
    a, c = statistics.mean(app), statistics.mean(cli)
    print(
        f"Train page in Chromium vs CLI loop, {rounds} x {seconds:.0f} s, {os.cpu_count()} cores:"
    )
    print("  page steps/s: " + ", ".join(f"{r:.1f}" for r in app) + f" (mean {a:.1f})")
    print("  CLI steps/s:  " + ", ".join(f"{r:.1f}" for r in cli) + f" (mean {c:.1f})")
    print(f"  page / CLI throughput: {a / c:.3f} (overhead {100 * (1 - a / c):.1f}%)")


# Marks, in the page, when the Start button is pressed (the event's own time stamp) and the
# first painted frame (the next animation frame) that shows each awaited state.
START_MARKS_JS = """main => {
  window.gvaeMarks = {};
  const mark = (name) => {
    if (!(name in window.gvaeMarks)) requestAnimationFrame(() => {
      if (!(name in window.gvaeMarks)) window.gvaeMarks[name] = performance.now();
    });
  };
  document.addEventListener("click", (e) => {
    if (e.target.closest(".st-key-t_start")) window.gvaeMarks.click = e.timeStamp;
  }, true);
  new MutationObserver(() => {
    if (!("click" in window.gvaeMarks)) return;
    const root = document.querySelector(main);
    if (root.innerText.includes("Starting the training process")) mark("starting");
    const lines = root.querySelectorAll("[data-testid='stPlotlyChart'] path.js-line");
    if ([...lines].some((l) => (l.getAttribute("d") || "").includes("L"))) mark("curve");
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def press_start(browser, url: str):
    """A Train page in talk mode at 1280 x 720 with START_MARKS_JS installed, Start pressed."""
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.goto(f"{url}/train?talk=1")
    wait_rendered(page)
    page.evaluate(START_MARKS_JS, MAIN)
    page.locator(".st-key-t_start button").click()
    return page


def reset_and_close(page) -> None:
    """End the page's run (Reset), so the next one starts on a free slot."""
    page.locator(".st-key-t_reset button").click()
    wait_rendered(page)
    page.close()


def start_marks(browser, url: str) -> dict:
    """Milliseconds from pressing Start on the Train page to the first frame showing the
    "starting" state, and to the first frame with a loss curve (a line of two points or
    more: the empty axes are there before Start)."""
    page = press_start(browser, url)
    page.wait_for_function("() => 'curve' in window.gvaeMarks", timeout=120_000)
    marks = page.evaluate("() => window.gvaeMarks")
    reset_and_close(page)
    click = marks["click"]
    return {name: marks[name] - click if name in marks else None for name in ("starting", "curve")}


def start_latency(rounds: int, root: Path = ROOT) -> None:
    os.environ.setdefault("GVAE_DATA_DIR", str(ROOT.parent / "shared" / "data"))
    with streamlit_server(root=root) as url, chromium() as browser:
        start_marks(browser, url)  # a first Start warms the training process server
        runs = [start_marks(browser, url) for _ in range(rounds)]
    print(f"{root}: Train page, Start pressed -> first frame showing it ({machine()}):\n")
    print("| state | median (ms) | runs (ms) |")
    print("| --- | --- | --- |")
    for name, what in (("starting", '"Starting the training process…"'), ("curve", "a loss curve")):
        values = [r[name] for r in runs]
        shown = [v for v in values if v is not None]
        median = f"{statistics.median(shown):.0f}" if shown else "never shown"
        listed = ", ".join("never" if v is None else f"{v:.0f}" for v in values)
        print(f"| {what} | {median} | {listed} |")


def digits_step(target: float = 130.0, every: int = 100) -> int:
    """The first step (checked every `every`) at which the Train page's default run, seed
    0, scores test -ELBO <= target (k = 1, 1,000 images): the same run in this process."""
    from gvae.config import QUICK_DEMO
    from gvae.data import fixed_test_set
    from gvae.metrics import evaluate
    from gvae.trainer import Trainer, prepare_cpu

    prepare_cpu()
    test, _ = fixed_test_set(limit=1000)
    trainer = Trainer(QUICK_DEMO)
    while not trainer.done:
        for _ in range(every):
            trainer.train_step()
        if evaluate(trainer.model, test, iw_samples=1, seed=0)["neg_elbo"] <= target:
            return trainer.step
    raise RuntimeError(f"the default run never reached {target} nats")


# The step the Train page shows, as a number: "step 1,234 / 4,000" (talk mode) or "1234 / 4000".
STEP_SHOWN_JS = """([main, least]) => {
  const match = document.querySelector(main).innerText.match(/step ([\\d,]+) \\/ [\\d,]+/);
  return match !== null && Number(match[1].replaceAll(",", "")) >= least;
}"""


def digits_after_start(rounds: int) -> None:
    """Seconds from pressing Start (talk mode, 1280 x 720) to the page showing the step at
    which the default run reaches recognizable digits."""
    os.environ.setdefault("GVAE_DATA_DIR", str(ROOT.parent / "shared" / "data"))
    step = digits_step()
    times = []
    with streamlit_server() as url, chromium() as browser:
        start_marks(browser, url)  # the page has been open: the worker server is warm
        for _ in range(rounds):
            page = press_start(browser, url)
            page.wait_for_function(STEP_SHOWN_JS, arg=[MAIN, step], timeout=120_000)
            shown = page.evaluate("() => performance.now()")
            times.append((shown - page.evaluate("() => window.gvaeMarks.click")) / 1e3)
            reset_and_close(page)
    print(
        f"Train page (talk mode, 1280 x 720), Start pressed -> step {step:,} shown, the step "
        f"at which the default run (seed 0) scores test -ELBO <= 130 nats ({machine()}): "
        + ", ".join(f"{t:.1f}" for t in times)
        + f" s (median {statistics.median(times):.1f} s)"
    )


def cold_start(starts: int) -> None:
    with chromium() as browser:
        times = [cold_start_seconds(browser) for _ in range(starts)]
    print(
        f"cold start, `streamlit run` to Home rendered in Chromium, {starts} starts on {os.cpu_count()} cores:"
    )
    print(
        f"  median {statistics.median(times):.2f} s, min {min(times):.2f} s, max {max(times):.2f} s"
    )
    print("  all: " + ", ".join(f"{t:.2f}" for t in times))


# -- live: input event -> the first frame that shows the new picture --------------------
LIVE_VIEWPORT = {"width": 1280, "height": 720}
CELL_CENTERS_JS = """() => Object.fromEntries(
  [...document.querySelector('[data-testid=stBidiComponentIsolated]').shadowRoot
     .querySelectorAll('[data-testid^=gvae-cell-]')]
  .map(c => { const r = c.getBoundingClientRect();
              return [c.dataset.testid, [r.x + r.width / 2, r.y + r.height / 2]]; }))"""


class Wire:
    """Counts the websocket frames a page sends (each is a rerun request or the like) and
    the bytes it receives: attach before the page opens its connection."""

    def __init__(self, page):
        self.sent = 0
        self.received = 0
        page.on("websocket", self._attach)

    def _attach(self, ws):
        ws.on("framesent", self._on_sent)
        ws.on("framereceived", self._on_received)

    def _on_sent(self, _payload):
        self.sent += 1

    def _on_received(self, payload):
        self.received += len(payload)


LONG_TASKS_JS = """() => {
  window.gvaeLongTasks = [];
  new PerformanceObserver(list => {
    for (const e of list.getEntries()) window.gvaeLongTasks.push([e.startTime, e.duration]);
  }).observe({type: 'longtask'});
}"""


def long_tasks(page) -> str:
    """Main-thread tasks of 50 ms or more since the section started: what the hand waited on."""
    tasks = page.evaluate("() => window.gvaeLongTasks")
    return f"{len(tasks)}" + (f" (longest {max(d for _, d in tasks):.0f} ms)" if tasks else "")


def start_section(page) -> None:
    page.evaluate("() => { window.gvaeLive.trace = []; window.gvaeLongTasks = []; }")


def settle(page, timeout_ms: int = 30_000) -> None:
    """Wait until the page is idle: no rerun running (the sync of a settled edit)."""
    page.wait_for_function(IDLE_JS, timeout=timeout_ms)


def trace(page, kind: str, field: str = "ms") -> list[float]:
    return page.evaluate(
        "([k, f]) => window.gvaeLive.trace.filter(t => t.kind === k).map(t => t[f])", [kind, field]
    )


def wait_trace(page, kind: str, count: int) -> None:
    page.wait_for_function(
        "([k, n]) => window.gvaeLive.trace.filter(t => t.kind === k).length >= n", arg=[kind, count]
    )


def live_editor(browser, url: str, n: int, strokes: int) -> dict:
    page = browser.new_page(viewport=LIVE_VIEWPORT)
    wire = Wire(page)
    page.goto(f"{url}/latent_editor?z={'0' * 20}")
    wait_rendered(page)
    page.locator("[data-testid=gvae-digit][data-source=page]").wait_for()
    settle(page)
    page.evaluate(LONG_TASKS_JS)
    start_section(page)
    centers = page.evaluate(CELL_CENTERS_JS)
    rng = random.Random(0)
    code = [0] * 20
    results = {}

    # Click a cell (a category other than the current one), then let the code sync.
    received, reruns = [], []
    for j in range(n):
        i = rng.randrange(20)
        k = (code[i] + rng.randrange(1, 10)) % 10
        code[i] = k
        page.mouse.move(*centers[f"gvae-cell-{(i + 7) % 20}-{k}"])  # hover away first
        sent, got = wire.sent, wire.received
        page.mouse.click(*centers[f"gvae-cell-{i}-{k}"])
        wait_trace(page, "click", j + 1)
        page.wait_for_function(f"() => location.search.includes('z={''.join(map(str, code))}')")
        settle(page)
        reruns.append(wire.sent - sent)
        received.append(wire.received - got)
    results["editor: click a cell"] = (
        trace(page, "click"),
        trace(page, "click", "raf"),
        f"{statistics.mean(reruns):.0f} after the click",
        long_tasks(page),
    )
    bytes_per_edit = statistics.median(received)

    # Hover: each move onto another cell previews that change.
    start_section(page)
    cells = [f"gvae-cell-{rng.randrange(20)}-{rng.randrange(10)}" for _ in range(n)]
    sent = wire.sent
    for j, cell in enumerate(cells):
        page.mouse.move(*centers[cell])
        wait_trace(page, "hover", j + 1)
    results["editor: hover a cell (preview)"] = (
        trace(page, "hover"),
        trace(page, "hover", "raf"),
        f"{wire.sent - sent} during {len(cells)} hovers",
        long_tasks(page),
    )

    # Drag-paint: press on z0 and sweep down the column to z19; count what is sent while held.
    start_section(page)
    held, painted, after = 0, 0, []
    for stroke in range(strokes):
        k = 1 + stroke % 9
        page.mouse.move(*centers[f"gvae-cell-0-{k}"])
        page.mouse.down()
        before = len(trace(page, "paint"))
        sent = wire.sent
        # One move per cell down the column, each waited for, as the τ drag below. (Sent
        # back to back, Playwright's moves each wait for the previous one's frame, so each
        # would wait almost exactly one more frame for Chrome's rAF-aligned input.)
        for i in range(1, 20):
            page.mouse.move(*centers[f"gvae-cell-{i}-{k}"])
            painted_so_far = before + sum(v != k for v in code[1 : i + 1])
            wait_trace(page, "paint", painted_so_far)
        code = [k] * 20
        held += wire.sent - sent
        painted += len(trace(page, "paint")) - before
        page.mouse.up()
        page.wait_for_function(f"() => location.search.includes('z={str(k) * 20}')")
        settle(page)
        after.append(wire.sent - sent)
    results["editor: drag-paint (per cell painted)"] = (
        trace(page, "paint"),
        trace(page, "paint", "raf"),
        f"{held} during {painted} edits; {statistics.mean(after):.0f} after release",
        long_tasks(page),
    )
    results["editor: draw on the pad (per move)"] = draw_strokes(page, wire, strokes)
    page.close()
    return results, bytes_per_edit


def pad_path(box: dict, steps: int) -> list[tuple[float, float]]:
    """A 7 across the drawing pad: the bar, then the stem, `steps` points in all."""
    corners = [(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)]
    points = []
    for (x0, y0), (x1, y1) in zip(corners, corners[1:], strict=False):
        for f in range(steps // 2):
            t = f / (steps // 2)
            points.append((x0 + (x1 - x0) * t, y0 + (y1 - y0) * t))
    points.append(corners[-1])
    return [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in points]


def draw_strokes(page, wire, strokes: int) -> tuple:
    """Draw a 7 on the pad `strokes` times: each move is encoded (784-512-256-200), its
    argmax code decoded and painted; Clear between strokes."""
    start_section(page)
    pad = page.get_by_test_id("gvae-draw")
    pad.scroll_into_view_if_needed()
    held, moves, after = 0, 0, []
    for _ in range(strokes):
        page.get_by_test_id("gvae-draw-clear").click()
        path = pad_path(pad.bounding_box(), 30)
        page.mouse.move(*path[0])
        sent, before = wire.sent, len(trace(page, "draw"))
        page.mouse.down()
        wait_trace(page, "draw", before + 1)
        for j, point in enumerate(path[1:], start=2):
            page.mouse.move(*point)
            wait_trace(page, "draw", before + j)
        held += wire.sent - sent
        moves += len(trace(page, "draw")) - before
        page.mouse.up()
        code = page.evaluate("() => window.gvaeLive.editor.code.join('')")
        page.wait_for_function("c => location.search.includes('z=' + c)", arg=code)
        settle(page)
        after.append(wire.sent - sent)
    note = f"{held} during {moves} moves; {statistics.mean(after):.0f} after release"
    return trace(page, "draw"), trace(page, "draw", "raf"), note, long_tasks(page)


def live_playground(browser, url: str, strokes: int) -> dict:
    """Drag τ along its slider, 40 moves per stroke, down and up again."""
    page = browser.new_page(viewport=LIVE_VIEWPORT)
    wire = Wire(page)
    page.goto(f"{url}/playground?tau=1")
    wait_rendered(page)
    page.locator("[data-testid=gvae-simplex][data-points]").wait_for()
    settle(page)
    page.evaluate(LONG_TASKS_JS)
    start_section(page)
    box = page.locator("[data-testid=gvae-tau]").bounding_box()
    y = box["y"] + box["height"] / 2
    x_of = lambda log_tau: box["x"] + box["width"] * (log_tau + 2) / 3  # noqa: E731
    held, steps, after = 0, 0, []
    for stroke in range(strokes):
        start, end = (0.0, -1.8) if stroke % 2 == 0 else (-1.8, 0.0)
        page.mouse.move(x_of(start), y)
        page.mouse.down()
        sent, before = wire.sent, len(trace(page, "tau"))
        for f in range(1, 41):
            page.mouse.move(x_of(start + (end - start) * f / 40), y)
            wait_trace(page, "tau", before + f)
        held += wire.sent - sent
        steps += len(trace(page, "tau")) - before
        tau = page.get_by_test_id("gvae-tau").get_attribute("aria-valuetext").removeprefix("τ = ")
        page.mouse.up()
        page.wait_for_function("t => location.search.includes('tau=' + t)", arg=tau)
        settle(page)
        after.append(wire.sent - sent)
    times, raf, tasks = trace(page, "tau"), trace(page, "tau", "raf"), long_tasks(page)
    page.close()
    note = f"{held} during {steps} steps; {statistics.mean(after):.0f} after release"
    return {"playground: τ drag step": (times, raf, note, tasks)}


def print_live(rows: dict, bytes_per_edit: float | None) -> None:
    """rows: name -> (ms to after the frame, ms to its rAF or None, reruns, long tasks)."""
    from benchmarks.speed import percentile

    print(
        "| interaction | n | median ms | p95 ms | max ms | median / p95 to rAF ms "
        "| reruns (websocket messages sent) | long tasks |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, (times, raf, note, tasks) in rows.items():
        med, p95 = statistics.median(times), percentile(times, 95)
        to_raf = f"{statistics.median(raf):.1f} / {percentile(raf, 95):.1f}" if raf else "-"
        print(
            f"| {name} | {len(times)} | {med:.1f} | {p95:.1f} | {max(times):.1f} | {to_raf} "
            f"| {note} | {tasks} |"
        )
    if bytes_per_edit is not None:
        print(
            f"\nserver -> browser per edit's rerun (editor clicks): {bytes_per_edit / 1e3:.1f} kB median"
        )


def machine() -> str:
    version = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout.strip()
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return f"{cpu_model()}, {os.cpu_count()} cores, load average {load}; {version}, headless, 1280 x 720"


def live(n: int, strokes: int) -> None:
    with streamlit_server() as url, chromium() as browser:
        editor, bytes_per_edit = live_editor(browser, url, n, strokes)
        playground = live_playground(browser, url, strokes)
    print(f"live components, input event -> first frame showing it ({machine()}):\n")
    print_live({**editor, **playground}, bytes_per_edit)


# -- the same gestures on an older checkout, where every change is a server round trip ----
# In the page: the time of each pointerdown / keydown, and, polled at every animation frame,
# the first frame in which the old page's picture has changed (the digit <img> loaded with a
# new src, or the first Plotly chart's data).
BASELINE_JS = """() => {
  const w = window; w.gvaeBase = {t0: null, times: [], last: null};
  const mark = e => { w.gvaeBase.t0 = e.timeStamp; };
  addEventListener('pointerdown', mark, true);
  addEventListener('keydown', mark, true);
  const picture = () => {
    const digit = [...document.querySelectorAll('[data-testid=stImage]')]
      .find(e => e.innerText.includes('z = '));
    if (digit) { const img = digit.querySelector('img');
      return img && img.complete && img.naturalWidth ? img.src : null; }
    const plot = document.querySelector('.js-plotly-plot');
    return plot && plot.data ? JSON.stringify(plot.data.map(t => Array.from(t.y || []))) : null;
  };
  const poll = () => {
    const now = picture();
    const b = w.gvaeBase;
    if (now !== null && b.last !== null && now !== b.last && b.t0 !== null) {
      b.times.push(performance.now() - b.t0); b.t0 = null;
    }
    if (now !== null) b.last = now;
    requestAnimationFrame(poll);
  };
  requestAnimationFrame(poll);
}"""


def wait_baseline(page, count: int) -> None:
    page.wait_for_function("n => window.gvaeBase.times.length >= n", arg=count)


def baseline_editor(browser, url: str, n: int) -> tuple[dict, float]:
    page = browser.new_page(viewport=LIVE_VIEWPORT)
    wire = Wire(page)
    page.goto(f"{url}/latent_editor?z={'0' * 20}")
    wait_rendered(page)
    page.evaluate(BASELINE_JS)
    page.evaluate(LONG_TASKS_JS)
    rng = random.Random(0)
    code = [0] * 20
    sent, received = wire.sent, []
    for j in range(n):
        i = rng.randrange(20)
        k = (code[i] + rng.randrange(1, 10)) % 10
        code[i] = k
        row = page.locator(MAIN).get_by_role("radiogroup", name=f"z{i}", exact=True)
        got = wire.received
        row.get_by_role("radio", name=str(k), exact=True).click()
        wait_baseline(page, j + 1)
        settle(page)
        received.append(wire.received - got)
    times, tasks = page.evaluate("() => window.gvaeBase.times"), long_tasks(page)
    page.close()
    note = f"{(wire.sent - sent) / n:.0f} per click"
    rows = {"editor: click a cell (round trip)": (times, None, note, tasks)}
    return rows, statistics.median(received)


def baseline_playground(browser, url: str, n: int) -> dict:
    page = browser.new_page(viewport=LIVE_VIEWPORT)
    wire = Wire(page)
    page.goto(f"{url}/playground")
    wait_rendered(page)
    page.evaluate(BASELINE_JS)
    page.evaluate(LONG_TASKS_JS)
    thumb = page.locator(MAIN).get_by_role("slider").first  # tau
    for j in range(n):  # one keyboard step at a time: each is a full rerun
        thumb.focus()
        thumb.press("ArrowLeft" if (j // 10) % 2 == 0 else "ArrowRight")
        wait_baseline(page, j + 1)
        settle(page)
    times, tasks = page.evaluate("() => window.gvaeBase.times"), long_tasks(page)
    # A mouse drag of the slider: how often the chart moves, and what is sent, while held.
    thumb.scroll_into_view_if_needed()
    box = thumb.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    sent, changes = wire.sent, len(times)
    page.mouse.move(x - 200, y, steps=40)
    page.wait_for_timeout(1000)  # a second of holding still: does anything redraw?
    moved = page.evaluate("() => window.gvaeBase.times.length") - changes
    held = wire.sent - sent
    page.mouse.up()
    page.close()
    note = f"{held} during a 40-move drag; the chart changed {moved} times before release"
    return {"playground: τ step (keyboard, round trip)": (times, None, note, tasks)}


def live_baseline(root: Path, n: int) -> None:
    with streamlit_server(root=root) as url, chromium() as browser:
        editor, bytes_per_edit = baseline_editor(browser, url, n)
        rows = {**editor, **baseline_playground(browser, url, n)}
    print(f"before: {root}, input event -> first frame showing it ({machine()}):\n")
    print_live(rows, bytes_per_edit)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.browser", description="The app in Chromium: cold start, training"
    )
    p.add_argument(
        "which",
        nargs="?",
        choices=["cold-start", "train", "live", "start", "digits"],
        default="cold-start",
    )
    p.add_argument("--starts", type=int, default=5, help="cold starts, or Starts, to time")
    p.add_argument("--seconds", type=float, default=30.0, help="length of each training window")
    p.add_argument("--gestures", type=int, default=40, help="live: clicks, hovers, key steps")
    p.add_argument("--strokes", type=int, default=6, help="live: drag strokes (paint, τ)")
    p.add_argument(
        "--baseline",
        action="store_true",
        help="live: the old widgets' gestures, on the checkout given by --root",
    )
    p.add_argument(
        "--root", type=Path, default=ROOT, help="live --baseline, start: the app to serve"
    )
    args = p.parse_args(argv)
    if args.which == "train":
        train_throughput(args.seconds)
    elif args.which == "start":
        start_latency(args.starts, args.root)
    elif args.which == "digits":
        digits_after_start(args.starts)
    elif args.which == "live" and args.baseline:
        live_baseline(args.root, args.gestures)
    elif args.which == "live":
        live(args.gestures, args.strokes)
    else:
        cold_start(args.starts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
