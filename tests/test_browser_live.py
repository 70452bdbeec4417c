"""The live components in Chromium: the page's decoder and Gumbel-Softmax pinned to gvae,
the DOM contract, the interactions, the 1280 x 720 fit, and no request leaving the app.

Waits are on state (Playwright's locators, expect, wait_for_function), never on time.
"""

import base64
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import torch_images
from playwright.sync_api import expect

import gvae
from benchmarks.browser import CHROMIUM, wait_rendered
from gvae.app.images import to_uint8
from gvae.app.latent import format_code, interpolation_path
from gvae.app.live import pixel_thresholds
from gvae.gumbel import gumbel_softmax, sample_gumbel

pytestmark = pytest.mark.browser
if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)

DIGIT = "[data-testid=gvae-digit]"
READY = "[data-testid=gvae-digit][data-source=page]"  # drawn by the page's own decoder


@pytest.fixture(scope="module")
def model():
    return gvae.load_model()


class Session:
    """A page at 1280 x 720 that counts what it sends to the server and where it fetches."""

    def __init__(self, browser):
        self.page = browser.new_page(viewport={"width": 1280, "height": 720})
        self.sent = 0  # websocket frames to the server: each is a rerun request or the like
        self.requests = []
        self.page.on("websocket", lambda ws: ws.on("framesent", self._count))
        self.page.on("request", lambda r: self.requests.append(r.url))

    def _count(self, _payload):
        self.sent += 1

    def open(self, url: str) -> None:
        self.page.goto(url)
        wait_rendered(self.page)
        # A session's first page draws the preloaded elements (pages.common) through one
        # rerun request of its own: done before the hand's requests are counted.
        preloaded = self.page.locator(".st-key-gvae-preloaded .js-plotly-plot").first
        expect(preloaded).to_be_attached(timeout=30_000)
        wait_rendered(self.page)


@pytest.fixture
def session(browser):
    s = Session(browser)
    yield s
    s.page.close()


def open_editor(session, server, z: str):
    session.open(f"{server}/latent_editor?z={z}")
    session.page.locator(READY).wait_for()
    return session.page


def cell(page, i: int, k: int):
    return page.locator(f"[data-testid=gvae-cell-{i}-{k}]")


def wait_url_code(page, code: str) -> None:
    page.wait_for_function(f"() => location.search.includes('z={code}')")


def canvas_grey(page, selector: str) -> np.ndarray:
    data = page.locator(selector).evaluate(
        "c => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)"
    )
    return np.array(data, dtype=np.int64)[0::4].reshape(28, 28)  # red = green = blue


def pressed_code(page) -> str:
    """The code as the grid shows it: the category with aria-pressed="true" per variable."""
    cells = page.locator("[data-testid^=gvae-cell-][aria-pressed=true]")
    found = cells.evaluate_all("cs => cs.map(c => c.dataset.testid)")
    by_variable = dict(tuple(map(int, t.split("-")[2:])) for t in found)
    assert len(found) == 20 and sorted(by_variable) == list(range(20)), found
    return "".join(str(by_variable[i]) for i in range(20))


# -- pinning: the page's numerics against gvae ------------------------------------------
DECODE_JS = """async ([version, codes]) => {
  const dec = await window.gvaeLive.decoders.get(version);
  const means = window.gvaeLive.numerics.decodeBatch(dec, codes);
  let s = ""; const bytes = new Uint8Array(means.buffer);
  for (let i = 0; i < bytes.length; i += 32768) s += String.fromCharCode(...bytes.subarray(i, i + 32768));
  return btoa(s);
}"""


def test_the_page_decodes_like_decode_codes(session, server, model):
    page = open_editor(session, server, "0" * 20)
    version = page.evaluate("() => [...window.gvaeLive.decoders.keys()][0]")
    codes = np.random.default_rng(0).integers(10, size=(1000, 20))
    raw = base64.b64decode(page.evaluate(DECODE_JS, [version, codes.tolist()]))
    js = np.frombuffer(raw, dtype="<f8").reshape(1000, 784)
    expected = model.decode_codes(torch.as_tensor(codes)).numpy()
    assert np.isfinite(js).all()
    assert np.abs(js - expected).max() <= 1e-4


GUMBEL_JS = """(cases) => cases.map(([logits, noise, tau]) =>
  Array.from(window.gvaeLive.numerics.gumbelSoftmax(logits, noise, tau)))"""


