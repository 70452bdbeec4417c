"""Real-browser tests of the talk: PageDown walks the default talk.toml to its last slide,
each slide's URL state applied; the arrows stay with sliders and text fields; charts and the
Export page's files download at their stated sizes. Waits on state, never on time."""

import io
import json
import math
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image
from playwright.sync_api import expect

from benchmarks.browser import CHROMIUM, wait_rendered
from gvae.app.talk import PAGES, load_talk

pytestmark = pytest.mark.browser
if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)

MAIN = "[data-testid='stMainBlockContainer']"
NOT_MIRRORED = {"talk"}  # read by the stage mode where it exists; no page writes it back


@pytest.fixture
def page(browser):
    p = browser.new_page(viewport={"width": 1280, "height": 720}, accept_downloads=True)
    yield p
    p.close()


def no_exception(page) -> None:
    errors = page.locator("[data-testid='stException']")
    assert errors.count() == 0, errors.all_inner_texts()


def same_value(shown: str, wanted: str) -> bool:
    """Equal as text, or as numbers (lists too) within what the pages' rounding moves them:
    3 significant digits in the URL, sliders in steps of 0.01 (a state not applied would
    show a page's default, far further away)."""
    if shown == wanted:
        return True
    try:
        a = [float(v) for v in shown.split(",")]
        b = [float(v) for v in wanted.split(",")]
    except ValueError:
        return False
    return len(a) == len(b) and all(
        math.isclose(x, y, rel_tol=2e-3, abs_tol=5e-3) for x, y in zip(a, b)
    )


# A heading's distance from the top of its scrolling container, and whether that container
# is scrolled to its end (then a heading near the page's bottom cannot go higher).
HEADING_POSITION_JS = """id => {
  const heading = document.getElementById(id);
  let box = heading.parentElement;
  while (box && !(box.scrollHeight > box.clientHeight && /auto|scroll/.test(getComputedStyle(box).overflowY)))
    box = box.parentElement;
  box = box || document.scrollingElement;
  const top = heading.getBoundingClientRect().top - box.getBoundingClientRect().top;
  return [top, box.scrollTop + box.clientHeight >= box.scrollHeight - 2];
}"""


def wait_for_slide(page, number: int) -> None:
    page.wait_for_function(
        "n => new URLSearchParams(location.search).get('slide') === String(n)", arg=number
    )
    wait_rendered(page)


def test_pagedown_walks_the_default_talk_to_its_last_slide(server, page):
    slides = load_talk()
    page.goto(f"{server}/talk")
    wait_rendered(page)
    page.locator(f"{MAIN} [data-testid='gvae-talk-start']").click()
    for number, slide in enumerate(slides, start=1):
        if number > 1:
            page.keyboard.press("PageDown")
        wait_for_slide(page, number)
        no_exception(page)
        parts = urlsplit(page.url)
        assert parts.path == f"/{PAGES[slide.page]}", (number, page.url)
        shown = {k: v[0] for k, v in parse_qs(parts.query).items()}
        for name, wanted in slide.params.items():
            if name not in NOT_MIRRORED:  # the page wrote back what it applied
                assert same_value(shown.get(name, ""), wanted), (number, name, page.url)
        badge = page.locator("[data-testid='gvae-talk-badge']")
        assert badge.inner_text() == f"{number} / {len(slides)}"
        if slide.section:  # scrolled to the section's heading once the page settled
            page.wait_for_function("s => window.gvaeTalk.scrolled === s", arg=slide.section)
            top, at_end = page.evaluate(HEADING_POSITION_JS, slide.section)
            # at the top of the screen (below Streamlit's header, which headings leave room
            # for with their scroll margin), or as high as the page lets it go
            margin = page.evaluate(
                "id => parseFloat(getComputedStyle(document.getElementById(id)).scrollMarginTop) || 0",
                slide.section,
            )
            assert -2 <= top <= margin + 2 or at_end, (number, slide.section, top, margin)
    page.keyboard.press("PageDown")  # past the last slide: nothing happens
    page.keyboard.press("PageUp")
    wait_for_slide(page, len(slides) - 1)
    no_exception(page)


def test_arrows_stay_with_sliders_and_text_fields(server, page):
    slides = load_talk()
    kl = next(i for i, s in enumerate(slides, 1) if s.page == "kl")
    page.goto(f"{server}/kl?p=0.05,0.25,0.7&q=0.333,0.333,0.334&slide={kl}")
    wait_rendered(page)
    thumb = page.locator(MAIN).get_by_role("slider").first  # P(Red)
    thumb.focus()
    thumb.press("ArrowRight")  # the slider's key, not the talk's
    page.wait_for_function(
        "() => new URLSearchParams(location.search).get('p') !== '0.05,0.25,0.7'"
    )
    wait_rendered(page)
    assert f"slide={kl}" in page.url and "/kl" in page.url
    assert page.evaluate("() => window.gvaeTalk.going") is None  # the talk never moved

    gumbel = next(i for i, s in enumerate(slides, 1) if s.page == "gumbel")
    page.goto(f"{server}/gumbel?slide={gumbel}")
    wait_rendered(page)
    field = page.locator(MAIN).get_by_label("Class probabilities π (normalized for you)")
    field.click()
    field.press("ArrowLeft")
    field.press("PageDown")
    assert page.evaluate("() => window.gvaeTalk.going") is None
    page.locator(f"{MAIN} h1").click()  # focus off the field: now the arrow is the talk's
    page.keyboard.press("ArrowRight")
    wait_for_slide(page, gumbel + 1)


