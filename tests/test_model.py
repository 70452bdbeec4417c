"""Config, schedule, ELBO and model properties on small random tensors."""

import math
import subprocess
import sys

import pytest
import torch

import gvae
from gvae import CategoricalVAE, ModelConfig, TemperatureSchedule, TrainConfig
from gvae.elbo import kl_to_uniform, negative_elbo
from gvae.metrics import evaluate


def test_import_gvae_does_not_import_streamlit():
    code = "import sys, gvae; sys.exit(int('streamlit' in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_default_architecture_is_the_papers():
    model = CategoricalVAE()
    shapes = [tuple(p.shape) for n, p in model.named_parameters() if n.endswith("weight")]
    assert shapes == [(512, 784), (256, 512), (200, 256), (256, 200), (512, 256), (784, 512)]
    # The encoder ends in a Linear: no activation clips the logits.
    assert isinstance(model.encoder[-1], torch.nn.Linear)
    assert isinstance(model.decoder[-1], torch.nn.Linear)


def test_encode_decode_shapes():
    model = CategoricalVAE()
    x = torch.rand(7, 784)
    z_logits = model.encode(x)
    assert z_logits.shape == (7, 20, 10)
    assert (z_logits < 0).any(), "logits must be free to go negative"
    assert model.decode(torch.softmax(z_logits, -1)).shape == (7, 784)
    images = model.decode_codes(model.sample_prior(5))
    assert images.shape == (5, 784) and images.min() >= 0 and images.max() <= 1


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"latent_dim": 0}, "latent_dim"),
        ({"categorical_dim": 1}, "categorical_dim"),
        ({"hidden": ()}, "hidden"),
        ({"hidden": (512, -3)}, "hidden"),
        ({"image_size": 2.5}, "image_size"),
    ],
)
def test_model_config_rejects_invalid_values(kwargs, field):
    with pytest.raises(ValueError, match=field):
        ModelConfig(**kwargs)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"lr": -1.0}, "lr"),
        ({"batch_size": 0}, "batch_size"),
        ({"tau0": 0.0}, "tau0"),
        ({"tau_min": 2.0}, "tau_min"),
        ({"estimator": "magic"}, "estimator"),
        ({"device": "tpu"}, "device"),
        ({"epochs": 0}, "epochs"),
    ],
)
def test_train_config_rejects_invalid_values(kwargs, field):
    with pytest.raises(ValueError, match=field):
        TrainConfig(**kwargs)


def test_schedule_values():
    s = TemperatureSchedule(tau0=1.0, tau_min=0.5, rate=3e-5, every=1000)
    assert s(0) == 1.0
    assert s(999) == 1.0  # held until the next multiple of `every`
    assert s(1000) == pytest.approx(math.exp(-0.03))
    assert s(1999) == s(1000)
    assert s(10_000) == pytest.approx(math.exp(-0.3))
    assert s(1_000_000) == 0.5  # floored at tau_min
    # Monotone non-increasing, a function of the step alone (no per-epoch reset).
    values = [s(t) for t in range(0, 60_000, 500)]
    assert all(a >= b for a, b in zip(values, values[1:]))


def test_schedule_rejects_a_negative_step():
    with pytest.raises(ValueError, match="step"):
        TemperatureSchedule()(-1)


def test_the_trainer_schedule_is_the_config_schedule():
    config = TrainConfig(tau0=2.0, tau_min=0.2, anneal_rate=1e-3, anneal_every=10)
    assert TemperatureSchedule.of(config) == TemperatureSchedule(2.0, 0.2, 1e-3, 10)


def test_kl_is_nonnegative_and_zero_at_the_uniform_posterior():
    assert torch.equal(kl_to_uniform(torch.zeros(3, 20, 10)), torch.zeros(3))
    kl = kl_to_uniform(torch.randn(100, 20, 10) * 3)
    assert (kl >= 0).all()
    # A one-hot posterior costs log K per variable: the maximum.
    one_hot = torch.full((1, 20, 10), -1e4)
    one_hot[..., 0] = 0
    torch.testing.assert_close(kl_to_uniform(one_hot), torch.tensor([20 * math.log(10)]))


