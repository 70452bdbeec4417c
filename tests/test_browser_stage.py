"""Stage mode in Chromium at 1280 x 720: talk mode and the theme from the URL, kept across
navigation and reloads, toggled by keys; every page's demo inside the screen, its text at
projector sizes and AA contrast in both themes; no request leaving the app.

Screenshots of each page in talk mode, light and dark, go to docs/stage-<page>-<theme>.png.
Waits are on state (locators, wait_for_function), never on time.
"""

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from benchmarks.browser import CHROMIUM, wait_rendered
from gvae.app.pages import PAGES as APP_PAGES
from gvae.app.pages import SECTIONS

pytestmark = pytest.mark.browser
if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)

DOCS = Path(__file__).resolve().parent.parent / "docs"
W, H = 1280, 720

# Per page: what must be on screen, unscrolled, in talk mode (the demo). The article's
# sections, the talk and export are long pages a slide scrolls through, so only their
# title must be on the first screen; every text and chart on them must read.
DEMOS = {
    "home": ["h1", "[data-testid=stMain] [data-testid=stImage] img"],
    "train": ["h1", "button:has-text('Start')", "button:has-text('Resume')"],
    "latent_editor": [
        "[data-testid=gvae-draw]",
        "[data-testid=gvae-draw-clear]",
        "[data-testid=gvae-digit]",
        "[data-testid=gvae-cell-0-0]",
        "[data-testid=gvae-cell-19-9]",
    ],
    "playground": [
        "[data-testid=gvae-tau]",
        "[data-testid=gvae-bars]",
        "[data-testid=gvae-simplex]",
    ],
}
PAGES = {p.name: (p.url_path, DEMOS.get(p.name, ["h1"])) for p in APP_PAGES}
CHARTED = {"playground", "kl", "elbo", "reparameterization", "gumbel"}  # ticks on screen

# Streamlit's own text in the page: at least 24 px in talk mode.
BODY_TEXT = (
    "[data-testid=stMain] [data-testid=stMarkdownContainer] p, "
    "[data-testid=stMain] [data-testid=stWidgetLabel] p, "
    "[data-testid=stMain] button p, "
    ".gv-talk button:not(.gv-cell), .gv-talk label, .gv-talk .gv-caption, "
    ".gv-talk .gv-mono, .gv-talk .gv-metric-label, "
    "[data-testid=stMain] [data-testid=stTable] :is(td, th)"
)
TICKS = "[data-testid=stMain] .main-svg :is(.xtick, .ytick) text"
TITLES = "[data-testid=stMain] .main-svg :is(.gtitle, .annotation-text)"
IN_BOX_PX = 18  # a label inside a diagram's box: the ticks' size (gvae.app.section_figures.IN_BOX)

# Every chart label (Plotly annotation): its size; whether it lies in a shape of its chart
# (a diagram's box) and then whether it, with its own background, fits inside that box;
# whether it runs into a bar or a bar's text; whether it stays inside its chart.
LABELS_JS = """() => {
  const rect = (e) => e.getBoundingClientRect();
  const within = (a, b) => a.left >= b.left - 1 && a.right <= b.right + 1 &&
    a.top >= b.top - 1 && a.bottom <= b.bottom + 1;
  const meets = (a, b) => a.left < b.right - 1 && b.left < a.right - 1 &&
    a.top < b.bottom - 1 && b.top < a.bottom - 1;
  const out = [];
  for (const chart of document.querySelectorAll("[data-testid=stMain] [data-testid=stPlotlyChart]")) {
    const shapes = [...chart.querySelectorAll(".shapelayer path")].map(rect);
    const bars = [...chart.querySelectorAll(".barlayer .point path, .barlayer text.bartext")]
      .map(rect).filter((r) => r.width > 0 && r.height > 0);
    for (const group of chart.querySelectorAll("g.annotation")) {
      const text = group.querySelector("text.annotation-text");
      if (!text || !text.textContent.trim()) continue;
      const own = rect(text), bg = group.querySelector("rect.bg");
      const filled = bg && !/rgba\\(.*, 0\\)$/.test(getComputedStyle(bg).fill) &&
        getComputedStyle(bg).fill !== "none";
      const drawn = filled ? rect(bg) : own;
      const x = (own.left + own.right) / 2, y = (own.top + own.bottom) / 2;
      const box = shapes.find((s) => x > s.left && x < s.right && y > s.top && y < s.bottom);
      out.push({ text: text.textContent.trim().slice(0, 40),
                 size: parseFloat(getComputedStyle(text).fontSize),
                 inBox: Boolean(box), fits: box ? within(drawn, box) : true,
                 onBar: bars.some((b) => meets(own, b)), inChart: within(own, rect(chart)) });
    }
  }
  return out;
}"""