def gumbel_cases():
    rng = np.random.default_rng(1)
    generator = torch.Generator().manual_seed(1)
    for k in range(2, 11):
        noise = sample_gumbel((6, k), generator, torch.float64).tolist()
        extreme = np.where(np.arange(k) % 2 == 0, 1e4, -1e4)
        tiny = np.log(np.maximum(np.r_[1e-30, rng.dirichlet(np.ones(k - 1))], 1e-30))
        zeros = np.log(np.maximum(np.r_[np.zeros(k - 1), 1.0], 1e-30))  # pi = 0 floored
        logit_sets = [rng.normal(size=k), 30 * rng.normal(size=k), extreme, -extreme, tiny, zeros]
        for tau in (0.01, 0.1, 1.0, 10.0):
            for logits, g in zip(logit_sets, noise):
                yield list(map(float, logits)), g, tau


def test_the_pages_gumbel_softmax_matches_gvae(session, server):
    session.open(f"{server}/playground")
    page = session.page
    page.locator("[data-testid=gvae-tau]").wait_for()
    cases = list(gumbel_cases())
    assert len(cases) == 9 * 4 * 6
    js = page.evaluate(GUMBEL_JS, cases)
    for (logits, noise, tau), y in zip(cases, js):
        expected = gumbel_softmax(
            torch.tensor(logits, dtype=torch.float64),
            tau,
            noise=torch.tensor(noise, dtype=torch.float64),
        ).numpy()
        assert all(v is not None and np.isfinite(v) for v in y), (logits, noise, tau, y)
        assert np.abs(np.array(y) - expected).max() <= 1e-6, (logits, noise, tau)


def test_the_pages_pixel_thresholds_equal_pythons(session, server):
    session.open(f"{server}/playground")
    session.page.locator("[data-testid=gvae-tau]").wait_for()
    js = session.page.evaluate("() => Array.from(window.gvaeLive.numerics.pixelThresholds(784))")
    assert np.array_equal(np.array(js), pixel_thresholds(784))


# -- the editor -------------------------------------------------------------------------
def in_view_without_scrolling(page, width: int, height: int) -> None:
    """All 200 cells and a digit of at least 360 px inside the viewport, unscrolled."""
    boxes = page.locator("[data-testid^=gvae-cell-]").evaluate_all(
        "cs => cs.map(c => { const r = c.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })"
    )
    digit = page.locator(DIGIT).bounding_box()
    assert digit["width"] >= 360 and digit["height"] >= 360
    digit_box = [digit["x"], digit["y"], digit["x"] + digit["width"], digit["y"] + digit["height"]]
    for left, top, right, bottom in [*boxes, digit_box]:
        assert min(left, top) >= 0 and right <= width and bottom <= height, (
            left,
            top,
            right,
            bottom,
        )
    assert page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollTop") == 0


def test_dom_contract_fit_and_the_same_digit_as_the_server(session, server, model):
    code = "12345678901234567890"
    page = open_editor(session, server, code)
    assert pressed_code(page) == code
    assert page.locator("[data-testid^=gvae-cell-]").count() == 200
    expect(cell(page, 3, 7)).to_have_attribute("aria-pressed", "false")
    expect(cell(page, 3, 4)).to_have_attribute("aria-pressed", "true")
    # The page's picture is the server's: same code, same grey levels (within rounding).
    expected = to_uint8(torch_images(model, [[int(c) for c in code]])[0]).astype(int)
    assert np.abs(canvas_grey(page, DIGIT) - expected).max() <= 1
    # At 1280 x 720, all 200 cells and a digit of at least 360 px, without scrolling,
    # with the explanations shown and in talk mode (larger type, explanations cut short).
    in_view_without_scrolling(page, 1280, 720)
    page.get_by_text("Talk mode (t)").click()
    page.locator(".gv-talk").first.wait_for()
    wait_rendered(page)
    in_view_without_scrolling(page, 1280, 720)


