"""AppTest of the article's section pages, the Talk page and the Export page: each page's
numbers against an independent computation, its widgets driving them, its deep links."""

import json
import math

import numpy as np
import pytest
import torch
from conftest import assert_no_exception, new_app
from torch.distributions import Categorical, kl_divergence

import gvae
from gvae.app.bounds import binarize_digit, iw_noise
from gvae.app.gallery import load_gallery
from gvae.elbo import kl_to_uniform
from gvae.metrics import image_bounds


def chart(at, title_part: str) -> dict:
    for c in at.get("plotly_chart"):
        spec = json.loads(c.proto.spec)
        title = spec["layout"].get("title", {})
        if title_part in (title.get("text", "") if isinstance(title, dict) else str(title)):
            return spec
    raise AssertionError(f"no chart titled {title_part!r}")


def metric(at, label_part: str) -> str:
    return next(m.value for m in at.metric if label_part in m.label)


def torch_kl(a, b) -> float:
    a, b = torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64)
    return kl_divergence(Categorical(probs=a), Categorical(probs=b)).item()


@pytest.fixture(scope="module")
def model():
    return gvae.load_model()


# -- §3 KL -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def kl_page():
    return new_app(
        {"p": "0.1,0.2,0.3,0.4", "q": "0.4,0.3,0.2,0.1", "digit": "17"}, page="pages/kl.py"
    )


def decomposition(at) -> tuple[dict, dict, list[str]]:
    """The KL and entropy bars of the cross-entropy chart, and its rows' labels."""
    spec = chart(at, "Cross-entropy = entropy + KL")
    kl = next(t for t in spec["data"] if t["name"].startswith("KL"))
    entropy = next(t for t in spec["data"] if t["name"].startswith("entropy"))
    return kl, entropy, list(kl["y"])


def test_kl_page_numbers_are_torch_distributions_kl(kl_page):
    at = kl_page
    assert_no_exception(at)
    p, q = [0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1]
    kl, entropy, notes = decomposition(at)
    assert kl["x"][0] == pytest.approx(torch_kl(p, q), rel=1e-9)
    assert kl["x"][1] == pytest.approx(torch_kl(q, p), rel=1e-9)
    h_p = -sum(v * math.log(v) for v in p)
    assert entropy["x"][0] == pytest.approx(h_p, rel=1e-9)
    assert f"H(P,Q) = {h_p + torch_kl(p, q):.3f}" in notes[0]
    assert f"KL(Q‖P) = {torch_kl(q, p):.3f}" in notes[1]


def test_kl_page_sliders_drive_the_numbers_and_the_url(kl_page):
    at = kl_page
    at.slider(key="kl_q0").set_value(0.0).run()  # Q now misses a category P has
    assert_no_exception(at)
    kl, _, _ = decomposition(at)
    assert kl["y"][0].startswith("KL(P‖Q) = ∞")
    q = np.array([0.0, 0.3, 0.2, 0.1]) / 0.6
    assert kl["x"][1] == pytest.approx(torch_kl(q, [0.1, 0.2, 0.3, 0.4]), rel=1e-9)
    assert at.query_params["q"] == "0,0.5,0.333,0.167"


def test_kl_page_per_variable_bars_sum_to_the_models_kl_term(kl_page, model):
    at = kl_page
    spec = chart(at, "per latent variable")
    bars = next(t for t in spec["data"] if t["type"] == "bar")
    image = torch.tensor(load_gallery()[0][17]).reshape(1, -1)
    with torch.no_grad():
        expected = kl_to_uniform(model.encode(image)).item()
    assert sum(bars["y"]) == pytest.approx(expected, rel=1e-4)
    assert bars["y"] == sorted(bars["y"], reverse=True)  # sorted=1 by default: largest first
    assert metric(at, "KL of this digit") == f"{expected:.2f} nats"
    assert all(0 <= v <= math.log(10) + 1e-6 for v in bars["y"])
    average = next(t for t in spec["data"] if t["type"] == "scatter")["y"]
    assert len(average) == 20 and all(0 <= v <= math.log(10) + 1e-6 for v in average)


@pytest.mark.parametrize("query", [{"p": "1,-1"}, {"q": "x"}, {"digit": "99"}])
def test_kl_page_bad_deep_links_warn_and_fall_back(query):
    at = new_app(query, page="pages/kl.py")
    assert_no_exception(at)
    assert any("Ignoring the URL parameter" in w.value for w in at.warning)


# -- §4 ELBO ------------------------------------------------------------------------------------
def test_elbo_page_iw_table_is_gvae_metrics_and_new_samples_resample(model):
    at = new_app({"digit": "5", "n": "4", "seed": "2"}, page="pages/elbo.py", timeout=180)
    assert_no_exception(at)
    x = binarize_digit(load_gallery()[0][5], seed=0)
    table = at.dataframe[0].value
    batch = torch.from_numpy(x).expand(16, -1).contiguous()
    for k, shown in zip(table["k"], table["IW bound (mean)"]):
        noise = torch.from_numpy(iw_noise(model.config, 1000, 16, seed=0)[: int(k)])  # the page's
        _, iw = image_bounds(model, batch, int(k), noise=noise)
        assert shown == pytest.approx(round(iw.double().mean().item(), 2), abs=0.011), k
    means = table["IW bound (mean)"]
    assert means.iloc[-1] < means.iloc[0]  # k = 1000 is tighter than k = 1
    with torch.no_grad():
        kl = kl_to_uniform(model.encode(torch.from_numpy(x))).item()
    assert float(metric(at, "KL(q(z|x)")) == pytest.approx(kl, abs=0.006)
    before = metric(at, "Reconstruction")
    at.button[0].click().run()  # New samples
    assert_no_exception(at)
    assert at.number_input(key="elbo_seed").value == 3 and at.query_params["seed"] == "3"
    assert metric(at, "Reconstruction") != before


