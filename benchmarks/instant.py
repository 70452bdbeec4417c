"""Instant on stage: what a presenter waits for, measured in Chromium at 1280 x 720.

    python -m benchmarks.instant                 # all of it, with the machine line
    python -m benchmarks.instant --starts 1      # quicker: one cold start per page
    python -m benchmarks.instant --pages Home Talk --no-walk --sessions 2   # a part of it

- cold start: `streamlit run` launched -> the deep-linked page's first picture, and the page
  complete (its title drawn, no script running, no skeleton, no stale element, every image
  loaded), a fresh server each time, median of --starts per page;
- Streamlit's own floor, measured the same way: an app of a title and one image, and one of
  a title and one Plotly chart (no gvae code), so the cold starts read against what any
  Streamlit app takes on this machine;
- slide change: PageDown -> the next slide complete, over the whole talk on a warm server,
  first visits included (one walk in a fresh tab);
- server memory: the server process's RSS after --sessions tabs have each opened a page
  (the pages in turn, no training); whether torch was imported there;
- the viewing install: what `import gvae.app` pulls in (torch or not).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.browser import ROOT, chromium, streamlit_process
from benchmarks.machine import cpu_model
from gvae.app.talk import PAGES, load_talk, slide_url

VIEWPORT = {"width": 1280, "height": 720}
DEEP_LINKS = {
    "Home": "/",
    "Latent editor": "/latent_editor?z=14960356651214935182",
    "Playground": "/playground?tau=0.3",
    "§3 KL": "/kl",
    "§4 ELBO": "/elbo",
    "§5 Reparameterization": "/reparameterization",
    "§6 Gumbel": "/gumbel",
    "§7 Implementation": "/implementation",
    "Train": "/train",
    "Talk": "/talk",
    "Export": "/export",
}
COMPLETE_JS = """() => {
  const main = document.querySelector("[data-testid='stMainBlockContainer']");
  return !!main && !!main.querySelector("h1")
    && !document.querySelector("[data-testid='stStatusWidget']")
    && !document.querySelector("[data-testid='stSkeleton']")
    && !document.querySelector("[data-stale='true']")
    && [...document.querySelectorAll("img")].every(i => i.complete);
}"""


def wait_complete(page, timeout_ms: int = 60_000) -> float:
    """perf_counter when the page is first seen complete (polled every animation frame)."""
    page.wait_for_function(COMPLETE_JS, timeout=timeout_ms, polling="raf")
    return time.perf_counter()


# A page's first picture: its first image, canvas, chart or component drawn; for a page that
# has none (the Talk page's list of slides), the page complete.
FIRST_PICTURE_JS = f"""() => {{
  const pictures = [...document.querySelectorAll(
    "[data-testid='stMainBlockContainer'] :is(img, canvas, svg.main-svg, [data-testid=stBidiComponentIsolated])")];
  if (pictures.length === 0) return ({COMPLETE_JS})();
  return pictures.some(e => e.getBoundingClientRect().width > 40 && (e.tagName !== "IMG" || e.complete));
}}"""


def cold_start(browser, path: str, root: Path = ROOT) -> tuple[float, float]:
    """Seconds from `streamlit run` to the page's first picture, and to the page complete."""
    start = time.perf_counter()
    with streamlit_process(root=root) as (url, _):
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(url + path)
        page.wait_for_function(FIRST_PICTURE_JS, timeout=60_000, polling="raf")
        picture = time.perf_counter()
        done = wait_complete(page)
        page.close()
    return picture - start, done - start


# In the page: when a slide key went down, and when the document last changed (anything but
# the slide counter). A slide is complete when it is idle (COMPLETE_JS) and nothing has
# changed for QUIET_S: its time is that of its last change, so late charts count.
RECORDER_JS = """() => {
  window.gvaeKeyAt = 0; window.gvaeChangedAt = performance.now();
  window.addEventListener("keydown", () => { window.gvaeKeyAt = performance.now(); }, true);
  new MutationObserver(records => {
    if (records.some(r => !(r.target.closest && r.target.closest(".gvae-talk-badge"))))
      window.gvaeChangedAt = performance.now();
  }).observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
}"""
QUIET_S, SETTLE_LIMIT_S = 1.0, 10.0


def settled_after_key(page, number: int) -> float:
    """Seconds from the slide key to the slide's last change before it settled."""
    page.wait_for_function(
        "n => new URLSearchParams(location.search).get('slide') === String(n)",
        arg=number,
        polling="raf",
    )
    deadline = time.perf_counter() + SETTLE_LIMIT_S
    while True:
        wait_complete(page)
        quiet = page.evaluate("() => (performance.now() - window.gvaeChangedAt) / 1000")
        if quiet >= QUIET_S or time.perf_counter() > deadline:
            break
        time.sleep(QUIET_S - quiet + 0.05)
    return page.evaluate("() => (window.gvaeChangedAt - window.gvaeKeyAt) / 1000")