def test_choosing_another_model_redraws_with_its_decoder(session, server):
    code = "31415926535897932384"
    page = open_editor(session, server, code)
    first = canvas_grey(page, DIGIT)
    page.locator("[data-testid=stSidebar] [data-testid=stSelectbox]").click()
    page.get_by_role("option", name="gvae-gumbel").click()
    page.wait_for_function("() => location.search.includes('model=gvae-gumbel')")
    entry = next(e for e in gvae.list_weights() if e.name == "gvae-gumbel")  # any file format
    other = gvae.load_model(entry.path)
    expected = to_uint8(torch_images(other, [[int(c) for c in code]])[0]).astype(int)
    page.wait_for_function(
        """() => window.gvaeLive.editor.decoder && [...window.gvaeLive.decoders.keys()].length == 2"""
    )
    page.locator(READY).wait_for()
    assert np.abs(canvas_grey(page, DIGIT) - expected).max() <= 1
    assert np.abs(first - expected).max() > 1  # another model, another picture


def test_click_hover_and_keys_draw_at_once_and_sync_when_settled(session, server):
    page = open_editor(session, server, "0" * 20)
    digit = page.locator(DIGIT)
    before = canvas_grey(page, DIGIT)
    cell(page, 3, 7).click()
    expect(cell(page, 3, 7)).to_have_attribute("aria-pressed", "true")
    expect(cell(page, 3, 0)).to_have_attribute("aria-pressed", "false")
    expect(digit).to_have_attribute("data-code", "00070000000000000000")
    wait_url_code(page, "00070000000000000000")  # Python has it
    assert np.abs(canvas_grey(page, DIGIT) - before).max() > 0
    # Hover previews the change and leaving restores the code; nothing is sent.
    sent = session.sent
    cell(page, 5, 2).hover()
    expect(digit).to_have_attribute("data-code", "00070200000000000000")
    page.mouse.move(5, 700)
    expect(digit).to_have_attribute("data-code", "00070000000000000000")
    assert session.sent == sent
    # Keyboard: arrows move the cursor (and preview), a digit key sets the variable.
    cell(page, 3, 7).focus()
    page.keyboard.press("ArrowDown")
    expect(digit).to_have_attribute("data-code", "00077000000000000000")  # previews z4 = 7
    page.keyboard.press("5")
    expect(cell(page, 4, 5)).to_have_attribute("aria-pressed", "true")
    expect(digit).to_have_attribute("data-code", "00075000000000000000")
    wait_url_code(page, "00075000000000000000")
    assert page.locator("[data-testid='stException']").count() == 0


def test_drag_paints_cells_without_a_rerun_until_release(session, server):
    page = open_editor(session, server, "0" * 20)
    first, last = cell(page, 0, 2).bounding_box(), cell(page, 9, 2).bounding_box()
    x = first["x"] + first["width"] / 2
    page.mouse.move(x, first["y"] + first["height"] / 2)
    page.mouse.down()
    sent = session.sent
    page.mouse.move(x, last["y"] + last["height"] / 2, steps=20)
    expect(page.locator(DIGIT)).to_have_attribute("data-code", "2" * 10 + "0" * 10)
    assert pressed_code(page) == "2" * 10 + "0" * 10
    assert session.sent == sent  # no rerun while the button is held
    page.mouse.up()
    wait_url_code(page, "2" * 10 + "0" * 10)
    assert session.sent == sent + 1  # one rerun for the whole stroke


def test_toolbar_buttons_and_binary_sample(session, server):
    page = open_editor(session, server, "1" * 20)
    digit = page.locator(DIGIT)
    page.get_by_test_id("gvae-random").click()
    page.wait_for_function(
        "() => !location.search.includes('z=11111111111111111111')"
    )  # (a random code equal to the old one has probability 1e-20)
    random_code = digit.get_attribute("data-code")
    page.get_by_test_id("gvae-randomize-one").click()
    expect(digit).not_to_have_attribute("data-code", random_code)
    one = digit.get_attribute("data-code")
    assert sum(a != b for a, b in zip(one, random_code)) == 1
    page.get_by_test_id("gvae-reset").click()  # back to the start: the random code
    expect(digit).to_have_attribute("data-code", random_code)
    wait_url_code(page, random_code)
    page.get_by_test_id("gvae-sample").check()
    page.wait_for_function(
        """() => { const c = document.querySelector('[data-testid=stBidiComponentIsolated]')
            .shadowRoot.querySelector('[data-testid=gvae-digit]');
          const d = c.getContext('2d').getImageData(0, 0, 28, 28).data;
          return d.every((v, i) => i % 4 === 3 || v === 0 || v === 255); }"""
    )


