"""The computations behind the article's section pages (gvae.app.kl, bounds, reparam,
gumbel_vae, article), each checked against an independent computation."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import network_of
from torch.distributions import Bernoulli, Categorical, kl_divergence

from gvae.app import article, bounds, gumbel_vae, reparam
from gvae.app import kl as klm
from gvae.elbo import bernoulli_nll as bernoulli_nll_torch
from gvae.elbo import kl_to_uniform
from gvae.gumbel import gumbel_softmax as gvae_gumbel_softmax
from gvae.gumbel import sample_gumbel
from gvae.metrics import image_bounds
from gvae.model import CategoricalVAE


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return CategoricalVAE().eval()


@pytest.fixture(scope="module")
def net(model):
    return network_of(model)  # the same weights, in gvae.infer


@pytest.fixture(scope="module")
def digits():
    from gvae.app.gallery import load_gallery

    return load_gallery()[0]


# -- §3 KL -------------------------------------------------------------------------------------
def random_distribution(rng, k, zeros=0):
    p = rng.random(k)
    p[rng.choice(k, zeros, replace=False)] = 0
    return p / p.sum()


@pytest.mark.parametrize("k", [2, 3, 5, 10])
def test_kl_matches_torch_distributions_both_ways(k):
    rng = np.random.default_rng(k)
    for _ in range(20):
        p, q = random_distribution(rng, k), random_distribution(rng, k)
        for a, b in ((p, q), (q, p)):
            expected = kl_divergence(
                Categorical(probs=torch.tensor(a)), Categorical(probs=torch.tensor(b))
            )
            assert klm.kl(a, b) == pytest.approx(expected.item(), rel=1e-9, abs=1e-12)
        s = klm.summary(p, q)
        assert s["h_pq"] == pytest.approx(s["h_p"] + s["kl_pq"], rel=1e-12)  # H(P,Q) = H(P) + KL
        assert s["kl_pq"] >= 0 and s["kl_qp"] >= 0


def test_kl_with_zeros_is_infinite_exactly_where_torch_says():
    p = np.array([0.5, 0.3, 0.2])
    q = np.array([0.6, 0.4, 0.0])  # misses a category P has
    torch_pq = kl_divergence(Categorical(probs=torch.tensor(p)), Categorical(probs=torch.tensor(q)))
    torch_qp = kl_divergence(Categorical(probs=torch.tensor(q)), Categorical(probs=torch.tensor(p)))
    assert math.isinf(klm.kl(p, q)) and math.isinf(torch_pq.item())
    assert klm.kl(q, p) == pytest.approx(torch_qp.item(), rel=1e-9)
    assert math.isinf(klm.cross_entropy(p, q))
    assert klm.kl(p, p) == 0.0


def test_kl_terms_can_be_negative_but_sum_to_the_kl():
    p, q = np.array([0.05, 0.25, 0.7]), np.full(3, 1 / 3)
    terms = klm.kl_terms(p, q)
    assert (terms < 0).any()
    assert terms.sum() == pytest.approx(klm.kl(p, q))


def test_per_variable_kl_sums_to_the_models_kl_term(model, net, digits):
    x = torch.tensor(digits[:8])
    per_variable = klm.variable_kl(net, digits[:8])  # (8, N)
    with torch.no_grad():
        total = kl_to_uniform(model.encode(x)).numpy()
    assert per_variable.shape == (8, model.config.latent_dim)
    np.testing.assert_allclose(per_variable.sum(1), total, rtol=1e-5, atol=1e-5)
    assert (per_variable >= -1e-6).all() and (per_variable <= math.log(10) + 1e-6).all()
    # and each variable's term is torch's KL to the uniform categorical
    with torch.no_grad():
        q = Categorical(logits=model.encode(x))
        uniform = Categorical(probs=torch.full_like(q.probs, 0.1))
        np.testing.assert_allclose(
            per_variable, kl_divergence(q, uniform).numpy(), rtol=1e-4, atol=1e-5
        )


def test_ranking_and_unused_variables():
    kl = np.array([0.1, 2.0, 0.0, 1.0])
    assert klm.ranked_variables(kl) == [1, 3, 0, 2]
    assert klm.unused_variables(kl) == [2]


# -- §4 ELBO and the IW bound --------------------------------------------------------------------
def test_the_iw_curve_is_gvae_metrics_at_every_k(model, net, digits):
    x = bounds.binarize_digit(digits[3], seed=0)
    curve = bounds.iw_curve(net, x, ks=(1, 3, 10), repeats=4, seed=7)
    for k, values in zip(curve["ks"], curve["iw_values"]):
        noise = torch.from_numpy(bounds.iw_noise(net.config, 10, 4, seed=7)[:k])
        batch = torch.from_numpy(x).expand(4, -1).contiguous()
        _, expected = image_bounds(model, batch, k, noise=noise)
        np.testing.assert_allclose(values, expected.double().numpy(), rtol=1e-5)
    assert curve["iw_mean"] == pytest.approx([float(np.mean(v)) for v in curve["iw_values"]])


def test_the_iw_bound_equals_an_independent_computation(model, digits):
    """Redraw image_bounds' samples from the same generator and score them with
    torch.distributions: log p(x|z) + log p(z) - log q(z|x), logsumexp over k."""
    x = torch.from_numpy(bounds.binarize_digit(digits[5], seed=0))
    k = 6
    _, iw = image_bounds(model, x, k, torch.Generator().manual_seed(3))
    with torch.no_grad():
        logits = model.encode(x)  # (1, N, K)
        noise = sample_gumbel((k, *logits.shape), torch.Generator().manual_seed(3))
        index = (logits + noise).argmax(-1)  # (k, 1, N)
        q = Categorical(logits=logits)
        log_q = q.log_prob(index).sum(-1)  # (k, 1)
        log_prior = -20 * math.log(10)
        z = F.one_hot(index, 10).float().view(k, 20, 10)
        log_px = Bernoulli(logits=model.decode(z)).log_prob(x.expand(k, -1)).sum(-1)
        log_w = log_px + log_prior - log_q[:, 0]
        expected = -(torch.logsumexp(log_w, 0) - math.log(k))
    assert iw.item() == pytest.approx(expected.item(), rel=1e-5)


def test_sample_terms_are_an_independent_reconstruction_and_the_exact_kl(model, net, digits):
    x = bounds.binarize_digit(digits[0], seed=0)
    terms = bounds.sample_terms(net, x, 5, seed=1)
    x = torch.from_numpy(x)
    z = F.one_hot(torch.as_tensor(terms["codes"]), 10).float()  # the samples it drew
    with torch.no_grad():
        nll = -Bernoulli(logits=model.decode(z)).log_prob(x.expand(5, -1)).sum(-1)
        kl = kl_to_uniform(model.encode(x))[0].item()
    np.testing.assert_allclose(terms["nll"], nll.double().numpy(), rtol=1e-5)
    assert terms["kl"] == pytest.approx(kl, rel=1e-5, abs=1e-5)
    assert terms["neg_elbo"] == pytest.approx(nll.double().mean().item() + kl, rel=1e-6)


def test_binarize_digit_is_fixed_by_its_seed(digits):
    a, b = bounds.binarize_digit(digits[0], 0), bounds.binarize_digit(digits[0], 0)
    assert np.array_equal(a, b) and set(np.unique(a).tolist()) == {0.0, 1.0}
    assert not np.array_equal(a, bounds.binarize_digit(digits[0], 1))


# -- §5 reparameterization -------------------------------------------------------------------------
@pytest.mark.parametrize("mu, sigma", [(1.0, 0.5), (-2.0, 1.5), (0.0, 1.0)])
def test_both_estimators_are_unbiased_and_their_spread_is_the_analytic_one(mu, sigma):
    n = 200_000
    grads = reparam.per_sample_gradients(mu, sigma, n, seed=11)
    summary = reparam.estimator_summary(grads, mu, sigma)
    for name, s in summary.items():
        # unbiased: the mean is within 5 standard errors of 2 mu (a false alarm ~1 in 10^6)
        assert abs(s["mean"] - 2 * mu) < 5 * s["se"], (name, s)
        # the measured spread is the analytic one, within sampling error of a std
        # (the score function's heavy tails make its sample std converge slowly: 10 %)
        assert s["std"] == pytest.approx(s["analytic_std"], rel=0.1 if "score" in name else 0.02), (
            name
        )
    assert summary["score"]["std"] > summary["score_baseline"]["std"] > summary["reparam"]["std"]


def test_the_estimators_are_the_formulas_they_claim():
    mu, sigma, n = 0.7, 1.3, 1000
    grads = reparam.per_sample_gradients(mu, sigma, n, seed=2)
    eps = np.random.default_rng(2).standard_normal(n)  # the draw it shares
    z = mu + sigma * eps
    np.testing.assert_allclose(grads["reparam"], 2 * z, rtol=1e-12)
    np.testing.assert_allclose(grads["score"], z**2 * (z - mu) / sigma**2, rtol=1e-10)
    np.testing.assert_allclose(
        grads["score_baseline"],
        (z**2 - mu**2 - sigma**2) * (z - mu) / sigma**2,
        rtol=1e-9,
        atol=1e-12,
    )


def test_the_closed_forms_are_autograds_through_torch_distributions():
    from torch.distributions import Normal

    mu, sigma, n = -0.4, 0.8, 500
    grads = reparam.per_sample_gradients(mu, sigma, n, seed=5)
    eps = torch.from_numpy(np.random.default_rng(5).standard_normal(n))
    mu_t = torch.full((n,), mu, dtype=torch.float64, requires_grad=True)
    z = mu_t + sigma * eps  # rsample's computation, with this eps
    (z**2).sum().backward()
    np.testing.assert_allclose(grads["reparam"], mu_t.grad.numpy(), rtol=1e-12)
    z_const = (mu + sigma * eps).detach()
    for name, baseline in (("score", 0.0), ("score_baseline", mu**2 + sigma**2)):
        mu_t = torch.full((n,), mu, dtype=torch.float64, requires_grad=True)
        log_p = Normal(mu_t, torch.tensor(sigma, dtype=torch.float64)).log_prob(z_const)
        ((z_const**2 - baseline) * log_p).sum().backward()
        np.testing.assert_allclose(grads[name], mu_t.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_the_page_runs_the_autograd_demo_in_a_subprocess():
    import time

    expected = reparam.autograd_demo(0.3, 1.1, seed=5)
    deadline = time.time() + 60
    while (got := reparam.autograd_demo_later(0.3, 1.1, seed=5)) is None:
        assert time.time() < deadline
        time.sleep(0.1)
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == (pytest.approx(value) if isinstance(value, float) else value), key


def test_autograd_demo_shows_the_blocked_and_the_open_path():
    d = reparam.autograd_demo(1.0, 0.5, seed=0)
    assert d["sample_grad_fn"] is None and not d["sample_requires_grad"]
    assert "does not require grad" in d["sample_error"]
    assert d["dz_dmu"] == 1.0 and d["dz_dsigma"] == pytest.approx(d["eps"], rel=1e-5)


def test_running_means_end_at_the_mean():
    values = np.arange(1, 101, dtype=float)
    counts, means = reparam.running_means(values)
    assert counts[0] == 1 and counts[-1] == 100 and means[-1] == pytest.approx(50.5)


# -- §6 Gumbel -----------------------------------------------------------------------------------
def test_gumbel_density_integrates_to_one_and_matches_the_samples():
    xs = np.linspace(-10, 40, 200_001)
    assert np.trapezoid(gumbel_vae.gumbel_pdf(xs), xs) == pytest.approx(1.0, abs=1e-6)
    samples = gumbel_vae.gumbel_samples(100_000, seed=0)
    # Kolmogorov-Smirnov distance to the Gumbel CDF; 1.95 / sqrt(n) is the 0.1 % level
    s = np.sort(samples)
    ecdf = np.arange(1, len(s) + 1) / len(s)
    assert np.abs(ecdf - gumbel_vae.gumbel_cdf(s)).max() < 1.95 / math.sqrt(len(s))
    assert samples.mean() == pytest.approx(np.euler_gamma, abs=0.02)


def test_inverse_cdf_pick_is_the_articles_rule():
    probs = [0.05, 0.25, 0.7]
    theta_cum = np.cumsum(probs)
    for u in np.linspace(0, 0.999, 200):
        assert gumbel_vae.inverse_cdf_pick(probs, u) == int(np.argmax(theta_cum >= u))
    assert gumbel_vae.inverse_cdf_pick(probs, 0.31) == 2  # White: the article's text says Blue
    assert gumbel_vae.inverse_cdf_pick(probs, 0.2) == 1


def test_relaxed_decode_sharpens_to_the_gumbel_max_code(model, net, digits):
    noise = gumbel_vae.code_noise(20, 10, seed=4)
    taus = [100.0, 1.0, 0.01]
    out = gumbel_vae.relaxed_decode(net, digits[2], noise, taus)
    with torch.no_grad():
        logits = model.encode(torch.tensor(digits[2]).reshape(1, -1))[0]
        relaxed = torch.stack(
            [gvae_gumbel_softmax(logits, t, noise=torch.from_numpy(noise)) for t in taus]
        )
        means = torch.sigmoid(model.decode(relaxed)).numpy()
    np.testing.assert_allclose(out["relaxed"], relaxed.numpy(), rtol=0, atol=1e-5)
    np.testing.assert_allclose(out["means"], means, rtol=0, atol=1e-5)
    assert out["hard_code"] == (logits + torch.from_numpy(noise)).argmax(-1).tolist()
    entropies = [gumbel_vae.mean_entropy(y) for y in out["relaxed"]]
    assert entropies[0] > entropies[1] > entropies[2]
    np.testing.assert_allclose(out["relaxed"][-1].argmax(-1), out["hard_code"])
    with torch.no_grad():
        one_hot = F.one_hot(torch.tensor(out["hard_code"]), 10).float()
        expected = torch.sigmoid(model.decode(one_hot[None]))[0].numpy()
    np.testing.assert_allclose(out["hard_means"], expected, atol=1e-6)


# -- §7 the article's bugs ---------------------------------------------------------------------
def test_the_articles_tau_compounds_within_an_epoch_and_resets():
    taus = article.article_taus(epochs=2, batches_per_epoch=600)
    # after the update at batch_idx b (every 100, from 1): tau = exp(-r * (1 + 101 + ... + b))
    updates = [1, 101, 201, 301, 401, 501]
    assert taus[502] == pytest.approx(math.exp(-3e-5 * sum(updates)))
    assert taus[600] == 1.0  # a new epoch starts again at tau0
    assert taus.min() == pytest.approx(math.exp(-3e-5 * sum(updates)))
    ours = article.schedule_taus(600 * 40)
    t = np.arange(600 * 40)
    np.testing.assert_allclose(ours, np.maximum(0.5, np.exp(-3e-5 * (t // 100 * 100))))
    assert ours[-1] == 0.5 and ours.min() < taus.min()


def test_sigmoid_then_log_saturates_where_logits_stay_exact():
    logits = np.array([0.0, 5.0, 16.0, 17.0, 40.0])
    c = article.sigmoid_log_curves(logits)
    np.testing.assert_allclose(c["exact"], np.logaddexp(0, logits), rtol=1e-6)  # softplus
    np.testing.assert_allclose(c["exact_grad"], 1 / (1 + np.exp(-logits)), rtol=1e-6)
    assert np.isinf(c["naive"][3:]).all() and np.isnan(c["naive_grad"][3:]).all()
    ceiling = -math.log(np.finfo(np.float32).eps)
    assert c["article"][3:] == pytest.approx([ceiling, ceiling], rel=1e-5)
    assert (c["article_grad"][3:] == 0).all()


def test_grey_entropy_floor_is_the_binary_entropy_sum():
    x = np.array([[0.0, 1.0, 0.5, 0.25]])
    expected = math.log(2) - (0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    assert article.grey_entropy_floor(x)[0] == pytest.approx(expected)


def test_raw_logits_are_out_of_the_decoders_range(digits):
    import gvae

    trained = gvae.load_model()
    x = np.concatenate([bounds.binarize_digit(d, 0) for d in digits[:10]])
    out = article.raw_logit_decoding(network_of(trained), x)
    with torch.no_grad():
        z_logits = trained.encode(torch.from_numpy(x))
        raw = trained.decode(z_logits)
        nll = bernoulli_nll_torch(raw, torch.from_numpy(x)).double().numpy()
    np.testing.assert_allclose(out["raw_logits"]["nll"], nll, rtol=1e-5)
    assert out["raw_logits"]["nll"].mean() > 5 * out["argmax"]["nll"].mean()
    low, high = out["logit_range"]
    assert low < -1 or high > 1  # not a code the decoder was trained on


def test_relu_effect_counts_the_clipped_logits(model, net, digits):
    x = torch.tensor(digits[:4])
    effect = article.relu_effect(net, digits[:4])
    with torch.no_grad():
        logits = model.encode(x)
    assert effect["negative_share"] == pytest.approx((logits < 0).double().mean().item())
    assert effect["kl_relu"] == pytest.approx(
        kl_to_uniform(F.relu(logits)).mean().item(), rel=1e-5, abs=1e-5
    )


@pytest.mark.parametrize("target", [0.0, 1.0])
def test_the_three_losses_are_torchs_values_and_autograds_gradients(target):
    import torch.nn.functional as F

    logits = np.concatenate([np.linspace(-100, 100, 801), [16.5, 17.0, 88.0, 89.0]])
    c = article.sigmoid_log_curves(logits, target)
    for name in ("exact", "naive", "article"):
        logit = torch.tensor(logits, dtype=torch.float32, requires_grad=True)
        x = torch.full_like(logit, target)
        p = torch.sigmoid(logit)
        if name == "exact":
            loss = F.binary_cross_entropy_with_logits(logit, x, reduction="none")
        elif name == "naive":
            loss = -(x * torch.log(p) + (1 - x) * torch.log(1 - p))
        else:
            loss = -torch.distributions.Bernoulli(probs=p, validate_args=False).log_prob(x)
        loss.sum().backward()
        for ours, theirs in ((c[name], loss), (c[f"{name}_grad"], logit.grad)):
            theirs = theirs.detach().double().numpy()
            np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs), err_msg=name)
            np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6, err_msg=name)


def test_gvae_source_is_gvaes_code():
    import inspect
    import textwrap

    from gvae import model, schedule

    assert "logits.abs().neg_().exp_().add_(1).log_()" in article.gvae_source("sigmoid_log")
    assert "def __call__" in article.gvae_source("tau_schedule")
    assert set(article.BUGS) == set(article.ARTICLE_CODE) == set(article.GVAE_SOURCE)
    with_docs = article.gvae_source("relu_logits", docstrings=True)
    expected = [
        textwrap.dedent(inspect.getsource(f)).rstrip()
        for f in (model.mlp, model.CategoricalVAE.encode)
    ]
    assert with_docs == "\n\n".join(expected)  # read from the file, as inspect reads it
    call = textwrap.dedent(inspect.getsource(schedule.TemperatureSchedule.__call__))
    assert article.gvae_source("tau_schedule") in call and '"""' not in article.gvae_source(
        "tau_schedule"
    )


