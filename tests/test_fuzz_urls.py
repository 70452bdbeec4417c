"""URL parameters are untrusted input: no value takes a page down, every bad value warns in
plain text, short, and falls back. Issue 18's probes as regression tests, then a
hypothesis fuzz of every page's parameters in AppTest."""

import re
import time

import pytest
from conftest import assert_no_exception, new_app, shown
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_text import AUTOLINK

from gvae.app.params import MAX_SEED

PAGES = ["pages/home.py", "pages/train.py", "pages/latent_editor.py", "pages/playground.py"]
PARAMS = ["model", "z", "p", "tau", "seed"]
# Markdown that would do something if it were rendered: links, images, HTML, code, math.
ACTIVE = re.compile(r"(?<!\\)[\[\]<>`$*_|~!]")
PAGE_TIMEOUT_S = 60  # AppTest fails a run that takes longer: the bound on drawing a page


def warnings_of(at) -> list[str]:
    return [w.value for w in at.warning] + [w.value for w in at.sidebar.warning]


def alerts_of(at) -> list[str]:
    """Every warning and error on the page or in its sidebar."""
    return warnings_of(at) + [e.value for e in at.error] + [e.value for e in at.sidebar.error]


def assert_plain_and_short(at) -> None:
    for value in alerts_of(at):
        assert not ACTIVE.search(value), value  # everything quoted is escaped
        assert not AUTOLINK.search(value), value  # no bare address either
        assert len(shown(value)) < 400, value


# -- the probes of the issue ------------------------------------------------------------
def test_huge_seed_warns_and_falls_back():
    at = new_app({"seed": "18446744073709551616"}, page="pages/playground.py")
    assert_no_exception(at)
    assert at.session_state["pg_seed"] == 0
    assert any("seed" in shown(w) and "Using the default" in shown(w) for w in warnings_of(at))
    at = new_app({"seed": str(MAX_SEED)}, page="pages/playground.py")  # the largest allowed
    assert_no_exception(at)
    assert at.session_state["pg_seed"] == MAX_SEED and not warnings_of(at)
    next(b for b in at.button if "New noise" in b.label).click().run()
    assert_no_exception(at)
    assert at.session_state["pg_seed"] == 0  # wraps around rather than overflow


def test_huge_probabilities_are_normalized_without_overflow():
    at = new_app({"p": "1e308,1e308"}, page="pages/playground.py")
    assert_no_exception(at)
    assert not at.error and at.session_state["pg_probs"] == "0.5, 0.5"


@pytest.mark.parametrize("tau", ["nan", "inf", "-1", "1000", "0.001", "1e999", "x"])
def test_tau_outside_the_slider_warns_and_falls_back(tau):
    at = new_app({"tau": tau}, page="pages/playground.py")
    assert_no_exception(at)
    assert at.session_state["pg_tau"] == 1.0
    assert any("Ignoring the URL parameter tau" in shown(w) for w in warnings_of(at))


def test_markdown_in_the_url_is_shown_as_text():
    image = "![t](http://127.0.0.1:9/x.png)"
    at = new_app({"model": image}, page="pages/home.py")
    assert_no_exception(at)
    (warning,) = at.sidebar.warning
    assert image in shown(warning.value) and not ACTIVE.search(warning.value)
    link = "[click](http://127.0.0.1:9/)"
    at = new_app({"z": link}, page="pages/latent_editor.py")
    assert_no_exception(at)
    assert any(link in shown(w) for w in warnings_of(at))
    assert_plain_and_short(at)


def test_a_long_value_is_cut_in_the_message():
    at = new_app({"z": "7" * 100_000}, page="pages/latent_editor.py")
    assert_no_exception(at)
    (warning,) = warnings_of(at)
    assert "…" in shown(warning) and len(shown(warning)) < 400
    assert len(at.session_state["code"]) == 20  # the default code


# -- the fuzz ----------------------------------------------------------------------------
numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["1e308", "-0", "0x10", "1_000", " 3 ", "", "nan", "1e-320"]),
)
values = st.one_of(
    numbers,
    st.lists(numbers, min_size=0, max_size=12).map(",".join),
    st.text(max_size=40),
    st.text(alphabet="0123456789,", max_size=45),
    st.sampled_from(["![t](http://127.0.0.1:9/x.png)", "[a](javascript:1)", "<b>x</b>", ":red[x]"]),
    st.sampled_from(["http://evil.example/x", "[x](http://evil.example)", "www.evil.example"]),
    st.text(alphabet="9", min_size=1001, max_size=1200),
)
queries = st.dictionaries(st.sampled_from(PARAMS), values, max_size=4)


@pytest.mark.parametrize("page", PAGES)
@settings(
    max_examples=5,
    deadline=None,
    derandomize=True,  # the same examples on every run: a failure reproduces
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(query=queries)
@example(query={"seed": "18446744073709551616", "p": "1e308,1e308", "tau": "nan"})
@example(query={"model": "![t](http://127.0.0.1:9/x.png)", "z": "[click](http://x)"})
@example(query={"model": "http://evil.example/x", "z": "[x](http://evil.example)"})
def test_no_url_takes_a_page_down(page, query):
    started = time.perf_counter()
    at = new_app(query, page=page, timeout=PAGE_TIMEOUT_S)
    assert_no_exception(at)
    assert at.title, "the page was drawn"  # every page has a title
    assert_plain_and_short(at)
    assert time.perf_counter() - started < PAGE_TIMEOUT_S