def test_atlas_click_and_interpolation_scrubber(session, server):
    page = open_editor(session, server, "0" * 20)
    atlas = page.get_by_test_id("gvae-atlas")
    atlas.scroll_into_view_if_needed()
    expect(atlas).to_have_attribute("data-code", "0" * 20)  # all 200 cells decoded
    geometry = atlas.evaluate("c => c.getBoundingClientRect().toJSON()")
    # Tiles are 40 px with 4 px gaps after a 34 px label column and a 22 px header.
    x = geometry["x"] + 34 + 6 * 44 + 20
    y = geometry["y"] + 22 + 4 * 44 + 20
    page.mouse.click(x, y)  # z4 = 6
    wait_url_code(page, "00006000000000000000")
    expect(atlas).to_have_attribute("data-code", "00006000000000000000")
    expect(cell(page, 4, 6)).to_have_attribute("aria-pressed", "true")
    # The interpolation follows the code; the scrubber walks the path A -> B.
    b = [int(v) for v in np.arange(20) % 10]
    path = interpolation_path([0, 0, 0, 0, 6] + [0] * 15, b)
    frame = page.get_by_test_id("gvae-interp-frame")
    frame.scroll_into_view_if_needed()
    expect(frame).to_have_attribute("data-code", format_code(path[0]))
    scrub = page.get_by_test_id("gvae-scrub")
    scrub.focus()
    for t in range(1, 4):
        page.keyboard.press("ArrowRight")
        expect(frame).to_have_attribute("data-code", format_code(path[t]))
    page.keyboard.press("End")
    expect(frame).to_have_attribute("data-code", format_code(b))


def test_no_request_leaves_the_app(session, server):
    page = open_editor(session, server, "0" * 20)
    cell(page, 2, 2).click()
    wait_url_code(page, "00200000000000000000")
    session.open(f"{server}/playground")
    page.locator("[data-testid=gvae-tau]").wait_for()
    page.locator("[data-testid=gvae-tau]").focus()
    page.keyboard.press("ArrowLeft")
    host = re.escape(server)
    outside = [u for u in session.requests if not re.match(rf"({host}/|blob:{host}/|data:)", u)]
    # app.py's page icon (":material/casino:") is fetched by Streamlit from Google's font
    # server: the stage-mode issue ships icons with the app. Nothing else may leave.
    favicon = "https://fonts.gstatic.com/s/i/short-term/release/materialsymbolsrounded/casino/"
    assert [u for u in outside if not u.startswith(favicon)] == []


# -- the playground ---------------------------------------------------------------------
def table_column(page, column: int) -> list[float]:
    rows = page.get_by_test_id("gvae-table").locator("tr").all_inner_texts()[1:]
    return [float(r.split("\t")[column]) for r in rows]


def page_tau(page) -> float:
    text = page.get_by_test_id("gvae-tau").get_attribute("aria-valuetext")
    return float(text.removeprefix("τ = "))


def test_dragging_tau_moves_everything_from_the_servers_draw(session, server):
    session.open(f"{server}/playground?tau=1&seed=3")
    page = session.page
    slider = page.get_by_test_id("gvae-tau")
    box = slider.bounding_box()
    y = box["y"] + box["height"] / 2
    x_of = lambda log_tau: box["x"] + box["width"] * (log_tau + 2) / 3  # noqa: E731
    noise = pg_noise(3, 3)
    page.mouse.move(x_of(0), y)
    page.mouse.down()
    sent = session.sent
    seen = set()
    for log_tau in np.linspace(0, -1.5, 6)[1:]:
        page.mouse.move(x_of(log_tau), y, steps=3)
        tau = page_tau(page)
        assert tau < 1 and tau not in seen
        seen.add(tau)
        soft = soft_sample([0.05, 0.25, 0.7], noise, tau)
        page.wait_for_function(  # the table follows while the button is held
            "([t, s]) => document.querySelector('[data-testid=stBidiComponentIsolated]')"
            ".shadowRoot.querySelector('[data-testid=gvae-soft-0]').textContent === s",
            arg=[tau, f"{soft[0]:.4f}"],
        )
        assert np.abs(np.array(table_column(page, 3)) - soft).max() <= 5e-5
    assert session.sent == sent  # no rerun while dragging
    page.mouse.up()
    tau = page_tau(page)
    page.wait_for_function(f"() => location.search.includes('tau={tau:g}')")
    assert session.sent == sent + 1
    assert page.locator("[data-testid='stException']").count() == 0


