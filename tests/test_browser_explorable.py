"""The one-file explorable (gvae.app.explorable) in Chromium, opened from file:// with the
network off and every request recorded: its size, the app's DOM contract, its embedded
decoder and Gumbel-Softmax pinned to gvae, the editor, the drawing pad, the playground,
the URL hash, the theme, and a phone. Waits are on state, never on time."""

import base64
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import torch_images
from playwright.sync_api import expect
from test_browser_live import (
    DECODE_JS,
    DIGIT,
    GUMBEL_JS,
    SEVEN,
    canvas_grey,
    cell,
    gumbel_cases,
    pad_stroke,
    pressed_code,
    torch_posterior,
)

import gvae
from benchmarks.browser import CHROMIUM
from gvae.app import explorable
from gvae.app.images import to_uint8
from gvae.gumbel import gumbel_softmax

pytestmark = pytest.mark.browser
if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)

READY = "() => document.documentElement.dataset.ready === 'true'"
LOCAL = ("file:", "data:", "blob:")


@pytest.fixture(scope="module")
def model():
    return gvae.load_model()


@pytest.fixture(scope="module")
def html_file(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("explorable") / "gvae.html"
    explorable.write(out)
    return out


class Offline:
    """A browser context with the network off that records every request; any request
    for something other than the file itself, data: or blob: is aborted."""

    def __init__(self, browser, **options):
        self.context = browser.new_context(offline=True, **options)
        self.requests: list[str] = []
        self.context.on("request", lambda r: self.requests.append(r.url))
        self.context.route(
            "**/*",
            lambda route: (
                route.continue_() if route.request.url.startswith(LOCAL) else route.abort()
            ),
        )
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def open(self, url: str):
        self.page.goto(url)
        self.page.wait_for_function(READY)
        self.page.locator(f"{DIGIT}[data-source=page]").wait_for()
        return self.page

    def outside(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(LOCAL)]


@pytest.fixture
def offline(browser):
    o = Offline(browser, viewport={"width": 1280, "height": 720})
    yield o
    assert o.errors == []
    assert o.outside() == []  # nothing left the page
    o.context.close()


def hash_value(page, name: str) -> str:
    return page.evaluate(f"() => new URLSearchParams(location.hash.slice(1)).get('{name}')")


def test_one_file_under_3_mb_with_the_card(html_file, offline):
    assert html_file.stat().st_size <= explorable.MAX_BYTES
    page = offline.open(html_file.as_uri())
    card = page.get_by_test_id("gvae-card")
    expect(card).to_contain_text("gvae-default")
    expect(card).to_contain_text("IW-NLL")
    assert page.locator("[data-testid^=gvae-cell-]").count() == 200
    for testid in (
        "gvae-digit",
        "gvae-draw",
        "gvae-draw-clear",
        "gvae-tau",
        "gvae-bars",
        "gvae-simplex",
    ):
        expect(page.get_by_test_id(testid)).to_have_count(1)
    assert [u for u in offline.requests if u.startswith("file:")] == [html_file.as_uri()]


def test_the_embedded_model_decodes_within_one_grey_level(html_file, offline, model):
    page = offline.open(html_file.as_uri())
    codes = np.random.default_rng(0).integers(10, size=(1000, 20))
    raw = base64.b64decode(page.evaluate(DECODE_JS, ["embedded", codes.tolist()]))
    js = np.frombuffer(raw, dtype="<f8").reshape(1000, 784)
    expected = model.decode_codes(torch.as_tensor(codes)).numpy()
    assert np.abs(js - expected).max() <= 1 / 255


def test_the_files_gumbel_softmax_matches_gvae(html_file, offline):
    page = offline.open(html_file.as_uri())
    cases = list(gumbel_cases())
    got = page.evaluate(GUMBEL_JS, cases)
    for (logits, noise, tau), js in zip(cases, got, strict=True):
        f64 = dict(dtype=torch.float64)
        expected = gumbel_softmax(
            torch.tensor(logits, **f64), tau, noise=torch.tensor(noise, **f64)
        )
        assert np.abs(np.array(js) - expected.numpy()).max() <= 1e-6, (logits, noise, tau)


def test_editing_drawing_and_the_link_that_reopens_it(html_file, offline, model):
    page = offline.open(html_file.as_uri())
    start = pressed_code(page)
    assert hash_value(page, "z") == start
    # Click, then keys: the digit follows, the hash keeps the code.
    k = (int(start[4]) + 3) % 10
    cell(page, 4, k).click()
    code = start[:4] + str(k) + start[5:]
    page.wait_for_function(f"() => location.hash.includes('z={code}')")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("2")
    code = code[:5] + "2" + code[6:]
    page.wait_for_function(f"() => location.hash.includes('z={code}')")
    expected = to_uint8(torch_images(model, [[int(c) for c in code]])[0]).astype(int)
    assert np.abs(canvas_grey(page, DIGIT) - expected).max() <= 1
    page.get_by_test_id("gvae-random").click()
    page.wait_for_function(f"() => !location.hash.includes('z={code}')")
    page.get_by_test_id("gvae-reset").click()  # back to where Random started
    # Draw: the embedded encoder reads it, and the code is the drawing's argmax.
    pad_stroke(page, SEVEN)
    x = np.array(page.evaluate("() => Array.from(window.gvaeLive.editor.drawing.input)"))
    _, q = torch_posterior(model, x)
    drawn = "".join(str(v) for v in q[0].argmax(-1))
    page.wait_for_function(f"() => location.hash.includes('z={drawn}')")
    assert pressed_code(page) == drawn
    # Another link in the same tab (only the hash changes: no page load) is followed.
    other = "0123456789" * 2
    digit = page.get_by_test_id("gvae-digit")
    page.evaluate(f"() => {{ location.hash = 'z={other}&tau=0.2' }}")
    expect(digit).to_have_attribute("data-code", other)
    expect(page.get_by_test_id("gvae-tau")).to_have_attribute("aria-valuetext", "τ = 0.2")
    assert pressed_code(page) == other
    page.evaluate(f"() => {{ location.hash = 'z={drawn}' }}")
    expect(digit).to_have_attribute("data-code", drawn)
    # The link reopens the same code (a new page load of the same URL).
    link = page.url
    page.goto("about:blank")
    page.goto(link)
    page.wait_for_function(READY)
    assert pressed_code(page) == drawn


def test_the_playground_tau_play_k_and_seed(html_file, offline):
    page = offline.open(html_file.as_uri() + "#tau=0.5&seed=3")
    tau = page.get_by_test_id("gvae-tau")
    expect(tau).to_have_attribute("aria-valuetext", "τ = 0.5")
    tau.focus()
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("() => !location.hash.includes('tau=0.5')")
    page.get_by_test_id("gvae-play").click()
    expect(tau).to_have_attribute("aria-valuetext", "τ = 0.01", timeout=15_000)
    page.get_by_test_id("gvae-k").select_option("5")
    expect(page.get_by_test_id("gvae-table").locator("tr")).to_have_count(6)
    expect(page.get_by_test_id("gvae-simplex")).to_be_hidden()  # K = 3 only
    before = page.get_by_test_id("gvae-table").inner_text()
    page.get_by_test_id("gvae-seed").fill("4")
    page.get_by_test_id("gvae-seed").press("Enter")
    page.wait_for_function("() => location.hash.includes('seed=4')")
    expect(page.get_by_test_id("gvae-table")).not_to_have_text(before)


BACKGROUND_JS = "() => getComputedStyle(document.body).backgroundColor"


def test_the_theme_follows_the_system_and_the_toggle(html_file, browser):
    o = Offline(browser, viewport={"width": 1280, "height": 720}, color_scheme="dark")
    page = o.open(html_file.as_uri())
    assert page.evaluate(BACKGROUND_JS) == "rgb(15, 20, 25)"  # the app's dark background
    page.get_by_test_id("gvae-theme").click()
    page.wait_for_function(f"() => ({BACKGROUND_JS})() === 'rgb(255, 255, 255)'")
    assert o.outside() == [] and o.errors == []
    o.context.close()


def test_a_phone_draws_by_touch_without_sideways_scrolling(html_file, browser, model):
    o = Offline(browser, viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    page = o.open(html_file.as_uri())
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    before = pressed_code(page)
    pad_stroke(page, SEVEN, touch=True)
    page.wait_for_function(f"() => !location.hash.includes('z={before}')")
    x = np.array(page.evaluate("() => Array.from(window.gvaeLive.editor.drawing.input)"))
    _, q = torch_posterior(model, x)
    assert pressed_code(page) == "".join(str(v) for v in q[0].argmax(-1))
    assert o.outside() == [] and o.errors == []
    o.context.close()


def test_the_command_writes_the_file_and_refuses_an_unknown_model(tmp_path):
    out = tmp_path / "x.html"
    done = subprocess.run(
        [sys.executable, "-m", "gvae.app.explorable", "--out", str(out), "--model", "gvae-default"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert out.stat().st_size <= explorable.MAX_BYTES and "wrote" in done.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "gvae.app.explorable", "--out", str(out), "--model", "nope"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bad.returncode == 1 and "no model 'nope'" in bad.stderr
