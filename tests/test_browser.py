"""Real-browser tests: `streamlit run app.py` on 127.0.0.1, driven by Playwright in Debian's
Chromium (/usr/bin/chromium; never a downloaded browser). Saves a screenshot of each page
to docs/ (or $GVAE_SCREENSHOT_DIR), which the README shows.
"""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from benchmarks.browser import CHROMIUM, wait_rendered

pytestmark = pytest.mark.browser
if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)

ROOT = Path(__file__).resolve().parent.parent
SHOTS = Path(os.environ.get("GVAE_SCREENSHOT_DIR", ROOT / "docs"))
MAIN = "[data-testid='stMainBlockContainer']"


@pytest.fixture
def page(browser):
    p = browser.new_page(viewport={"width": 1400, "height": 1000})
    yield p
    p.close()


def open_page(page, url: str) -> None:
    page.goto(url)
    wait_rendered(page)


def no_exception(page) -> None:
    assert page.locator("[data-testid='stException']").count() == 0, page.locator(
        "[data-testid='stException']"
    ).all_inner_texts()


DRAWN_JS = """() => [...document.querySelectorAll('.js-plotly-plot')].every(p => p.querySelector('.main-svg'))"""
LIVE_DRAWN = {  # what each page draws in the browser, when it is done
    "latent_editor": [
        "[data-testid=gvae-digit][data-source=page]",
        "[data-testid=gvae-atlas][data-code]",
        "[data-testid=gvae-interp-frame][data-code]",
    ],
    "playground": ["[data-testid=gvae-simplex][data-points]"],
}


def wait_drawn(page, path: str) -> None:
    """Plotly's first draw done, and the live components' pictures (drawn in the page)."""
    for ready in LIVE_DRAWN.get(path, []):
        page.locator(ready).wait_for()
    page.wait_for_function(DRAWN_JS)


@pytest.mark.parametrize(
    "path, title, shot",
    [
        ("", "gvae", "home.png"),
        ("train", "Train", None),  # its screenshot shows a run, taken in the training test
        ("latent_editor", "Latent editor", "latent_editor.png"),
        ("playground", "Gumbel playground", "playground.png"),
    ],
)
def test_every_page_opens_without_an_exception(server, browser, path, title, shot):
    page = browser.new_page(viewport={"width": 1400, "height": 2200})
    open_page(page, f"{server}/{path}")
    no_exception(page)
    assert title in page.locator(f"{MAIN} h1").first.inner_text()
    if shot:
        SHOTS.mkdir(parents=True, exist_ok=True)
        wait_drawn(page, path)
        page.screenshot(path=str(SHOTS / shot))
    page.close()


def soft_column(page) -> list[str]:
    expect(page.get_by_test_id("gvae-soft-0")).not_to_have_text("")  # the page filled it
    rows = page.get_by_test_id("gvae-table").locator("tr").all_inner_texts()[1:]
    return [row.split("\t")[3] for row in rows]


def test_moving_tau_changes_the_sample(server, page):
    open_page(page, f"{server}/playground")
    tau = page.get_by_test_id("gvae-tau")
    before = soft_column(page)
    tau.focus()
    for _ in range(40):
        tau.press("ArrowLeft")  # 40 steps of 0.005 in log10 tau: 1 -> 0.631
    expect(tau).to_have_attribute("aria-valuetext", "τ = 0.631")
    assert soft_column(page) != before
    page.wait_for_function("() => location.search.includes('tau=0.631')")
    no_exception(page)


STEP_ABOVE_JS = """([main, least]) => {
  const metric = document.querySelectorAll(main + " [data-testid='stMetric']")[1];
  const match = metric && metric.innerText.match(/(\\d+) \\/ \\d+/);
  return match !== null && Number(match[1]) > least;
}"""
PREVIEWS_JS = """main => {
  const images = [...document.querySelectorAll(main + " [data-testid='stImage'] img")];
  return images.length >= 2 && images.every(i => i.complete && i.naturalWidth > 0);
}"""


def test_a_tiny_training_run_counts_steps(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1700})
    open_page(page, f"{server}/train")
    main = page.locator(MAIN)
    main.get_by_role("button", name=re.compile("Start")).click()

    def step() -> int:
        text = main.locator("[data-testid='stMetric']").nth(1).inner_text()
        return int(re.search(r"(\d+) / \d+", text).group(1))

    page.wait_for_selector(f"{MAIN} [data-testid='stMetric']")
    first = step()
    page.wait_for_function(STEP_ABOVE_JS, arg=[MAIN, first + 10], timeout=60_000)
    # The previews (reconstructions and prior samples) are drawn, and two more redraws came.
    page.wait_for_function(PREVIEWS_JS, arg=MAIN, timeout=60_000)
    page.wait_for_function(STEP_ABOVE_JS, arg=[MAIN, step() + 20], timeout=60_000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "train.png"))
    main.get_by_role("button", name=re.compile("Stop")).click()
    wait_rendered(page)
    no_exception(page)
    page.close()


def test_deep_links_restore_their_state(server, page):
    code = "12345678901234567890"
    open_page(page, f"{server}/latent_editor?z={code}")
    expect(page.get_by_test_id("gvae-digit")).to_have_attribute("data-code", code)
    open_page(page, f"{server}/playground?tau=0.1&p=0.2,0.3,0.5&seed=4")
    page.get_by_test_id("gvae-tau").wait_for(timeout=60_000)  # its module may load after the page
    assert page.locator(f"{MAIN} input[type='text']").first.input_value() == "0.2, 0.3, 0.5"
    expect(page.get_by_test_id("gvae-tau")).to_have_attribute("aria-valuetext", "τ = 0.1")
    no_exception(page)