def test_dragging_a_pi_bar_sets_pi(session, server):
    session.open(f"{server}/playground?tau=1&p=0.05,0.25,0.7")
    page = session.page
    bars = page.get_by_test_id("gvae-bars")
    page.get_by_test_id("gvae-tau").wait_for()
    bars.scroll_into_view_if_needed()
    box = bars.bounding_box()
    # Red's group is the first third of the plot; drag its pi bar up to about 0.5.
    x = box["x"] + box["width"] * 0.2
    page.mouse.move(x, box["y"] + box["height"] * 0.8)
    page.mouse.down()
    page.mouse.move(x, box["y"] + box["height"] * 0.5, steps=5)
    pi = table_column(page, 1)
    assert pi[0] > 0.3 and abs(sum(pi) - 1) < 1e-3
    assert pi[1] / pi[2] == pytest.approx(0.25 / 0.7, rel=1e-2)  # the others keep their ratio
    page.mouse.up()
    page.wait_for_function("() => !location.search.includes('p=0.05')")
    box = page.get_by_label(re.compile("Class probabilities"))
    expect(box).not_to_have_value("0.05, 0.25, 0.7")
    text = box.input_value()
    assert [float(v) for v in text.split(",")] == pytest.approx(pi, abs=1e-4)


def test_play_sweeps_tau_down_to_the_argmax(session, server):
    session.open(f"{server}/playground?tau=1")
    page = session.page
    page.get_by_test_id("gvae-play").click()
    page.wait_for_function("() => location.search.includes('tau=0.01')", timeout=15_000)
    assert page_tau(page) == 0.01
    assert table_column(page, 3) == pytest.approx(table_column(page, 4), abs=1e-3)


def pg_noise(k: int, seed: int) -> np.ndarray:
    from gvae.app.playground import fixed_noise

    return fixed_noise(k, seed)


def soft_sample(probs, noise, tau: float) -> np.ndarray:
    from gvae.app.playground import soft_sample as python_soft_sample

    return python_soft_sample(np.array(probs), noise, tau)


def test_the_live_benchmark_runs_end_to_end():
    """`python -m benchmarks.browser live` in a tiny mode (its numbers are not asserted)."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.browser", "live", "--gestures", "2", "--strokes", "1"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows = ["click a cell", "hover a cell", "drag-paint", "draw on the pad", "τ drag step"]
    for row in [*rows, "per edit's rerun"]:
        assert row in result.stdout, result.stdout


def test_without_the_pages_decoder_the_server_draws_the_same_digit(session, server, model):
    """The decoder blocked: the page shows the server's picture, and edits still work."""
    page = session.page
    page.route("**/*.bin", lambda route: route.abort())
    session.open(f"{server}/latent_editor?z={'0' * 20}")
    digit = page.locator(DIGIT)
    expect(digit).to_have_attribute("data-source", "server")
    expect(digit).to_have_attribute("data-drawn", "0" * 20)
    expected = to_uint8(torch_images(model, [[0] * 20])[0]).astype(int)
    assert np.array_equal(canvas_grey(page, DIGIT), expected)
    expect(page.locator(".gv-badge")).to_contain_text("the server draws instead")
    cell(page, 6, 3).click()
    wait_url_code(page, "00000030000000000000")
    expect(digit).to_have_attribute("data-drawn", "00000030000000000000")
    code = [0] * 6 + [3] + [0] * 13
    expected = to_uint8(torch_images(model, [code])[0]).astype(int)
    assert np.array_equal(canvas_grey(page, DIGIT), expected)


def test_changing_k_on_the_server_redraws_the_page_with_its_draw(session, server):
    session.open(f"{server}/playground?tau=0.5&seed=2")
    page = session.page
    page.get_by_test_id("gvae-tau").wait_for()
    k_box = page.get_by_label("K", exact=True)
    k_box.fill("5")
    k_box.press("Enter")
    rows = page.get_by_test_id("gvae-table").locator("tr")
    expect(rows).to_have_count(6)  # a header and K = 5 rows
    noise = pg_noise(5, 2)
    probs = np.array([0.067, 0.133, 0.2, 0.267, 0.333])  # the page's default for K = 5
    expected = soft_sample(probs / probs.sum(), noise, 0.5)
    page.wait_for_function("() => !location.search.includes('p=0.05')")
    assert np.abs(np.array(table_column(page, 2)) - noise).max() <= 5e-5
    assert np.abs(np.array(table_column(page, 3)) - expected).max() <= 5e-5
    expect(page.get_by_test_id("gvae-simplex")).to_be_hidden()  # K = 3 only