# Colour of each visible text element and of what lies behind it (the first ancestor
# with an opaque background; SVG text uses its fill), as [r, g, b, a] lists.
COLORS_JS = """(selector) => {
  const rgba = (s) => (s.match(/[\\d.]+/g) || []).map(Number).concat([1]).slice(0, 4);
  const out = [];
  for (const el of document.querySelectorAll(selector)) {
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height || !el.textContent.trim()) continue;
    // Disabled controls are exempt from WCAG's contrast minimum; a slider's value floats
    // beside its thumb, not on it.
    if (el.closest("button:disabled, [data-testid=stSliderThumbValue]")) continue;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || Number(style.opacity) === 0) continue;
    const fg = rgba(el instanceof SVGElement ? style.fill : style.color);
    let bg = null;
    // A chart label with a background of its own (Plotly draws it as the rect.bg of the
    // label's group) is read against that background.
    const group = el instanceof SVGElement && el.closest(".annotation-text-g");
    const rect = group && group.querySelector("rect.bg");
    if (rect) {
      const own = getComputedStyle(rect), c = rgba(own.fill);
      if (c[3] > 0.9 && Number(own.fillOpacity) > 0.9) bg = c;
    }
    for (let e = bg ? null : el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c[3] > 0.9 && getComputedStyle(e).backgroundColor !== "rgba(0, 0, 0, 0)") { bg = c; break; }
    }
    bg = bg || rgba(getComputedStyle(document.querySelector("[data-testid=stApp]")).backgroundColor);
    out.push({ text: el.textContent.trim().slice(0, 40), fg, bg,
               size: parseFloat(style.fontSize), opacity: Number(style.opacity) });
  }
  return out;
}"""


