"""How many trainings at once this machine runs without starving the pages: the data
behind GVAE_MAX_JOBS's default.

    python -m benchmarks.admission                 # 0..3 concurrent trainings, 3 rounds

For each number N of concurrent training workers (the Train page's default recipe, as
long as the measurement), a fresh Chromium page loads Home and then the Latent editor
from one warm server, and the time until each is drawn is recorded, together with the
steps/s each worker trained meanwhile. N runs in rounds (0, 1, 2, 3, 0, 1, ...) so every N
sees the same background load on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import replace

from benchmarks.browser import MAIN, ROOT, chromium, streamlit_server, wait_rendered

PAGES = {"Home": "", "Latent editor": "latent_editor"}


def load_seconds(browser, url: str) -> float:
    """A new page: from navigation to the page drawn, its images included."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    start = time.perf_counter()
    page.goto(url)
    page.wait_for_selector(f"{MAIN} [data-testid='stImage'] img", state="attached", timeout=120_000)
    done = wait_rendered(page, timeout_ms=120_000)
    page.close()
    return done - start


def measure(browser, url: str, n_jobs: int, warmup_s: float) -> dict:
    from gvae.app.jobs import TrainingJob
    from gvae.config import QUICK_DEMO

    jobs = [TrainingJob(replace(QUICK_DEMO, epochs=10_000)) for _ in range(n_jobs)]
    try:
        for job in jobs:
            job.start()
        time.sleep(warmup_s)  # past each worker's start and first thread trials
        steps0, t0 = [job.step for job in jobs], time.perf_counter()
        times = {name: load_seconds(browser, f"{url}/{path}") for name, path in PAGES.items()}
        elapsed = time.perf_counter() - t0
        rates = [(job.step - s) / elapsed for job, s in zip(jobs, steps0)]
    finally:
        for job in jobs:
            job.close()
    return {"jobs": n_jobs, **times, "steps_per_s": rates}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.admission", description=__doc__)
    p.add_argument("--jobs", default="0,1,2,3", help="numbers of concurrent trainings")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--warmup-s", type=float, default=5.0)
    args = p.parse_args(argv)
    counts = [int(n) for n in args.jobs.split(",")]
    os.environ.setdefault("GVAE_DATA_DIR", str(ROOT.parent / "shared" / "data"))
    results: dict[int, list[dict]] = {n: [] for n in counts}
    with streamlit_server() as url, chromium() as browser:
        for name, path in PAGES.items():  # warm: torch, plotly and the caches loaded
            load_seconds(browser, f"{url}/{path}")
            print(f"warm-up {name} done", file=sys.stderr)
        for round_ in range(args.rounds):
            for n in counts:
                row = measure(browser, url, n, args.warmup_s)
                results[n].append(row)
                print(f"round {round_ + 1}: {row}", file=sys.stderr)
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    print(
        f"Page load in Chromium while N trainings run, median of {args.rounds} rounds, "
        f"{os.cpu_count()} cores, load average at the end {load:.2f}:"
    )
    print("| N | " + " | ".join(f"{name} (s)" for name in PAGES) + " | steps/s per job |")
    print("| --- |" + " --- |" * (len(PAGES) + 1))
    for n in counts:
        rows = results[n]
        cells = [f"{statistics.median(r[name] for r in rows):.2f}" for name in PAGES]
        rates = [rate for r in rows for rate in r["steps_per_s"]]
        per_job = f"{statistics.median(rates):.1f}" if rates else "—"
        print(f"| {n} | " + " | ".join(cells) + f" | {per_job} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