# -- the drawing pad: the page's encoder, MNIST's centring, q(z|x) as the hand draws -------
PAD = "[data-testid=gvae-draw]"
ENCODE_JS = """async ([version, images]) => {
  const model = await window.gvaeLive.decoders.get(version);
  return Array.from(window.gvaeLive.numerics.encodeBatch(model, images.flat()));
}"""


def mnist_test_images(n: int) -> np.ndarray:
    from gvae.data import mnist_uint8, resolve_data_dir

    images, _ = mnist_uint8(str(resolve_data_dir()), train=False, download=False)
    return images[:n].astype(np.float64) / 255  # (n, 784) grey levels in [0, 1]


def torch_posterior(model, images) -> tuple[np.ndarray, np.ndarray]:
    """CategoricalVAE.encode in float64 on the model's float32 weights (what the page
    computes): logits and q, (B, N, K) each."""
    import copy

    double = copy.deepcopy(model).double()
    with torch.no_grad():
        logits = double.encode(torch.as_tensor(np.asarray(images).reshape(-1, 784)))
    return logits.numpy(), torch.softmax(logits, -1).numpy()


def test_the_pages_encoder_matches_encode(session, server, model):
    page = open_editor(session, server, "0" * 20)
    version = page.evaluate("() => [...window.gvaeLive.decoders.keys()][0]")
    images = mnist_test_images(200)
    js = np.array(page.evaluate(ENCODE_JS, [version, images.tolist()])).reshape(200, 20, 10)
    logits, _ = torch_posterior(model, images)
    assert np.abs(js - logits).max() <= 1e-5
    with torch.no_grad():  # and the float32 model itself, within its own rounding
        single = model.encode(torch.as_tensor(images, dtype=torch.float32)).numpy()
    assert np.abs(js - single).max() <= 1e-5 * max(1.0, np.abs(single).max())


MNIST_INPUT_JS = """([ink, w, h]) => Array.from(window.gvaeLive.numerics.mnistInput(ink, w, h))"""


def centre_of_mass(image: np.ndarray) -> np.ndarray:
    ys, xs = np.mgrid[:28, :28]
    return np.array([(image * ys).sum(), (image * xs).sum()]) / image.sum()


def test_a_drawing_is_scaled_and_centred_as_mnist_digits_are(session, server):
    """A test digit 20 px tall, blown up ten times and drawn off-centre on a pad, comes
    back exactly: its box scaled to 20 px, its centre of mass at (14, 14)."""
    page = open_editor(session, server, "0" * 20)
    images = mnist_test_images(100).reshape(-1, 28, 28)
    heights = (images > 0).any(axis=2).sum(axis=1)
    off = [np.abs(centre_of_mass(im) - 14).max() for im in images]
    index = next(j for j in range(100) if heights[j] == 20 and off[j] < 0.4)
    digit = images[index]
    pad = np.zeros((320, 300))  # (h, w)
    pad[37:317, 3:283] = np.kron(digit, np.ones((10, 10)))  # low and to the left
    got = np.array(page.evaluate(MNIST_INPUT_JS, [pad.ravel().tolist(), 300, 320])).reshape(28, 28)
    assert np.abs(got - digit).max() < 1e-12
    assert page.evaluate(MNIST_INPUT_JS.replace("Array.from", ""), [[0] * 100, 10, 10]) is None


