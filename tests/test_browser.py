"""Real-browser tests: `streamlit run app.py` on 127.0.0.1, driven by Playwright in Debian's
Chromium (/usr/bin/chromium; never a downloaded browser). Saves a screenshot of each page
to docs/ (or $GVAE_SCREENSHOT_DIR), which the README shows.
"""

import os
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from benchmarks.browser import CHROMIUM, chromium, streamlit_server, wait_rendered

pytestmark = pytest.mark.browser
if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)

ROOT = Path(__file__).resolve().parent.parent
SHOTS = Path(os.environ.get("GVAE_SCREENSHOT_DIR", ROOT / "docs"))
MAIN = "[data-testid='stMainBlockContainer']"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log = tmp_path_factory.mktemp("server") / "streamlit.log"
    with streamlit_server(log_path=str(log)) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


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


def plotly_data(page, index: int) -> list:
    return page.evaluate(
        "i => document.querySelectorAll('.js-plotly-plot')[i].data.map(t => Array.from(t.y || []))",
        index,
    )


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
        time.sleep(1.0)  # let Plotly finish its first draw
        page.screenshot(path=str(SHOTS / shot))
    page.close()


def test_moving_tau_changes_the_chart(server, page):
    open_page(page, f"{server}/playground")
    before = plotly_data(page, 0)
    thumb = page.locator(MAIN).get_by_role("slider").first  # tau, from 1.0
    thumb.focus()
    for _ in range(5):
        thumb.press("ArrowLeft")
    page.wait_for_function("() => location.search.includes('tau=0.316')")  # 5 stops down from 1.0
    wait_rendered(page)
    page.wait_for_function(
        "before => JSON.stringify(document.querySelectorAll('.js-plotly-plot')[0].data.map(t => Array.from(t.y || []))) != before",
        arg=str(before).replace("'", '"').replace(" ", ""),
    )
    assert plotly_data(page, 0) != before
    no_exception(page)


def test_a_tiny_training_run_counts_steps(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1700})
    open_page(page, f"{server}/train")
    main = page.locator(MAIN)
    main.get_by_role("button", name=re.compile("Start")).click()

    def step() -> int:
        text = main.locator("[data-testid='stMetric']").nth(1).inner_text()
        return int(re.search(r"(\d+) / \d+", text).group(1))

    page.wait_for_selector(f"{MAIN} [data-testid='stMetric']")
    deadline = time.time() + 60
    first = step()
    while step() <= first + 10 and time.time() < deadline:
        time.sleep(0.5)
    assert step() > first + 10
    time.sleep(4)  # a few more redraws: curves, reconstructions and samples
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
    assert page.locator(f"{MAIN} input[type='text']").first.input_value() == "0.2, 0.3, 0.5"
    assert page.locator(MAIN).get_by_role("slider").first.get_attribute("aria-valuetext") == "0.1"
    no_exception(page)
