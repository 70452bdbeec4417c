"""URL parameters of the article's section pages, the Talk and Export pages are untrusted
input too: no value takes a page down, and every bad value warns in plain text and falls
back (the same rules as tests/test_fuzz_urls.py, for the pages of issue 16)."""

import pytest
from conftest import assert_no_exception, new_app
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_fuzz_urls import assert_plain_and_short, values, warnings_of

PAGES = {
    "pages/kl.py": ["p", "q", "digit", "sorted", "preset"],
    "pages/elbo.py": ["digit", "n", "seed"],
    "pages/reparameterization.py": ["mu", "sigma", "n", "seed"],
    "pages/gumbel.py": ["p", "u", "seed", "tau", "digit"],
    "pages/implementation.py": ["bug"],
    "pages/talk.py": ["slide"],
    "pages/export.py": ["z", "digit"],
}


@pytest.mark.parametrize("page", PAGES)
@settings(
    max_examples=3,
    deadline=None,
    derandomize=True,  # the same examples on every run: a failure reproduces
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
@example(data=None)  # the nastiest values at once, below
def test_no_url_takes_a_section_page_down(page, data):
    names = PAGES[page]
    if data is None:
        query = dict.fromkeys(names, "nan")
        query.update({k: "[a](javascript:1)" for k in names[:1]})
    else:
        query = data.draw(st.dictionaries(st.sampled_from(names), values, max_size=3))
    at = new_app(query, page=page, timeout=120)
    assert_no_exception(at)
    assert at.title, "the page was drawn"
    assert_plain_and_short(at)


@pytest.mark.parametrize(
    "page, query, key, fallback",
    [
        ("pages/elbo.py", {"n": "5"}, "elbo_n", 16),  # not one of the slider's stops
        ("pages/reparameterization.py", {"mu": "inf"}, "rp_mu", 1.0),
        ("pages/reparameterization.py", {"sigma": "0"}, "rp_sigma", 0.5),
        ("pages/gumbel.py", {"tau": "-1"}, "gb_tau", 1.0),
        ("pages/gumbel.py", {"u": "1.5"}, "gb_u", 0.31),
        ("pages/implementation.py", {"bug": "nope"}, "impl_bug", "relu_logits"),
        ("pages/kl.py", {"digit": "30"}, "kl_digit", 0),
    ],
)
def test_out_of_range_values_warn_and_fall_back(page, query, key, fallback):
    at = new_app(query, page=page)
    assert_no_exception(at)
    assert at.session_state[key] == fallback
    (name,) = query
    assert any(f"Ignoring the URL parameter {name}" in w for w in warnings_of(at))


def test_a_url_value_between_slider_steps_lands_on_a_step():
    at = new_app({"mu": "1.04", "tau": "0.7", "u": "0.3104"}, page="pages/reparameterization.py")
    assert at.session_state["rp_mu"] == 1.0
    at = new_app({"tau": "0.7", "u": "0.3104"}, page="pages/gumbel.py")
    assert at.session_state["gb_u"] == 0.31 and at.session_state["gb_tau"] in (0.631, 0.794)
