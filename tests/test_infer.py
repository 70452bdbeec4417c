"""gvae.infer, the app's numpy inference path, pinned to the torch originals it repeats:
CategoricalVAE on every shipped model, gvae.gumbel's forward values and the gradients
autograd takes through it, gvae.elbo and gvae.metrics.image_bounds."""

import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from gvae import infer
from gvae.config import ESTIMATORS
from gvae.elbo import bernoulli_nll, kl_to_uniform
from gvae.gumbel import gumbel_softmax
from gvae.metrics import image_bounds
from gvae.weights import WEIGHTS_DIR, load_model

SHIPPED = sorted(WEIGHTS_DIR.glob("*.safetensors"))
ATOL = 1e-5


def assert_logits_close(ours, theirs):
    """Logits: within 1e-5 of their scale. The shipped encoders' logits reach |190|, where
    one float32 ulp is 1.5e-5, and two float32 matrix products summing in different orders
    differ by a few ulps of their largest terms (3e-5 measured); probabilities and pixel
    means, what the pages show, are held to 1e-5 absolute."""
    ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
    assert np.abs(ours - theirs).max() <= ATOL * max(1.0, np.abs(theirs).max())


@pytest.fixture(scope="module")
def test_images(data_dir):
    from gvae.data import fixed_test_set

    binary, _ = fixed_test_set(data_dir, limit=200)
    return binary.numpy()


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_the_numpy_network_is_the_torch_model(path, test_images):
    model, net = load_model(path), infer.load(path)
    assert net.config == model.config and net.card == model.card
    x = torch.from_numpy(test_images)
    with torch.no_grad():
        logits = model.encode(x).numpy()
        posterior = model.posterior(x).numpy()
        codes = torch.randint(0, 10, (1000, 20), generator=torch.Generator().manual_seed(1))
        means = model.decode_codes(codes).numpy()
        relaxed = torch.softmax(torch.from_numpy(logits), -1)
        relaxed_logits = model.decode(relaxed).numpy()
    assert_logits_close(net.encode(test_images), logits)
    # q is softmax(logits), and the logits agree to ATOL of their scale: reinmax's reach
    # 853, where float32 alone differs by 2.4e-4 and q by 2.7e-5. So q is pinned to torch's
    # softmax of the same logits, and to the model's own q where the logits are moderate.
    ours = net.posterior(test_images)
    torch_q = torch.softmax(torch.from_numpy(net.encode(test_images)), -1).numpy()
    np.testing.assert_allclose(ours, torch_q, rtol=0, atol=ATOL)
    if np.abs(logits).max() <= 250:
        np.testing.assert_allclose(ours, posterior, rtol=0, atol=ATOL)
    np.testing.assert_allclose(net.decode_codes(codes.numpy()), means, rtol=0, atol=ATOL)
    assert_logits_close(net.decode(relaxed.numpy()), relaxed_logits)
    code, q = net.argmax_code(test_images[0])
    assert code == logits[0].argmax(-1).tolist()
    np.testing.assert_allclose(q, posterior[0], rtol=0, atol=ATOL)


@pytest.mark.parametrize("hard", [False, True])
@pytest.mark.parametrize("tau", [0.05, 0.5, 1.0, 5.0])
def test_gumbel_softmax_forward_is_gvae_gumbels(tau, hard):
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (64, 20, 10))
    noise = infer.sample_gumbel(logits.shape, rng)
    ours = infer.gumbel_softmax(logits, tau, noise, hard=hard)
    theirs = gumbel_softmax(
        torch.from_numpy(logits), tau, hard=hard, noise=torch.from_numpy(noise)
    ).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=ATOL)
    with pytest.raises(ValueError):
        infer.gumbel_softmax(logits, 0.0, noise)


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("tau", [0.1, 0.7, 2.0])
def test_estimator_gradients_are_autograds_through_gvae_gumbel(estimator, tau):
    """A non-linear f(z) = sum (z . c - 1/2)^2 + sum z^3, so the forward value matters."""
    rng = np.random.default_rng(int(tau * 10))
    logits = rng.normal(0, 2, (500, 7))
    noise = infer.sample_gumbel(logits.shape, rng)
    c = np.linspace(0, 1, 7)

    def grad_of(z):
        return 2 * (z @ c - 0.5)[:, None] * c + 3 * z**2

    theirs_logits = torch.tensor(logits, requires_grad=True)
    z = gumbel_softmax(theirs_logits, tau, noise=torch.from_numpy(noise), estimator=estimator)
    ((z @ torch.from_numpy(c) - 0.5) ** 2 + (z**3).sum(-1)).sum().backward()
    ours = infer.estimator_gradient(logits, tau, noise, estimator, grad_of)
    np.testing.assert_allclose(ours, theirs_logits.grad.numpy(), rtol=0, atol=ATOL)


def test_gumbel_noise_is_finite_and_standard():
    g = infer.gumbel_noise((200_000,), seed=3)
    assert np.isfinite(g).all()
    assert g.mean() == pytest.approx(np.euler_gamma, abs=0.01)
    assert g.var() == pytest.approx(math.pi**2 / 6, abs=0.03)
    np.testing.assert_array_equal(g, infer.gumbel_noise((200_000,), seed=3))
    extremes = -np.log(-np.log(np.clip([0.0, 1.0], np.finfo(float).tiny, 1 - np.finfo(float).eps)))
    assert np.isfinite(extremes).all()


def test_the_objective_and_the_bounds_are_gvaes(test_images):
    model, net = load_model(), infer.load()
    x = test_images[:16]
    with torch.no_grad():
        z_logits = model.encode(torch.from_numpy(x))
        x_logits = model.decode(torch.softmax(z_logits, -1))
        noise = infer.gumbel_noise((50, *z_logits.shape), seed=0, dtype=np.float32)
        theirs = image_bounds(model, torch.from_numpy(x), 50, noise=torch.from_numpy(noise))
        nll = bernoulli_nll(x_logits, torch.from_numpy(x)).numpy()
        kl = kl_to_uniform(z_logits).numpy()
    np.testing.assert_allclose(infer.bernoulli_nll(x_logits.numpy(), x), nll, rtol=1e-6)
    np.testing.assert_allclose(infer.kl_to_uniform(z_logits.numpy()), kl, rtol=1e-5, atol=ATOL)
    ours = infer.image_bounds(net, x, noise)
    for a, b in zip(ours, theirs):  # ~100 nats: 1e-5 of the value, float32's precision
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-5)


def test_viewing_imports_no_torch():
    """The inference path and every app module a page imports load without torch."""
    modules = [
        "gvae.infer",
        "gvae.app.article",
        "gvae.app.bounds",
        "gvae.app.gumbel_vae",
        "gvae.app.jobs",
        "gvae.app.kl",
        "gvae.app.latent",
        "gvae.app.live",
        "gvae.app.playground",
        "gvae.app.prior",
        "gvae.app.reparam",
    ]
    code = "import sys, " + ", ".join(modules) + "; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
