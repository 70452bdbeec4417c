"""AppTest of the Gumbel playground: tau and pi from the page, fixed noise, Gumbel-Max,
estimators. (The page's own sampling as tau moves is driven in tests/test_browser_live.py.)"""

import json

import numpy as np
import pytest
from conftest import assert_no_exception, component_data, new_app, send_component_state

from gvae.app import playground as pg

PAGE = "pages/playground.py"
PLAYGROUND = "live_playground"


def chart(at, title_part: str) -> dict:
    for c in at.get("plotly_chart"):
        spec = json.loads(c.proto.spec)
        title = spec["layout"].get("title", {})
        if title_part in (title.get("text", "") if isinstance(title, dict) else str(title)):
            return spec
    raise AssertionError(f"no chart titled {title_part!r}")


def panel(at) -> dict:
    return component_data(at, PLAYGROUND)


_seq = iter(range(1, 1_000_000))


def settle(at, tau: float, probs=None):
    """What the page sends when τ (and π) come to rest."""
    value = {"seq": next(_seq), "tau": tau, "probs": probs or panel(at)["probs"]}
    return send_component_state(at, PLAYGROUND, "edit", value)


@pytest.fixture(scope="module")
def at():
    return new_app(page=PAGE)


def test_page_renders_with_the_articles_example(at):
    assert_no_exception(at)
    assert not at.error
    assert at.text_input(key="pg_probs").value == "0.05, 0.25, 0.7"
    data = panel(at)
    assert data["labels"] == ["Red", "Blue", "White"] and data["tau"] == 1.0
    assert data["probs"] == pytest.approx([0.05, 0.25, 0.7])
    # The page gets the very Gumbel draw the server uses (exact floats through JSON).
    assert data["noise"] == pg.fixed_noise(3, 0).tolist()
    assert not at.get("select_slider") or all(s.key != "pg_tau" for s in at.select_slider)


def test_a_settled_tau_updates_state_url_and_the_servers_sample(at):
    settle(at, 1.0)
    before = panel(at)["soft"]
    settle(at, 0.1)
    assert_no_exception(at)
    data = panel(at)
    assert data["tau"] == 0.1 and data["soft"] != before
    assert at.query_params["tau"] == "0.1"
    expected = pg.soft_sample(np.array(data["probs"]), pg.fixed_noise(3, 0), 0.1)
    assert np.allclose(data["soft"], expected, atol=0, rtol=0)


def test_entropy_falls_monotonically_as_tau_decreases_for_fixed_noise(at):
    entropies = []
    for tau in np.logspace(1, -2, 11):
        settle(at, float(f"{tau:.3g}"))
        entropies.append(panel(at)["entropy"])
    assert all(a >= b - 1e-3 for a, b in zip(entropies, entropies[1:])), entropies
    assert entropies[0] > 1.0 and entropies[-1] < 0.05  # near log 3 at tau = 10, ~0 at 0.01


def test_dragged_pi_updates_the_text_box_and_the_url():
    at = new_app(page=PAGE)
    settle(at, 0.5, [0.2, 0.2, 0.6])
    assert_no_exception(at)
    assert at.text_input(key="pg_probs").value == "0.2, 0.2, 0.6"
    assert at.query_params["p"] == "0.2,0.2,0.6"
    assert panel(at)["probs"] == pytest.approx([0.2, 0.2, 0.6])


@pytest.mark.parametrize(
    "edit",
    [
        {"seq": 99, "tau": 0.001, "probs": [0.2, 0.2, 0.6]},
        {"seq": 99, "tau": 0.5, "probs": [0.2, 0.8]},
        {"seq": 99, "tau": 0.5, "probs": [-1, 1, 1]},
        {"seq": 99, "tau": "hot", "probs": [0.2, 0.2, 0.6]},
        "tau=0.5",
    ],
)
def test_a_malformed_report_changes_nothing(edit):
    at = new_app(page=PAGE)
    before = panel(at)
    send_component_state(at, PLAYGROUND, "edit", edit)
    assert_no_exception(at)
    after = panel(at)
    assert (after["tau"], after["probs"], after["ack"]) == (
        before["tau"],
        before["probs"],
        before["ack"],
    )