def slide_walk(browser, url: str) -> list[tuple[int, str, float]]:
    """(slide, page, seconds from PageDown to complete) for slides 2..n of the talk."""
    slides = load_talk()
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(url + slide_url(slides[0], 1))
    wait_complete(page)
    page.evaluate(RECORDER_JS)
    settled_after_key(page, 1)
    out = []
    for number in range(2, len(slides) + 1):
        page.keyboard.press("PageDown")
        out.append((number, slides[number - 1].page, settled_after_key(page, number)))
    page.close()
    return out


def server_memory(browser, url: str, process, sessions: int) -> tuple[float, bool]:
    """RSS (MB) of the server after `sessions` tabs each opened one page, all kept open."""
    paths = [p for p in DEEP_LINKS.values() if p != "/reparameterization"]
    tabs = []
    for i in range(sessions):
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(url + paths[i % len(paths)])
        wait_complete(page)
        tabs.append(page)
    time.sleep(2.0)
    status = Path(f"/proc/{process.pid}/status").read_text().splitlines()
    rss_kb = int(next(line.split()[1] for line in status if line.startswith("VmRSS:")))
    maps = Path(f"/proc/{process.pid}/maps").read_text()
    for page in tabs:
        page.close()
    return rss_kb / 1024, "libtorch" in maps


def median_start(browser, path: str, starts: int, root: Path = ROOT) -> tuple[float, float]:
    """cold_start's two times, each the median over `starts` fresh servers."""
    times = [cold_start(browser, path, root) for _ in range(starts)]
    return statistics.median(t for t, _ in times), statistics.median(t for _, t in times)


# Streamlit's floor: the least any app shows, timed like the pages. Not the project's code.
FLOOR_APPS = {
    "Streamlit alone: a title, an image": """
import numpy as np
import streamlit as st
st.title("Floor")
st.image(np.zeros((28, 28), dtype=np.uint8), width=200)
""",
    "Streamlit alone: a title, a chart": """
import streamlit as st
st.title("Floor")
st.plotly_chart({"data": [{"type": "bar", "y": [1, 3, 2]}], "layout": {"height": 300}})
""",
}


def floor_starts(browser, starts: int) -> None:
    """Print the cold start of each floor app, median of `starts` fresh servers."""
    print(f"Streamlit's floor, the same measure, median of {starts}:")
    for name, script in FLOOR_APPS.items():
        with tempfile.TemporaryDirectory(prefix="gvae-floor-") as folder:
            (Path(folder) / "app.py").write_text(script)
            picture, complete = median_start(browser, "/", starts, Path(folder))
        print(f"  {name:36s} {picture:.2f} s / {complete:.2f} s")


def cold_starts(browser, starts: int, pages: list[str]) -> None:
    """Print each deep link's cold start, median of `starts` fresh servers."""
    print(f"cold start, `streamlit run` -> first picture / page complete, median of {starts}:")
    pictures, completes = {}, {}
    for name in pages:
        pictures[name], completes[name] = median_start(browser, DEEP_LINKS[name], starts)
        print(f"  {name:36s} {pictures[name]:.2f} s / {completes[name]:.2f} s")
    print(
        f"  worst median: first picture {max(pictures.values()):.2f} s (target 1.5 s), "
        f"complete {max(completes.values()):.2f} s"
    )


def print_walk(walk: list[tuple[int, str, float]]) -> None:
    times = [t for _, _, t in walk]
    print(f"slide change, PageDown -> next slide complete, {len(walk)} changes:")
    print(
        f"  median {statistics.median(times):.2f} s, worst {max(times):.2f} s "
        "(targets 0.4 s and 1.0 s)"
    )
    print("  " + ", ".join(f"{n}:{PAGES[pg] or 'home'} {t:.2f}" for n, pg, t in walk))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.instant", description=__doc__)
    p.add_argument("--starts", type=int, default=3, help="cold starts per page (median); 0: none")
    p.add_argument("--sessions", type=int, default=20, help="tabs for the memory figure")
    p.add_argument(
        "--pages",
        nargs="+",
        choices=list(DEEP_LINKS),
        default=list(DEEP_LINKS),
        metavar="PAGE",
        help="the pages to cold-start (default: all)",
    )
    p.add_argument("--no-walk", action="store_true", help="skip the walk through the talk")
    args = p.parse_args(argv)
    import os
    import platform

    print(f"machine: {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with chromium() as browser:
        if args.starts > 0:
            floor_starts(browser, args.starts)
            cold_starts(browser, args.starts, args.pages)
        with streamlit_process() as (url, process):
            if not args.no_walk:
                print_walk(slide_walk(browser, url))
            rss, torch_loaded = server_memory(browser, url, process, args.sessions)
            print(
                f"server memory, {args.sessions} tabs viewing pages: {rss:.0f} MB RSS "
                f"(target 600 MB); torch loaded: {torch_loaded}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
