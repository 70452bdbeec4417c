"""A real Streamlit server and Debian's Chromium, for browser tests and the cold-start
benchmark. Playwright drives /usr/bin/chromium; it never downloads a browser.

    python -m benchmarks.browser             # cold start: `streamlit run` to Home rendered
    python -m benchmarks.browser train       # Train page's steps/s in Chromium vs the CLI loop
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

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
    env: dict | None = None, log_path: str | None = None, address: str | None = "127.0.0.1"
):
    """`streamlit run app.py` at a free port on `address` (None: the project's default
    from .streamlit/config.toml); yields the base URL and the server's process."""
    port = free_port()
    log = open(log_path or os.devnull, "w")  # noqa: SIM115 (closed in the finally below)
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py")]
    command += ["--server.port", str(port), "--server.headless", "true"]
    command += ["--browser.gatherUsageStats", "false"]
    if address is not None:
        command += ["--server.address", address]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
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
def streamlit_server(env: dict | None = None, log_path: str | None = None):
    """`streamlit run app.py` on 127.0.0.1 at a free port; yields the base URL."""
    with streamlit_process(env, log_path) as (url, _):
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
        main.get_by_label("Epochs").fill(str(epochs))
        main.get_by_label("Epochs").press("Enter")
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

    from benchmarks.speed import cli_steps_per_s
    from gvae.config import QUICK_DEMO
    from gvae.trainer import Trainer

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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.browser", description="The app in Chromium: cold start, training"
    )
    p.add_argument("which", nargs="?", choices=["cold-start", "train"], default="cold-start")
    p.add_argument("--starts", type=int, default=5, help="cold starts to take the median of")
    p.add_argument("--seconds", type=float, default=30.0, help="length of each training window")
    args = p.parse_args(argv)
    if args.which == "train":
        train_throughput(args.seconds)
    else:
        cold_start(args.starts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