def test_gumbel_max_histogram_matches_pi_within_the_stated_tolerance(at):
    at.select_slider(key="pg_n").set_value(100_000).run()
    frequencies = chart(at, "Sample frequencies")["data"]
    pi = np.array([0.05, 0.25, 0.7])
    gumbel_max = np.array(next(b for b in frequencies if b["name"].startswith("Gumbel-Max"))["y"])
    inverse_cdf = np.array(next(b for b in frequencies if b["name"].startswith("inverse"))["y"])
    tolerance = 4 * np.sqrt(pi * (1 - pi) / 100_000)  # 4 standard errors, as the page states
    assert (np.abs(gumbel_max - pi) < tolerance).all(), gumbel_max
    assert (np.abs(inverse_cdf - pi) < tolerance).all(), inverse_cdf


def test_the_sample_count_comes_from_the_url_and_goes_back_to_it():
    at = new_app({"n": "1000"}, page=PAGE)
    assert at.select_slider(key="pg_n").value == 1_000 and at.query_params["n"] == "1000"
    at.select_slider(key="pg_n").set_value(100_000).run()
    assert at.query_params["n"] == "100000"
    at.switch_page("pages/home.py").run()
    at.switch_page(PAGE).run()  # the kept value returns
    assert at.select_slider(key="pg_n").value == 100_000
    bad = new_app({"n": "7"}, page=PAGE)
    assert bad.select_slider(key="pg_n").value == 10_000 and "n=" in bad.warning[0].value


def test_k3_sends_the_simplex_noise_and_k4_does_not():
    at = new_app(page=PAGE)
    simplex = panel(at)["simplex"]
    assert simplex["n"] == 3000 and simplex["url"].endswith(".bin")
    at.number_input(key="pg_k").set_value(4).run()
    assert_no_exception(at)
    assert at.text_input(key="pg_probs").value == "0.1, 0.2, 0.3, 0.4"
    assert panel(at)["simplex"] is None and panel(at)["labels"] == ["c0", "c1", "c2", "c3"]


def test_new_noise_sends_a_new_draw():
    at = new_app(page=PAGE)
    before = panel(at)["noise"]
    at.button[0].click().run()  # New noise
    assert_no_exception(at)
    assert panel(at)["seed"] == 1 and panel(at)["noise"] == pg.fixed_noise(3, 1).tolist()
    assert panel(at)["noise"] != before


@pytest.mark.parametrize(
    "probs, message",
    [
        ("0.5, -0.2, 0.7", "negative"),
        ("0, 0, 0", "all zero"),
        ("0.2, nan, 0.3", "finite"),
        ("a, b, c", "numbers"),
    ],
)
def test_invalid_probabilities_are_refused_and_the_demo_keeps_the_last_valid_ones(probs, message):
    at = new_app(page=PAGE)
    at.text_input(key="pg_probs").set_value("0.2, 0.3, 0.5").run()
    at.text_input(key="pg_probs").set_value(probs).run()
    assert_no_exception(at)
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert any("Showing π = 0.2, 0.3, 0.5 meanwhile" in e.value for e in at.error)
    # Everything below still draws, with the last valid π (a typo mid-talk blanks nothing).
    assert panel(at)["probs"] == pytest.approx([0.2, 0.3, 0.5])
    assert chart(at, "Gradient estimators")
    assert at.query_params["p"] == "0.2,0.3,0.5"


def test_a_typo_in_the_first_pi_falls_back_to_the_default():
    at = new_app(page=PAGE)
    at.number_input(key="pg_k").set_value(4).run()
    at.text_input(key="pg_probs").set_value("0.1, 0.2, x, 0.4").run()
    assert_no_exception(at)
    assert panel(at)["probs"] == pytest.approx([0.1, 0.2, 0.3, 0.4])


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
    assert panel(at)["tau"] == 0.1 and panel(at)["seed"] == 7
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