def test_the_talk_page_in_a_second_window_follows_and_drives_the_projector(server, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    presenter, projector = context.new_page(), context.new_page()
    try:
        presenter.goto(f"{server}/talk")
        wait_rendered(presenter)
        projector.goto(f"{server}/kl?slide=4")
        wait_rendered(projector)
        presenter.wait_for_function("() => window.gvaeTalk.following === 4")
        badge = presenter.locator("[data-testid='gvae-talk-badge']")
        assert badge.inner_text().startswith(f"4 / {len(load_talk())} · next: ")
        presenter.keyboard.press("PageDown")  # the clicker is on the speaker's laptop
        wait_for_slide(projector, 5)
        presenter.wait_for_function("() => window.gvaeTalk.following === 5")
        assert "/talk" in presenter.url and "slide" not in presenter.url  # it stayed put
        no_exception(projector)
    finally:
        context.close()


def test_kl_bars_follow_the_hand_and_agree_with_python(server, page):
    """The page's KL (a second implementation) against gvae.app.kl while dragging, before
    any rerun; the distributions reach Python when the hand lets go."""
    from gvae.app import kl as klm

    page.goto(f"{server}/kl?p=0.05,0.25,0.7&q=0.333,0.333,0.334")
    wait_rendered(page)
    bars = page.locator(f"{MAIN} [data-testid='gvae-kl-bars']")
    bar = page.locator(f"{MAIN} [data-testid='gvae-kl-bar-p-0']")
    bar.scroll_into_view_if_needed()
    holder = page.locator(f"{MAIN} .kl-bars").element_handle()  # in a shadow root
    box = bar.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] - 1
    page.mouse.move(x, y)
    page.mouse.down()
    for dy in (40, 80, 120):  # P(Red) rises; P(Blue) and P(White) make room
        page.mouse.move(x, y - dy)
        page.wait_for_function(  # the svg is redrawn at each move; its holder stays
            "([holder, v]) => JSON.parse(holder.querySelector('svg').dataset.p)[0] > v",
            arg=[holder, 0.05 + dy / 1000],
        )
        p = json.loads(bars.get_attribute("data-p"))
        q = json.loads(bars.get_attribute("data-q"))
        assert sum(p) == pytest.approx(1.0)
        for testid, expected in (
            ("gvae-kl-pq", klm.kl(p, q)),
            ("gvae-kl-qp", klm.kl(q, p)),
            ("gvae-h-p", klm.entropy(p)),
        ):
            shown = float(
                page.locator(f"{MAIN} [data-testid='{testid}']").get_attribute("data-value")
            )
            assert shown == pytest.approx(expected, rel=1e-12, abs=1e-15), testid
    assert "p=0.05" in page.url.replace("%2C", ",")  # nothing sent while the hand moves
    page.mouse.up()
    page.wait_for_function(
        "() => !new URLSearchParams(location.search).get('p').startsWith('0.05')"
    )
    wait_rendered(page)
    sent = [float(v) for v in parse_qs(urlsplit(page.url).query)["p"][0].split(",")]
    assert sent[0] == pytest.approx(p[0], abs=0.01)
    no_exception(page)


def test_a_chart_exports_a_1920_pixel_png(server, page):
    page.goto(f"{server}/kl")
    wait_rendered(page)
    chart = page.locator(f"{MAIN} .js-plotly-plot").first
    chart.hover()
    with page.expect_download() as download:
        chart.locator(
            "[data-title='Download plot as a png'], [data-title^='Download plot']"
        ).first.click()
    image = Image.open(download.value.path())
    assert image.format == "PNG" and image.size == (1920, 1080)
    assert download.value.suggested_filename == "kl-cross-entropy.png"


def test_export_page_files_open_at_their_sizes(server, page):
    page.goto(f"{server}/export?digit=17")
    wait_rendered(page)
    for label, size, frames in (
        ("digit.png", (1920, 1080), 1),
        ("atlas.png", (1920, 1080), 1),
        ("interpolation.gif", (1280, 720), None),
        ("τ sharpening.gif", (1280, 720), 31),
    ):
        # A download button's click reruns the page: the next click waits for that rerun,
        # or it can land on a button being replaced (CI lost one so).
        wait_rendered(page)
        with page.expect_download() as download:
            page.locator(MAIN).get_by_role("button", name=label).click()
        image = Image.open(io.BytesIO(Path(download.value.path()).read_bytes()))
        image.load()
        assert image.size == size, label
        if frames:
            assert getattr(image, "n_frames", 1) == frames, label


def test_the_first_page_preloads_chart_formula_code_and_table_code_out_of_sight(server, page):
    """Streamlit's frontend loads each kind of element's code when a page first shows one
    (plotly.js alone is megabytes): the app draws one of each, hidden, once the first page
    has settled, so the first slide with a chart does not wait for it."""
    page.goto(server + "/")
    hidden = page.locator(".st-key-gvae-preloaded")
    expect(hidden.locator(".js-plotly-plot .main-svg").first).to_be_attached(timeout=30_000)
    expect(hidden.locator(".katex").first).to_be_attached()
    expect(hidden.locator("[data-testid='stCode']")).to_be_attached()
    expect(hidden.locator("[data-testid='stDataFrame']")).to_be_attached()
    assert page.locator(f"{MAIN} .js-plotly-plot").count() == 0  # Home draws no chart itself
    box = hidden.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 0  # drawn, but off the screen
    no_exception(page)
    page.keyboard.press("PageDown")  # slide 1: the next run of this session draws none
    expect(page).to_have_url(re.compile(r"slide=1"))
    expect(hidden).to_have_count(0)