def pad_stroke(page, points, touch: bool = False) -> None:
    """Draw through `points` (fractions of the pad) with the mouse, or with one finger
    (Chrome's touch events, which the page receives as pointer events)."""
    pad = page.locator(PAD)
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    at = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in points]
    if not touch:
        page.mouse.move(*at[0])
        page.mouse.down()
        for x, y in at[1:]:
            page.mouse.move(x, y, steps=10)
        page.mouse.up()
        return
    cdp = page.context.new_cdp_session(page)

    def touch_event(kind, x=None, y=None):
        points = [] if x is None else [{"x": x, "y": y, "id": 1}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    touch_event("touchStart", *at[0])
    for (x0, y0), (x1, y1) in zip(at, at[1:], strict=False):
        for f in range(1, 11):
            touch_event("touchMove", x0 + (x1 - x0) * f / 10, y0 + (y1 - y0) * f / 10)
    touch_event("touchEnd")


SEVEN = [(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)]
ZERO = [(0.5, 0.15), (0.25, 0.35), (0.3, 0.75), (0.55, 0.85), (0.72, 0.6), (0.7, 0.25), (0.5, 0.15)]


def drawn_input(page) -> np.ndarray:
    return np.array(page.evaluate("() => Array.from(window.gvaeLive.editor.drawing.input)"))


def check_the_drawing(page, model) -> str:
    """The page's reading of its drawing is CategoricalVAE's: the code, q's shading and
    certainty, the KL, the reconstruction; returns the code."""
    x = drawn_input(page)
    assert np.abs(centre_of_mass(x.reshape(28, 28)) - 14).max() <= 0.5
    ink = x.reshape(28, 28) > 0
    assert max(ink.any(axis=1).sum(), ink.any(axis=0).sum()) == 20  # the 20 px box
    _, q = torch_posterior(model, x)
    code = "".join(str(v) for v in q[0].argmax(-1))
    wait_url_code(page, code)
    assert pressed_code(page) == code
    sure = [page.get_by_test_id(f"gvae-certainty-{i}").inner_text() for i in range(20)]
    assert sure == [f"{v:.2f}" for v in q[0].max(-1)]
    shade = float(cell(page, 5, 3).evaluate("c => c.style.getPropertyValue('--q')"))
    assert abs(shade - q[0, 5, 3]) <= 0.05 + 1e-9  # shaded in tenths
    kl = float(page.get_by_test_id("gvae-draw-stats").get_attribute("data-kl"))
    assert abs(kl - (q[0] * np.log(q[0] * 10)).sum()) <= 1e-3
    expected = to_uint8(torch_images(model, [[int(c) for c in code]])[0]).astype(int)
    assert np.abs(canvas_grey(page, DIGIT) - expected).max() <= 1
    fed = canvas_grey(page, "[data-testid=gvae-draw-input]")
    assert np.abs(fed - to_uint8(x.reshape(28, 28))).max() <= 1  # the pad shows its input
    return code


def test_drawing_sets_the_code_from_q_then_the_code_edits_as_usual(session, server, model):
    page = open_editor(session, server, "0" * 20)
    stats = page.get_by_test_id("gvae-draw-stats")
    expect(stats).to_contain_text("Draw a digit")
    pad_stroke(page, SEVEN)
    code = check_the_drawing(page, model)
    expect(stats).to_contain_text("KL to prior")
    # A stroke more: read again, the whole drawing.
    pad_stroke(page, [(0.35, 0.5), (0.7, 0.5)])
    code = check_the_drawing(page, model)
    # Edit a cell afterwards: the digit follows the code, the URL keeps it.
    k = (int(code[2]) + 1) % 10
    cell(page, 2, k).click()
    edited = code[:2] + str(k) + code[3:]
    wait_url_code(page, edited)
    expected = to_uint8(torch_images(model, [[int(c) for c in edited]])[0]).astype(int)
    assert np.abs(canvas_grey(page, DIGIT) - expected).max() <= 1
    # Clear: the pad, q and its numbers go; the code stays.
    page.get_by_test_id("gvae-draw-clear").click()
    expect(stats).to_contain_text("Draw a digit")
    expect(page.get_by_test_id("gvae-certainty-0")).to_have_text("")
    assert float(cell(page, 5, 3).evaluate("c => c.style.getPropertyValue('--q')")) == 0
    assert canvas_grey(page, "[data-testid=gvae-draw-input]").max() == 0
    assert pressed_code(page) == edited


def test_drawing_by_touch_on_a_phone(browser, server, model):
    page = browser.new_page(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    try:
        page.goto(f"{server}/latent_editor?z={'0' * 20}")
        wait_rendered(page)
        page.locator(READY).wait_for()
        pad_stroke(page, ZERO, touch=True)
        check_the_drawing(page, model)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        page.close()