def test_kl_matches_torch_distributions():
    logits = torch.randn(4, 20, 10)
    q = torch.distributions.Categorical(logits=logits)
    p = torch.distributions.Categorical(probs=torch.full((4, 20, 10), 0.1))
    torch.testing.assert_close(
        kl_to_uniform(logits), torch.distributions.kl_divergence(q, p).sum(-1)
    )


def test_reconstruction_from_logits_matches_bernoulli_log_prob_and_stays_finite():
    x = torch.bernoulli(torch.rand(4, 784))
    x_logits = torch.randn(4, 784) * 5
    terms = negative_elbo(x_logits, x, torch.zeros(4, 20, 10))
    expected = -torch.distributions.Bernoulli(logits=x_logits).log_prob(x).sum(-1).mean()
    torch.testing.assert_close(terms.reconstruction, expected)
    # Saturated logits: sigmoid-then-log would give inf; logits stay exact.
    wrong = negative_elbo(torch.full((1, 784), 200.0), torch.zeros(1, 784), torch.zeros(1, 20, 10))
    assert torch.isfinite(wrong.loss) and wrong.loss.item() == pytest.approx(784 * 200)


@pytest.mark.parametrize("scale", [1.0, 8.0, 40.0])
@pytest.mark.parametrize("shape", [(100, 784), (3, 7, 784)])
def test_bernoulli_nll_is_pytorchs_bce_with_logits_and_its_gradient(scale, shape):
    """Pinned to F.binary_cross_entropy_with_logits: the value as close to a float64
    reference as PyTorch's own float32 one is, and the same gradient."""
    import torch.nn.functional as F

    from gvae.elbo import bernoulli_nll

    g = torch.Generator().manual_seed(int(scale))
    logits = (torch.randn(shape, generator=g) * scale).requires_grad_()
    x = torch.bernoulli(torch.full(shape, 0.3), generator=g)
    weights = torch.rand(shape[:-1], generator=g)

    def bce(lg, target):
        return F.binary_cross_entropy_with_logits(lg, target, reduction="none").sum(-1)

    reference = bce(logits.detach().double(), x.double())
    theirs, ours = bce(logits.detach(), x), bernoulli_nll(logits, x)
    tolerance = 2 * (theirs.double() - reference).abs().max().item() + 1e-5
    assert (ours.double() - reference).abs().max().item() <= tolerance
    (gradient,) = torch.autograd.grad((ours * weights).sum(), logits)
    lg = logits.detach().requires_grad_()
    (expected,) = torch.autograd.grad((bce(lg, x) * weights).sum(), lg)
    torch.testing.assert_close(gradient, expected, rtol=1e-6, atol=1e-7)


def test_bernoulli_nll_passes_gradcheck_in_float64():
    from gvae.elbo import bernoulli_nll

    logits = (torch.randn(3, 16, dtype=torch.float64) * 6).requires_grad_()
    x = torch.bernoulli(torch.full((3, 16), 0.5, dtype=torch.float64))
    assert torch.autograd.gradcheck(lambda lg: bernoulli_nll(lg, x), (logits,))


@pytest.mark.parametrize("estimator", gvae.ESTIMATORS)
def test_loss_backpropagates_into_the_encoder(estimator):
    model = CategoricalVAE()
    x = torch.bernoulli(torch.rand(8, 784))
    terms = model.loss(x, tau=0.7, estimator=estimator)
    terms.loss.backward()
    torch.testing.assert_close(terms.loss, terms.reconstruction + terms.kl)
    assert model.encoder[0].weight.grad.abs().sum() > 0


def test_iw_bound_is_tighter_than_the_elbo():
    torch.manual_seed(0)
    model = CategoricalVAE(ModelConfig(latent_dim=4, categorical_dim=3, hidden=(32,)))
    x = torch.bernoulli(torch.rand(50, 784))
    m = evaluate(model, x, iw_samples=200)
    assert m["iw_nll"] <= m["neg_elbo"]
    assert m["n_images"] == 50 and m["iw_samples"] == 200