def test_architecture_boxes_label_themselves_readably():
    from gvae.app.section_figures import architecture_figure, contrast_ratio
    from gvae.config import ModelConfig

    fig = architecture_figure(article.architecture(ModelConfig()))
    fills = [shape.fillcolor for shape in fig.layout.shapes if shape.type == "rect"]
    labels = [a for a in fig.layout.annotations if not a.showarrow and a.y in (0.62, 0.36)]
    assert len(labels) == 2 * len(fills) == 2 * 9  # x, 3 encoder, sample, 3 decoder, p(x|z)
    for i, label in enumerate(labels):
        assert contrast_ratio(label.font.color, fills[i // 2]) >= 4.5, (label.text, fills[i // 2])
    assert contrast_ratio("#ffffff", "#f58518") < 3  # the colour that needed dark text


def test_architecture_follows_the_config():
    from gvae.config import ModelConfig

    stages = article.architecture(ModelConfig(latent_dim=4, categorical_dim=3, hidden=(32,)))
    assert [s["size"] for s in stages] == ["784", "32", "4×3", "4×3", "32", "784", "784"]
    assert article.parameter_count(ModelConfig()) == 1_169_880
    for config in (ModelConfig(), ModelConfig(latent_dim=4, categorical_dim=3, hidden=(32, 7))):
        torch_count = sum(p.numel() for p in CategoricalVAE(config).parameters())
        assert article.parameter_count(config) == torch_count


def test_comparison_says_which_way_the_numbers_go():
    results = {
        "steps": 10,
        "runs": {
            "gvae": {"neg_elbo": 100.0, "iw_nll": 90.0},
            "x": {"neg_elbo": 103.5, "iw_nll": 89.0},
        },
    }
    text = article.comparison(results, "x")
    assert "3.5 nats worse" in text and "1.0 nats better" in text
    assert article.comparison(results, "missing") is None
