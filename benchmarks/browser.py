"""A real Streamlit server and Debian's Chromium, for browser tests and the cold-start
benchmark. Playwright drives /usr/bin/chromium; it never downloads a browser.

    python -m benchmarks.browser             # cold start: `streamlit run` to Home rendered
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
def streamlit_server(env: dict | None = None, log_path: str | None = None):
    """`streamlit run app.py` on 127.0.0.1 at a free port; yields the base URL."""
    port = free_port()
    log = open(log_path or os.devnull, "w")  # noqa: SIM115 (closed in the finally below)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app.py"),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
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
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


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


def wait_rendered(page, timeout_ms: int = 60_000, settle_s: float = 0.3) -> None:
    """The app has drawn its page: a title is up, no script run is in progress and none
    starts within `settle_s` (a first visit reruns once through app.py's navigation)."""
    page.wait_for_selector("[data-testid='stApp']", timeout=timeout_ms)
    page.wait_for_selector("[data-testid='stMainBlockContainer'] h1", timeout=timeout_ms)
    deadline = time.time() + timeout_ms / 1000
    while True:
        page.wait_for_function(IDLE_JS, timeout=max(1, int((deadline - time.time()) * 1000)))
        time.sleep(settle_s)
        if page.evaluate(IDLE_JS) or time.time() > deadline:
            return


def cold_start_seconds(browser) -> float:
    """From launching `streamlit run` to Home drawn in Chromium, prior samples included."""
    start = time.perf_counter()
    with streamlit_server() as url:
        page = browser.new_page()
        page.goto(url)
        wait_rendered(page)
        page.wait_for_selector("[data-testid='stMainBlockContainer'] [data-testid='stImage'] img")
        elapsed = time.perf_counter() - start
        page.close()
    return elapsed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.browser", description="Cold start of the app in Chromium"
    )
    p.add_argument("--starts", type=int, default=5)
    args = p.parse_args(argv)
    with chromium() as browser:
        times = [cold_start_seconds(browser) for _ in range(args.starts)]
    print(
        f"cold start, `streamlit run` to Home rendered in Chromium, {args.starts} starts on {os.cpu_count()} cores:"
    )
    print(
        f"  median {statistics.median(times):.2f} s, min {min(times):.2f} s, max {max(times):.2f} s"
    )
    print("  all: " + ", ".join(f"{t:.2f}" for t in times))
    return 0


if __name__ == "__main__":
    sys.exit(main())
