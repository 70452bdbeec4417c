"""Property tests of the one Gumbel-Softmax module (docs/design.md, section 4, level 1)."""

import math

import pytest
import torch

from gvae.gumbel import ESTIMATORS, gumbel_softmax, one_hot_argmax, sample_gumbel


def test_gumbel_noise_is_finite_and_has_the_standard_gumbel_moments():
    g = sample_gumbel((200_000,), torch.Generator().manual_seed(0))
    assert torch.isfinite(g).all()
    # Gumbel(0, 1): mean = Euler-Mascheroni constant, variance = pi^2 / 6.
    # Standard errors at n = 2e5: 0.0029 for the mean, ~0.011 for the variance.
    assert g.mean().item() == pytest.approx(0.5772, abs=0.015)
    assert g.var().item() == pytest.approx(math.pi**2 / 6, abs=0.06)


def test_soft_samples_lie_on_the_simplex():
    logits = torch.randn(64, 20, 10)
    y = gumbel_softmax(logits, tau=0.7)
    assert y.shape == logits.shape
    assert (y >= 0).all()
    torch.testing.assert_close(y.sum(-1), torch.ones(64, 20))


@pytest.mark.parametrize("estimator", ["st-gumbel", "reinmax"])
def test_hard_estimators_forward_one_hot(estimator):
    y = gumbel_softmax(torch.randn(64, 20, 10), tau=0.7, estimator=estimator)
    assert set(y.unique().tolist()) == {0.0, 1.0}
    assert (y.sum(-1) == 1).all()


def test_hard_flag_equals_st_gumbel_with_the_same_noise():
    logits, noise = torch.randn(8, 5), sample_gumbel((8, 5))
    a = gumbel_softmax(logits, 0.5, hard=True, noise=noise)
    b = gumbel_softmax(logits, 0.5, estimator="st-gumbel", noise=noise)
    assert torch.equal(a, b)
    assert torch.equal(a, one_hot_argmax(logits + noise))


def test_fixed_noise_gives_the_argmax_as_tau_goes_to_zero():
    logits, noise = torch.randn(4, 6), sample_gumbel((4, 6))
    soft = gumbel_softmax(logits, 1e-4, noise=noise)
    torch.testing.assert_close(soft, one_hot_argmax(logits + noise))


def test_straight_through_gradient_is_the_soft_gradient():
    logits = torch.randn(3, 4, requires_grad=True)
    noise, weights = sample_gumbel((3, 4)), torch.randn(3, 4)
    (gumbel_softmax(logits, 0.5, hard=True, noise=noise) * weights).sum().backward()
    st_grad = logits.grad.clone()
    logits.grad = None
    (gumbel_softmax(logits, 0.5, noise=noise) * weights).sum().backward()
    torch.testing.assert_close(st_grad, logits.grad)
    assert st_grad.abs().sum() > 0


def test_reinmax_gradient_matches_a_hand_computed_case():
    # K = 2, logits = (0, 0), tau = 1, noise chosen so the sample is category 0,
    # upstream gradient g = (1, 0).
    #   pi0 = (1/2, 1/2); pi1 = (softmax((0,0)) + D)/2 = ((0.5+1)/2, (0.5+0)/2) = (3/4, 1/4)
    #   J(p)^T g = p * g - p (p . g):
    #     J(pi1)^T g = (3/4 - 9/16, 0 - 3/16) = (3/16, -3/16)
    #     J(pi0)^T g = (1/2 - 1/4, 0 - 1/4)   = (1/4, -1/4)
    #   grad = 2 (3/16, -3/16) - 1/2 (1/4, -1/4) = (3/8 - 1/8, -3/8 + 1/8) = (1/4, -1/4)
    logits = torch.zeros(1, 2, requires_grad=True)
    noise = torch.tensor([[1.0, 0.0]])
    y = gumbel_softmax(logits, 1.0, noise=noise, estimator="reinmax")
    assert torch.equal(y.detach(), torch.tensor([[1.0, 0.0]]))
    (y * torch.tensor([[1.0, 0.0]])).sum().backward()
    torch.testing.assert_close(logits.grad, torch.tensor([[0.25, -0.25]]))


def test_reinmax_gradient_with_temperature_matches_the_formula():
    torch.manual_seed(1)
    logits = torch.randn(5, 3, requires_grad=True)
    noise, g, tau = sample_gumbel((5, 3)), torch.randn(5, 3), 0.7
    y = gumbel_softmax(logits, tau, noise=noise, estimator="reinmax")
    (y * g).sum().backward()
    with torch.no_grad():
        d = one_hot_argmax(logits + noise)
        pi0 = logits.softmax(-1)
        pi1 = 0.5 * ((logits / tau).softmax(-1) + d)

        def jac_t(p):  # explicit (diag(p) - p p^T) g, row by row
            return torch.stack([(torch.diag(r) - torch.outer(r, r)) @ v for r, v in zip(p, g)])

        expected = 2 * jac_t(pi1) - 0.5 * jac_t(pi0)
    torch.testing.assert_close(logits.grad, expected)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_gradients_flow_to_the_logits(estimator):
    logits = torch.randn(16, 20, 10, requires_grad=True)
    y = gumbel_softmax(logits, 0.5, estimator=estimator)
    (y * torch.randn_like(y)).sum().backward()
    assert logits.grad is not None and torch.isfinite(logits.grad).all()
    assert logits.grad.abs().sum() > 0


def test_argmax_frequencies_match_softmax():
    # Gumbel-Max is exact: argmax(logits + g) ~ Categorical(softmax(logits)).
    n = 100_000
    probs = torch.tensor([0.05, 0.25, 0.7])
    logits = probs.log().expand(n, 3)
    y = gumbel_softmax(logits, 0.5, hard=True, generator=torch.Generator().manual_seed(0))
    freq = y.mean(0)
    # 5 standard errors sqrt(p(1-p)/n): a false alarm has probability < 1e-6 per class.
    tolerance = 5 * torch.sqrt(probs * (1 - probs) / n)
    assert ((freq - probs).abs() < tolerance).all(), (freq, probs, tolerance)


def test_agrees_in_distribution_with_torch_relaxed_categorical():
    # Mean of the relaxed sample against torch.distributions' own Concrete sampler.
    torch.manual_seed(0)
    logits, tau, n = torch.tensor([0.3, -1.0, 1.2, 0.0]), 0.8, 100_000
    ours = gumbel_softmax(logits.expand(n, 4), tau).mean(0)
    theirs = torch.distributions.RelaxedOneHotCategorical(tau, logits=logits).sample((n,)).mean(0)
    torch.testing.assert_close(ours, theirs, atol=0.01, rtol=0)


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("tau", [1e-8, 1e-3, 100.0])
def test_no_nan_or_inf_at_extremes(estimator, tau):
    logits = torch.tensor(
        [[1e4, -1e4, 0.0], [-1e30, 1e30, 0.0], [0.0, 0.0, 0.0]], requires_grad=True
    )
    y = gumbel_softmax(logits, tau, estimator=estimator)
    (y * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert torch.isfinite(y).all()
    assert torch.isfinite(logits.grad).all()


def test_bad_arguments_are_refused_clearly():
    with pytest.raises(ValueError, match="tau"):
        gumbel_softmax(torch.zeros(3), 0.0)
    with pytest.raises(ValueError, match="estimator"):
        gumbel_softmax(torch.zeros(3), 1.0, estimator="rein")
    with pytest.raises(ValueError, match="noise shape"):
        gumbel_softmax(torch.zeros(3), 1.0, noise=torch.zeros(4))