# -- §5 reparameterization ---------------------------------------------------------------------
def test_reparameterization_page_estimates_match_their_formulas():
    at = new_app(
        {"mu": "1.5", "sigma": "0.5", "n": "10000", "seed": "4"}, page="pages/reparameterization.py"
    )
    assert_no_exception(at)
    table = at.dataframe[0].value
    eps = np.random.default_rng(4).standard_normal(10_000)  # the page's draw
    z = 1.5 + 0.5 * eps
    independent = {"μ + σε": 2 * z, "REINFORCE": z**2 * (z - 1.5) / 0.25}
    for column, values in independent.items():
        assert table.loc["mean", column] == pytest.approx(values.mean(), abs=6e-4)
        assert table.loc["std of one", column] == pytest.approx(values.std(ddof=1), abs=6e-4)
        se = values.std(ddof=1) / 100
        assert abs(values.mean() - 3.0) < 5 * se  # both unbiased: 2 mu = 3
    assert metric(at, "Exact gradient") == "3"
    at.slider(key="rp_mu").set_value(-2.0).run()
    assert_no_exception(at)
    assert metric(at, "Exact gradient") == "-4" and at.query_params["mu"] == "-2"


# -- §6 Gumbel ----------------------------------------------------------------------------------
def test_gumbel_page_slicing_and_tau_follow_the_url():
    at = new_app({"u": "0.31", "tau": "0.1", "digit": "4"}, page="pages/gumbel.py")
    assert_no_exception(at)
    spec = chart(at, "Inverse-CDF sampling")
    assert any("U = 0.31 → White" in a["text"] for a in spec["layout"]["annotations"])
    assert at.select_slider(key="gb_tau").value == 0.1
    at.slider(key="gb_u").set_value(0.2).run()
    spec = chart(at, "Inverse-CDF sampling")
    assert any("U = 0.20 → Blue" in a["text"] for a in spec["layout"]["annotations"])
    assert at.query_params["u"] == "0.2" and at.query_params["tau"] == "0.1"


# -- §7 implementation -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "bug, check",
    [
        ("relu_logits", "This model's logits below 0"),
        ("tau_schedule", "lowest τ ever reached"),
        ("grey_pixels", "Floor of the grey-pixel"),
        ("sigmoid_log", "saturated pixels"),
        ("raw_logits", "raw logits"),
    ],
)
def test_implementation_page_shows_each_bug_with_a_measurement(bug, check):
    at = new_app({"bug": bug}, page="pages/implementation.py")
    assert_no_exception(at)
    assert at.segmented_control(key="impl_bug").value == bug
    value = metric(at, check)
    assert value
    if bug == "tau_schedule":
        assert value == f"{math.exp(-3e-5 * (1 + 101 + 201 + 301 + 401 + 501)):.3f}"
    assert len(at.code) == 2 and at.code[0].value != at.code[1].value


def test_implementation_page_tables_the_estimators_from_their_cards():
    from gvae.weights import WEIGHTS_DIR, load_card

    at = new_app(page="pages/implementation.py")
    assert_no_exception(at)
    shown = at.dataframe[0].value
    assert list(shown["estimator"]) == ["gumbel", "st-gumbel", "reinmax"]
    for i, estimator in enumerate(shown["estimator"]):
        card = load_card(WEIGHTS_DIR / f"gvae-{estimator}.safetensors")
        assert shown["test IW-NLL"][i] == f"{card['metrics']['iw_nll']:.2f}"
        runs = card.get("seed_runs", [])
        assert shown["seeds"][i] == str(max(1, len(runs)))
        if len(runs) >= 2:  # mean ± sample standard deviation over the recorded seeds
            values = np.array([run["neg_elbo"] for run in runs])
            spread = f"{values.mean():.2f} ± {values.std(ddof=1):.2f}"
            assert shown["−ELBO over seeds"][i] == spread
            assert card["metrics"]["neg_elbo"] in values  # the shipped model is one of them
    assert any("Jang et al. (2017), Table 1" in c.value for c in at.caption)


# -- Talk and Export ------------------------------------------------------------------------------
def test_talk_page_lists_every_slide_with_its_link():
    from gvae.app.talk import load_talk

    at = new_app(page="pages/talk.py")
    assert_no_exception(at)
    links = [m.value for m in at.markdown if "gvae-slide-link" in m.value]
    assert len(links) == len(load_talk())
    assert "slide=1" in links[0] and "slide=2" in links[1]


def test_talk_page_reports_a_broken_talk_file(tmp_path, monkeypatch):
    bad = tmp_path / "talk.toml"
    bad.write_text('[[slide]]\ntitle = "x"\npage = "nowhere"\n')
    monkeypatch.setenv("GVAE_TALK_FILE", str(bad))
    at = new_app(page="pages/talk.py")
    assert_no_exception(at)
    assert any("page must be one of" in e.value for e in at.error)
    other = new_app(page="pages/kl.py")  # every other page still works
    assert_no_exception(other)


def test_export_page_renders_its_downloads():
    at = new_app({"digit": "3"}, page="pages/export.py")
    assert_no_exception(at)
    labels = [b.label for b in at.get("download_button")]
    assert {
        "digit.png",
        "atlas.png",
        "interpolation.png",
        "τ sharpening.gif",
        "interpolation.gif",
        "gvae-explorable.html",  # tests/test_browser_explorable.py opens what it writes
    } <= set(labels)
    assert at.query_params["z"] == at.text_input(key="ex_code").value