def luminance(rgb) -> float:
    def channel(c):
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(fg, bg) -> float:
    alpha = fg[3]  # text drawn with alpha blends into its background
    mixed = [alpha * f + (1 - alpha) * b for f, b in zip(fg[:3], bg[:3], strict=True)]
    hi, lo = sorted((luminance(mixed), luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.fixture
def page(browser):
    p = browser.new_page(viewport={"width": W, "height": H})
    p.requests = []
    p.on("request", lambda r: p.requests.append(r.url))
    yield p
    p.close()


def open_stage(page, url: str) -> None:
    page.goto(url)
    wait_rendered(page)


def assert_local(page, server):
    outside = [u for u in page.requests if not u.startswith((server, "blob:", "data:"))]
    assert outside == []


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("name", list(PAGES))
def test_talk_mode_fits_reads_and_contrasts(page, server, name, theme):
    path, demo = PAGES[name]
    open_stage(page, f"{server}/{path}?talk=1&theme={theme}")
    # The theme asked for is the theme drawn (the app's background's luminance).
    dark = theme == "dark"
    page.wait_for_function(
        "(dark) => { const c = getComputedStyle(document.querySelector('[data-testid=stApp]'))"
        ".backgroundColor.match(/\\d+/g).map(Number); return (c[0] + c[1] + c[2] < 150) === dark }",
        arg=dark,
    )
    for selector in demo:
        page.locator(selector).first.wait_for()
    if name in CHARTED:
        page.locator(TICKS).first.wait_for()  # its first Plotly chart is drawn
    wait_rendered(page)
    page.screenshot(path=str(DOCS / f"stage-{name}-{theme}.png"))

    # Sidebar collapsed, no horizontal scroll.
    assert page.locator("[data-testid=stSidebar]").get_attribute("data-collapsed") == "true"
    assert page.evaluate("document.documentElement.scrollWidth") <= W
    # The demo lies inside the screen, unscrolled.
    for selector in demo:
        box = page.locator(selector).first.bounding_box()
        assert box is not None, selector
        assert box["x"] >= 0 and box["y"] >= 0, (selector, box)
        assert box["x"] + box["width"] <= W and box["y"] + box["height"] <= H, (selector, box)

    body = page.evaluate(COLORS_JS, BODY_TEXT)
    ticks = page.evaluate(COLORS_JS, TICKS)
    titles = page.evaluate(COLORS_JS, TITLES)
    assert body, "no text found"
    small = [(t["text"], t["size"]) for t in body if t["size"] < 24]
    assert small == [], small
    assert [(t["text"], t["size"]) for t in ticks if t["size"] < 18] == [], name
    labels = page.evaluate(LABELS_JS)
    in_box = {label["text"] for label in labels if label["inBox"]}
    assert [
        (t["text"], t["size"]) for t in titles if t["size"] < 22 and t["text"] not in in_box
    ] == []
    # A diagram's labels are readable and inside their boxes; no label covers a bar or
    # another label on it, or leaves its chart.
    assert [(b["text"], b["size"]) for b in labels if b["inBox"] and b["size"] < IN_BOX_PX] == []
    assert [b["text"] for b in labels if not b["fits"]] == []
    assert [b["text"] for b in labels if b["onBar"]] == []
    assert [b["text"] for b in labels if not b["inChart"]] == []
    # Tables are HTML in talk mode (measured above with the body text): st.dataframe paints
    # its cells on a canvas at 14 px, out of reach of the page's styles.
    assert page.locator("[data-testid=stMain] [data-testid=stDataFrame]").count() == 0
    low = [
        (t["text"], round(contrast(t["fg"], t["bg"]), 2))
        for t in body + ticks + titles
        if contrast(t["fg"], t["bg"]) < 4.5
    ]
    assert low == [], low
    assert_local(page, server)


def test_talk_survives_navigation_and_reload_and_t_toggles_it(page, server):
    open_stage(page, f"{server}/?talk=1")
    heading = "[data-testid=stMain] h1"
    assert page.locator(heading).evaluate("e => parseFloat(getComputedStyle(e).fontSize)") > 40
    # Open the collapsed sidebar and go to another page through its navigation.
    page.locator("[data-testid=stExpandSidebarButton]").click()
    # The sidebar lists the pages under the table's sections (gvae.app.pages), in order.
    expect(page.locator("[data-testid=stNavSectionHeader]")).to_have_text(
        [re.compile("^" + re.escape(section)) for section in SECTIONS]  # then an expand icon
    )
    page.locator("[data-testid=stSidebarNav] a[href$='/playground']").click()
    page.wait_for_url("**/playground?*talk=1*")
    wait_rendered(page)
    label = "[data-testid=stMain] [data-testid=stWidgetLabel] p"
    size = (  # NaN while the page has no such label (a rerun or reload in progress)
        f"() => {{ const e = document.querySelector('{label}');"
        " return e ? parseFloat(getComputedStyle(e).fontSize) : NaN }"
    )
    assert page.evaluate(size) >= 24
    page.reload()
    wait_rendered(page)
    assert "talk=1" in page.url
    assert page.evaluate(size) >= 24
    # The key t (focus outside any input) turns talk mode off, and on again.
    page.locator(heading).click()
    page.keyboard.press("t")
    page.wait_for_function(f"() => !location.search.includes('talk=1') && ({size})() < 24")
    page.keyboard.press("t")
    page.wait_for_function(f"() => location.search.includes('talk=1') && ({size})() >= 24")
    # Typed into a text box, t is text, not a switch.
    box = page.locator("[data-testid=stMain] input[type=text]").first
    box.click()
    page.keyboard.press("End")
    page.keyboard.type("t")
    assert box.input_value().endswith("t")
    assert "talk=1" in page.url
    assert_local(page, server)


# The sum of the app background's RGB channels: > 600 light, < 150 dark.
BACKGROUND_JS = (
    "() => getComputedStyle(document.querySelector('[data-testid=stApp]')).backgroundColor"
    ".match(/\\d+/g).slice(0, 3).map(Number).reduce((a, b) => a + b)"
)


def expect_theme(page, dark: bool) -> None:
    """The page's URL and its drawn background both say the theme."""
    expect(page).to_have_url(re.compile(f"theme={'dark' if dark else 'light'}"))
    test = "< 150" if dark else "> 600"
    page.wait_for_function(f"() => ({BACKGROUND_JS})() {test}")


def count_loads(page) -> list:
    """The page loads from now on (a reload or a new document adds one; the URL updates
    Streamlit makes in place do not)."""
    loads = []
    page.on("load", lambda p: loads.append(p.url))
    return loads


def test_theme_switches_in_place_by_key_toggle_and_url(page, server):
    """d, the sidebar toggle and ?theme= change the theme without loading the page again:
    the session, the page's own state and the URL stay."""
    loads = count_loads(page)
    open_stage(page, f"{server}/?theme=dark")
    expect_theme(page, dark=True)
    page.evaluate("() => { window.gvaeSameLoad = true }")  # lost on any reload
    page.locator("[data-testid=stMain] h1").click()
    page.keyboard.press("d")
    expect_theme(page, dark=False)
    page.locator("[data-testid=stSidebar] label:has-text('Dark theme')").click()  # open at 1280
    expect_theme(page, dark=True)
    assert page.evaluate("() => window.gvaeSameLoad === true")
    assert len(loads) == 1, loads  # the first load only
    # Kept across pages (st.navigation, no page load either).
    page.locator("[data-testid=stSidebarNav] a[href$='/train']").click()
    expect(page).to_have_url(re.compile(r"/train\?.*theme=dark"))
    expect_theme(page, dark=True)
    assert page.evaluate("() => window.gvaeSameLoad === true")
    assert_local(page, server)


def test_a_theme_pinned_by_streamlits_settings_is_unpinned_once(page, server):
    """A fixed choice in Streamlit's localStorage (its settings menu, or an older gvae)
    would stop the in-place switch: the page unpins it and loads once more, and then
    switches in place."""
    open_stage(page, f"{server}/")
    page.evaluate("() => localStorage.setItem('stActiveTheme-/-v2', JSON.stringify('Light'))")
    loads = count_loads(page)
    open_stage(page, f"{server}/?theme=dark")
    expect_theme(page, dark=True)
    assert len(loads) == 2, loads  # the visit and one reload
    assert page.evaluate("() => localStorage.getItem('stActiveTheme-/-v2')") == '"System"'
    page.locator("[data-testid=stMain] h1").click()
    page.keyboard.press("d")
    expect_theme(page, dark=False)
    assert len(loads) == 2, loads


def test_train_in_talk_mode_shows_buttons_curves_and_previews_on_one_screen(page, server):
    open_stage(page, f"{server}/train?talk=1")
    page.locator(".st-key-t_start button").click()
    charts = page.locator("[data-testid=stPlotlyChart]")
    previews = page.locator("[data-testid=stMain] [data-testid=stImage]")
    previews.nth(1).wait_for(timeout=120_000)  # both preview grids are out
    page.screenshot(path=str(DOCS / "stage-train-running-light.png"))
    for element in [
        page.locator(".st-key-t_stop button"),
        charts.nth(0),
        charts.nth(1),
        previews.nth(0),
        previews.nth(1),
    ]:
        box = element.bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= H, box
        assert box["x"] >= 0 and box["x"] + box["width"] <= W, box
    assert page.evaluate("document.documentElement.scrollWidth") <= W
    # KL has its own axis: the loss chart has a second y axis.
    assert charts.nth(0).locator(".y2tick").count() > 0
    # Stopped, Resume is the primary button; Start asks before discarding the run.
    page.locator(".st-key-t_stop button").click()
    resume = page.locator(".st-key-t_resume [data-testid=stBaseButton-primary]:not(:disabled)")
    resume.wait_for()
    page.locator(".st-key-t_start button").click()
    page.get_by_text("Start a fresh run?").wait_for()
    page.locator(".st-key-t_reset button").click()
    assert_local(page, server)


@pytest.mark.parametrize("path", ["", "train", "latent_editor", "playground"])
def test_a_phone_sees_every_page_without_sideways_scrolling(browser, server, path):
    phone = browser.new_page(viewport={"width": 390, "height": 844})
    try:
        open_stage(phone, f"{server}/{path}")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        # Buttons, inputs and slider thumbs lie within the screen's width (reachable by
        # scrolling down). A slider's range input is react-aria's clipped, hidden twin.
        cut = phone.evaluate(
            """() => [...document.querySelectorAll('[data-testid=stMain] button, '
                 + '[data-testid=stMain] input:not([type=hidden]):not([type=range]), '
                 + '[data-testid=stMain] [role=slider]')]
                .map(e => e.getBoundingClientRect())
                .filter(r => r.width > 0 && (r.left < 0 || r.right > 390)).length"""
        )
        assert cut == 0
        if path == "latent_editor":
            phone.locator("[data-testid=gvae-digit]").wait_for()
            box = phone.locator("[data-testid=gvae-cell-19-9]").bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    finally:
        phone.close()


def test_the_talks_page_down_keeps_talk_mode_and_theme(page, server):
    open_stage(page, f"{server}/?talk=1&theme=dark")
    page.locator("[data-testid=stMain] h1").click()
    page.keyboard.press("PageDown")  # the talk's first slide, a new page load
    page.wait_for_url("**slide=1*")
    wait_rendered(page)
    assert "talk=1" in page.url and "theme=dark" in page.url
    heading = page.locator("[data-testid=stMain] h1").first
    assert heading.evaluate("e => parseFloat(getComputedStyle(e).fontSize)") > 40


SIMPLEX = "[data-testid=gvae-simplex]"
POINT = (0x4C, 0x78, 0xA8)  # the simplex's point colour (live.js POINT_COLOR)


def simplex_state(page, server, tau: str) -> tuple[list[float], list[list[int]]]:
    """Each corner's share of samples piled on it, and the corners (CSS px), at `tau`."""
    open_stage(page, f"{server}/playground?talk=1&p=0.2,0.3,0.5&tau={tau}")
    expect(page.locator(SIMPLEX)).to_have_attribute("data-tau", tau)
    data = page.locator(SIMPLEX).evaluate("c => [c.dataset.piled, c.dataset.corners]")
    return [float(v) for v in data[0].split(",")], json.loads(data[1])


def canvas_pixel(page, x: float, y: float) -> tuple[int, int, int]:
    """The simplex canvas's own RGBA at CSS pixel (x, y)."""
    return tuple(
        page.locator(SIMPLEX).evaluate(
            """(c, [x, y]) => {
              const r = window.devicePixelRatio || 1;
              return [...c.getContext('2d').getImageData(Math.round(x * r), Math.round(y * r), 1, 1).data];
            }""",
            [x, y],
        )
    )


def test_the_simplex_shows_the_collapse_at_low_tau(page, server):
    hot, _ = simplex_state(page, server, "5")
    assert sum(hot) < 0.2  # at a high tau few samples sit on a corner
    piled, corners = simplex_state(page, server, "0.01")
    assert sum(piled) > 0.95  # at tau = 0.01 nearly all do
    side = abs(corners[1][0] - corners[0][0])
    for share, (x, y) in zip(piled, corners):
        radius = side * 0.1 * share**0.5
        assert radius >= 10  # a disc a room can see: pi = 0.2 gives the smallest, ~0.2
        for dx, dy in [(0, 0), (0.6 * radius, 0), (-0.6 * radius, 0), (0, 0.6 * radius)]:
            r, g, b, a = canvas_pixel(page, x + dx, y + dy)
            # drawn above the edges: the point colour, not an edge line or nothing
            near = all(abs(c - p) <= 3 for c, p in zip((r, g, b), POINT, strict=True))
            assert near and a > 200, (r, g, b, a)  # (3: rounding where discs overlap)
    page.screenshot(path=str(DOCS / "stage-simplex-low-tau.png"))


RUN_STEP_JS = """([main, least]) => {
  const match = document.querySelector(main).innerText.match(/running · step ([\\d,]+) \\//);
  return match !== null && Number(match[1].replaceAll(",", "")) > least;
}"""


def shown_step(page) -> int:
    text = page.locator("[data-testid=stMain]").inner_text()
    return int(re.search(r"step ([\d,]+) /", text).group(1).replace(",", ""))


def test_a_reload_keeps_the_tabs_training(page, server):
    """A reload is a new Streamlit session: the tab's training is still its own after it,
    running, with Stop and Reset; the theme's switch (in place) leaves it running too."""
    main = "[data-testid=stMain]"
    open_stage(page, f"{server}/train?talk=1&theme=light")
    page.locator(".st-key-t_start button").click()
    page.wait_for_function(RUN_STEP_JS, arg=[main, 0], timeout=60_000)
    before = shown_step(page)
    page.keyboard.press("d")  # dark theme, in place
    expect_theme(page, dark=True)
    page.wait_for_function(RUN_STEP_JS, arg=[main, before], timeout=60_000)
    expect(page.locator(".st-key-t_stop button")).to_be_enabled()
    page.reload()
    page.wait_for_function(RUN_STEP_JS, arg=[main, before], timeout=60_000)
    page.locator(".st-key-t_reset button").click()
    expect(page.get_by_text("Set the hyperparameters and press Start.")).to_be_visible()
