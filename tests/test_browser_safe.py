"""A shared demo, in a real browser against a real server: trainings queue and their workers
end when tabs close or the server stops; URL and card text are shown, never rendered; the
server listens on localhost unless asked otherwise."""

import http.server
import os
import select
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import expect
from test_board import training_workers

from benchmarks.browser import CHROMIUM, MAIN, streamlit_process, wait_rendered

pytestmark = pytest.mark.browser
if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)

SIDEBAR = "[data-testid='stSidebar']"
STATUS_JS = """main => {
  const metric = document.querySelector(main + " [data-testid='stMetric']");
  return metric ? metric.innerText : "";
}"""


def wait_ended(pids, timeout: float = 60.0) -> None:
    """Return when every process in `pids` has ended: a pidfd becomes readable when its
    process exits (Linux), so this waits on the processes' state, without polling."""
    deadline = time.monotonic() + timeout
    for pid in pids:
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            continue  # already gone
        try:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            assert ready, f"process {pid} still runs after {timeout} s"
        finally:
            os.close(fd)


def start_training(browser, url: str):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/train")
    wait_rendered(page)
    page.locator(MAIN).get_by_role("button", name="Start").click()
    return page


def test_trainings_queue_and_end_with_their_tabs(browser, tmp_path):
    env = {"GVAE_MAX_JOBS": "1", "GVAE_IDLE_S": "10"}  # heartbeats can lag on a busy CPU
    with streamlit_process(env, str(tmp_path / "server.log")) as (url, server):
        first = start_training(browser, url)
        first.wait_for_function(f"() => ({STATUS_JS})({MAIN!r}).includes('running')")
        second = start_training(browser, url)
        second.get_by_text("1st in line").wait_for()
        (worker,) = training_workers(server.pid)  # one at a time
        first.close()  # nobody watches the first run: it pauses, the second starts
        second.wait_for_function(
            f"() => ({STATUS_JS})({MAIN!r}).includes('running')", timeout=60_000
        )
        wait_ended([worker])
        (second_worker,) = training_workers(server.pid)
        second.close()
        wait_ended([second_worker])
        assert not training_workers(server.pid)
        # A server stop leaves no worker either.
        third = start_training(browser, url)
        third.wait_for_function(f"() => ({STATUS_JS})({MAIN!r}).includes('running')")
        workers = training_workers(server.pid)
        assert len(workers) == 1
        server.terminate()
        server.wait(timeout=30)
        wait_ended(workers, 30)


class Recorder(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self):  # noqa: N802 (the standard library's name)
        Recorder.requests.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args):
        pass


def external_links(page) -> list[str]:
    """The addresses of the page's links that lead off this app."""
    return page.evaluate(
        "() => [...document.querySelectorAll('a[href]')].map(a => a.href)"
        ".filter(h => !h.startsWith(location.origin))"
    )


def test_url_and_card_text_is_shown_not_rendered(browser, tmp_path):
    import gvae

    listener = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=listener.serve_forever, daemon=True).start()
    there = f"http://127.0.0.1:{listener.server_port}"
    image, link = f"![t]({there}/url.png)", f"[click]({there}/link)"
    card = {
        "command": f"![c]({there}/card.png) `x` <img src={there}/html.png> {there}/bare",
        "train_config": {"estimator": f"[e]({there}/estimator)"},
    }
    gvae.save_model(gvae.CategoricalVAE(), tmp_path / f"hostile{gvae.weights.SUFFIX}", card=card)
    env = {"GVAE_WEIGHTS_DIR": str(tmp_path)}
    with streamlit_process(env, str(tmp_path / "server.log")) as (url, _):
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/?model={quote(image)}")
        wait_rendered(page)
        warning = page.locator(f"{SIDEBAR} [data-testid='stAlert']").first
        assert image in warning.inner_text().replace("\u200b", "")
        page.goto(f"{url}/latent_editor?z={quote(link)}")
        wait_rendered(page)
        warning = page.locator(f"{MAIN} [data-testid='stAlert']").first
        assert link in warning.inner_text().replace("\u200b", "")
        # A bare address is text too (Streamlit links one even with its colon escaped).
        for path, name, value in [
            ("/", "model", f"{there}/bare"),
            ("/latent_editor", "z", f"[x]({there}/z)"),
            ("/", "model", "https://evil.example/x"),
        ]:
            probe = browser.new_page()  # a session of its own: the URL is read on a first run
            probe.goto(f"{url}{path}?{name}={quote(value)}")
            wait_rendered(probe)
            alert = probe.locator("[data-testid='stAlert']").first
            expect(alert).to_contain_text("Unknown model" if name == "model" else "Ignoring")
            assert value in alert.inner_text().replace("\u200b", "")
            assert external_links(probe) == [], (path, value)
            probe.close()
        page.goto(f"{url}/?model=hostile")
        wait_rendered(page)
        text = page.locator(MAIN).inner_text()
        assert card["command"] in text and card["train_config"]["estimator"] in text
        assert external_links(page) == []
        # Nothing a URL or a card held became a link or an image.
        assert page.locator(f"[href*='{there}'], [src*='{there}']").count() == 0
        page.close()
    listener.shutdown()
    assert Recorder.requests == []  # the browser fetched nothing from there


def test_the_server_listens_on_localhost_by_default(tmp_path):
    with streamlit_process(address=None, log_path=str(tmp_path / "server.log")) as (url, _):
        port = int(url.rsplit(":", 1)[1])
        listening = []
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(table) as f:
                for line in f.readlines()[1:]:
                    local, state = line.split()[1], line.split()[3]
                    if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # LISTEN
                        listening.append(local.rsplit(":", 1)[0])
    loopback = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1, ::1
    assert listening and set(listening) <= loopback, listening
