"""AppTest of the Gumbel playground: tau, fixed noise, Gumbel-Max, estimators."""

import json

import numpy as np
import pytest
from conftest import assert_no_exception, new_app

PAGE = "pages/playground.py"


def chart(at, title_part: str) -> dict:
    for c in at.get("plotly_chart"):
        spec = json.loads(c.proto.spec)
        title = spec["layout"].get("title", {})
        if title_part in (title.get("text", "") if isinstance(title, dict) else str(title)):
            return spec
    raise AssertionError(f"no chart titled {title_part!r}")


def soft_values(at) -> list[float]:
    bars = chart(at, "One Gumbel draw")["data"]
    return next(b for b in bars if b["name"].startswith("soft"))["y"]


def entropy(at) -> float:
    return float(next(m for m in at.metric if "Entropy" in m.label).value)


@pytest.fixture(scope="module")
def at():
    return new_app(page=PAGE)


def test_page_renders(at):
    assert_no_exception(at)
    assert not at.error
    assert at.text_input(key="pg_probs").value == "0.05, 0.25, 0.7"


def test_moving_tau_changes_the_bar_chart(at):
    at.select_slider(key="pg_tau").set_value(1.0).run()
    before = soft_values(at)
    at.select_slider(key="pg_tau").set_value(0.1).run()
    assert_no_exception(at)
    after = soft_values(at)
    assert before != after
    assert at.query_params["tau"] == "0.1"


def test_entropy_falls_monotonically_as_tau_decreases_for_fixed_noise(at):
    taus = sorted(at.select_slider(key="pg_tau").options, key=float, reverse=True)
    entropies = []
    for tau in taus[::3]:
        at.select_slider(key="pg_tau").set_value(float(tau)).run()
        entropies.append(entropy(at))
    assert all(a >= b - 1e-3 for a, b in zip(entropies, entropies[1:])), entropies
    assert entropies[0] > 1.0 and entropies[-1] < 0.05  # near log 3 at tau = 10, ~0 at 0.01


def test_gumbel_max_histogram_matches_pi_within_the_stated_tolerance(at):
    at.select_slider(key="pg_n").set_value(100_000).run()
    frequencies = chart(at, "Sample frequencies")["data"]
    pi = np.array([0.05, 0.25, 0.7])
    gumbel_max = np.array(next(b for b in frequencies if b["name"].startswith("Gumbel-Max"))["y"])
    inverse_cdf = np.array(next(b for b in frequencies if b["name"].startswith("inverse"))["y"])
    tolerance = 4 * np.sqrt(pi * (1 - pi) / 100_000)  # 4 standard errors, as the page states
    assert (np.abs(gumbel_max - pi) < tolerance).all(), gumbel_max
    assert (np.abs(inverse_cdf - pi) < tolerance).all(), inverse_cdf


def test_k3_shows_a_ternary_plot_and_k4_does_not():
    at = new_app(page=PAGE)
    assert chart(at, "simplex")["data"][0]["type"] == "scatterternary"
    at.number_input(key="pg_k").set_value(4).run()
    assert_no_exception(at)
    assert at.text_input(key="pg_probs").value == "0.1, 0.2, 0.3, 0.4"
    with pytest.raises(AssertionError):
        chart(at, "simplex")
    assert any("K = 3" in i.value for i in at.info)


@pytest.mark.parametrize(
    "probs, message",
    [
        ("0.5, -0.2, 0.7", "negative"),
        ("0, 0, 0", "all zero"),
        ("0.2, nan, 0.3", "finite"),
        ("a, b, c", "numbers"),
    ],
)
def test_invalid_probabilities_are_refused_with_a_message(probs, message):
    at = new_app(page=PAGE)
    at.text_input(key="pg_probs").set_value(probs).run()
    assert_no_exception(at)
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert not at.get("plotly_chart")  # nothing is drawn from invalid input


def test_estimator_plot_shows_st_biased_and_relaxed_bias_shrinking(at):
    spec = chart(at, "Gradient estimators")
    traces = {t["name"]: t for t in spec["data"] if t.get("xaxis", "x") == "x"}
    taus = traces["Gumbel-Softmax (relaxed)"]["x"]
    relaxed = traces["Gumbel-Softmax (relaxed)"]["y"]
    straight = traces["straight-through"]["y"]
    assert taus == sorted(taus)
    assert all(a < b for a, b in zip(relaxed, relaxed[1:])), relaxed  # bias shrinks as tau falls
    # Straight-through is biased at every tau: far above its noise floor std / sqrt(n).
    st_std = [t for t in spec["data"] if t.get("xaxis") == "x2"][1]["y"]
    assert all(b > 4 * s / np.sqrt(100_000) for b, s in zip(straight, st_std))


def test_deep_link_sets_tau_probabilities_and_seed():
    at = new_app({"tau": "0.1", "p": "0.2,0.3,0.5", "seed": "7"}, page=PAGE)
    assert_no_exception(at)
    assert at.select_slider(key="pg_tau").value == 0.1
    assert at.number_input(key="pg_seed").value == 7
    assert at.text_input(key="pg_probs").value == "0.2, 0.3, 0.5"
    assert not at.warning


@pytest.mark.parametrize(
    "query", [{"tau": "hot"}, {"tau": "50"}, {"p": "1,-1"}, {"seed": "-3"}, {"p": "x"}]
)
def test_malformed_deep_links_warn_and_fall_back(query):
    at = new_app(query, page=PAGE)
    assert_no_exception(at)
    assert any("Ignoring the URL parameter" in w.value for w in at.warning)
    assert not at.error
