"""The training step's fast paths against plain ops: the short-axis softmax, the reused
batch buffers, the compiled loss, and the Trainer as a whole against the same recipe
spelled with nn.functional ops."""

import math
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

import gvae.elbo
import gvae.softmax
from gvae import CategoricalVAE, NonFiniteLossError, TrainConfig, Trainer, load_mnist
from gvae.data import binarize
from gvae.softmax import log_softmax, softmax
from gvae.trainer import COMPILE_ENV, epoch_order


def plain_mlp(mlp: torch.nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """What nn.Sequential(Linear, ReLU, ..., Linear) computes, through autograd's own nodes."""
    linears = [m for m in mlp if isinstance(m, torch.nn.Linear)]
    for i, linear in enumerate(linears):
        x = F.linear(x, linear.weight, linear.bias)
        if i < len(linears) - 1:
            x = F.relu(x)
    return x


@pytest.mark.parametrize("shape", [(100, 20, 10), (7, 3), (5,), (4, 2, 32), (3, 1, 2)])
def test_short_axis_softmax_equals_torch_to_rounding(shape):
    x = (torch.randn(shape) * 4).requires_grad_()
    upstream = torch.randn(shape)
    for ours, theirs in [(softmax, F.softmax), (log_softmax, F.log_softmax)]:
        mine = ours(x)
        (grad,) = torch.autograd.grad((mine * upstream).sum(), x)
        reference = theirs(x, dim=-1)
        (reference_grad,) = torch.autograd.grad((reference * upstream).sum(), x)
        torch.testing.assert_close(mine, reference, rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(grad, reference_grad, rtol=1e-5, atol=1e-6)


def test_binarize_into_buffers_draws_what_a_fresh_call_draws():
    grey = torch.rand(10, 784)
    fresh = binarize(grey, torch.Generator().manual_seed(3))
    noise, out = torch.empty_like(grey), torch.full_like(grey, 7.0)
    reused = binarize(grey, torch.Generator().manual_seed(3), noise, out=out)
    assert reused is out and torch.equal(reused, fresh)


def reference_training(config: TrainConfig, images: torch.Tensor, steps: int) -> list:
    """The Trainer's recipe in plain ops: a gathered batch, U < p, nn.functional layers,
    F.softmax / F.log_softmax over the last axis, Adam; returns the losses and parameters."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = CategoricalVAE()
    params = list(model.parameters())
    optimizer = torch.optim.Adam(params, lr=config.lr, fused=True)
    generator = torch.Generator().manual_seed(config.seed)
    trainer = Trainer(config, images=images)  # for its schedule only
    b, per_epoch, losses = config.batch_size, len(images) // config.batch_size, []
    for step in range(steps):
        epoch, position = divmod(step, per_epoch)
        grey = images[epoch_order(len(images), config.seed, epoch)][
            position * b : (position + 1) * b
        ]
        x = (torch.rand(grey.shape, generator=generator) < grey).float()
        z_logits = plain_mlp(model.encoder, x).view(-1, 20, 10)
        u = torch.rand(z_logits.shape, generator=generator)
        u = u.clamp(min=torch.finfo(u.dtype).tiny, max=1.0 - torch.finfo(u.dtype).eps)
        z = F.softmax((z_logits + -torch.log(-torch.log(u))) / trainer.schedule(step), dim=-1)
        x_logits = plain_mlp(model.decoder, z.view(-1, 200))
        reconstruction = F.binary_cross_entropy_with_logits(x_logits, x, reduction="none")
        log_q = F.log_softmax(z_logits, dim=-1)
        kl = (log_q.exp() * (log_q + math.log(10))).sum(dim=(-2, -1))
        loss = reconstruction.sum(-1).mean() + kl.mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, params


@pytest.fixture(scope="module")
def recipe():
    images, _ = load_mnist("train", limit=1000)
    config = TrainConfig(epochs=30, max_steps=300, anneal_every=50, anneal_rate=1e-3, seed=1)
    return config, images, reference_training(config, images, 300)


def test_trainer_is_the_plain_recipe_bitwise_but_for_two_kernels(recipe, monkeypatch):
    """Buffers, gathers, the cheaper checks: none changes a bit. The short-axis softmax
    and the cross-entropy's log(1 + u) round differently (each pinned by its own test)."""
    config, images, (losses, params) = recipe
    monkeypatch.setattr(gvae.softmax, "_transposed", lambda x: False)  # torch's own kernel
    monkeypatch.setattr(
        gvae.elbo,
        "bernoulli_nll",
        lambda lg, x: F.binary_cross_entropy_with_logits(lg, x, reduction="none").sum(-1),
    )
    trainer = Trainer(config, images=images)
    trainer.run()
    assert [h["loss"] for h in trainer.history] == losses
    for mine, theirs in zip(trainer.model.parameters(), params):
        assert torch.equal(mine, theirs)


def test_trainer_follows_the_plain_recipe_to_float_rounding(recipe):
    """The two kernels round differently in the last bit; training is chaotic, so
    the runs part slowly: equal to 1e-5 for 50 steps, the same curve after 300. (Weights
    are not compared: Adam turns a last-bit change of a near-zero gradient into a full
    step of the other sign.)"""
    config, images, (losses, _) = recipe
    trainer = Trainer(config, images=images)
    trainer.run()
    ours = [h["loss"] for h in trainer.history]
    assert ours[:50] == pytest.approx(losses[:50], rel=1e-5)
    assert ours == pytest.approx(losses, rel=1e-2)
    assert sum(ours[-100:]) == pytest.approx(sum(losses[-100:]), rel=2e-3)


def test_a_non_finite_gradient_stops_the_step_and_keeps_the_weights():
    images, _ = load_mnist("train", limit=500)
    trainer = Trainer(TrainConfig(max_steps=50), images=images)
    trainer.train_step()
    before = [p.detach().clone() for p in trainer.model.parameters()]
    real_encode = trainer.model.encode

    def poisoned(x):  # finite values, a NaN gradient into the encoder
        z_logits = real_encode(x)
        z_logits.register_hook(lambda grad: grad * float("nan"))
        return z_logits

    trainer.model.encode = poisoned
    with pytest.raises(NonFiniteLossError, match="non-finite gradient at step 1"):
        trainer.train_step()
    assert trainer.step == 1
    for a, b in zip(before, trainer.model.parameters()):
        assert torch.equal(a, b)


def test_gvae_compile_trains_as_eager_does(monkeypatch):
    """GVAE_COMPILE=1: the loss and its backward through torch.compile (inductor), the same
    noise drawn, the same numbers to rounding."""
    images, _ = load_mnist("train", limit=500)
    config = TrainConfig(max_steps=5, anneal_every=2, anneal_rate=0.1)  # tau changes twice
    eager = Trainer(config, images=images)
    eager.run()
    monkeypatch.setenv(COMPILE_ENV, "1")
    compiled = Trainer(config, images=images)
    assert compiled._compiled_loss is not None
    compiled.run()
    assert compiled._compiled_loss is not None  # no fallback on the way
    assert [h["loss"] for h in compiled.history] == pytest.approx(
        [h["loss"] for h in eager.history], rel=1e-5
    )


def test_gvae_compile_falls_back_to_eager_when_compiling_fails(monkeypatch):
    images, _ = load_mnist("train", limit=500)
    config = TrainConfig(max_steps=3)
    eager = Trainer(config, images=images)
    eager.run()

    def no_compiler(*args, **kwargs):
        raise RuntimeError("no C++ compiler")

    monkeypatch.setenv(COMPILE_ENV, "1")
    monkeypatch.setattr(torch, "compile", no_compiler)
    with pytest.warns(UserWarning, match="no C\\+\\+ compiler"):
        fallback = Trainer(config, images=images)
    assert fallback._compiled_loss is None
    fallback.run()
    assert [h["loss"] for h in fallback.history] == [h["loss"] for h in eager.history]


def test_gvae_compile_falls_back_when_a_compiled_step_fails(monkeypatch):
    """A failure at a later step (e.g. a recompilation) switches to eager for good, with
    the step's own noise: the run is the eager run, bitwise."""
    images, _ = load_mnist("train", limit=500)
    config = TrainConfig(max_steps=3)
    eager = Trainer(config, images=images)
    eager.run()
    monkeypatch.setenv(COMPILE_ENV, "1")
    calls = []

    def compiles_then_fails(function, **kwargs):
        def compiled(*args):
            calls.append(args)
            if len(calls) > 1:  # the warm-up call works, the first real step fails
                raise RuntimeError("recompilation failed")
            return function(*args)

        return compiled

    monkeypatch.setattr(torch, "compile", compiles_then_fails)
    trainer = Trainer(config, images=images)
    with pytest.warns(UserWarning, match="recompilation failed"):
        trainer.run()
    assert trainer._compiled_loss is None and len(calls) == 2
    assert [h["loss"] for h in trainer.history] == [h["loss"] for h in eager.history]


def test_cli_flushes_subnormals_before_torch_starts_its_threads(tmp_path, monkeypatch):
    """torch's worker threads copy the flush-to-zero setting when they start (at the first
    parallel op, e.g. loading MNIST); set after that, they kept computing subnormal floats
    in microcode and a step took 9 ms instead of 5 from the second epoch on."""
    import gvae.train as train_cli

    events = []
    real_init = Trainer.__init__

    def recording_init(self, *args, **kwargs):
        events.append("trainer")
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(torch, "set_flush_denormal", lambda on: events.append(f"flush {on}"))
    monkeypatch.setattr(Trainer, "__init__", recording_init)
    args = ["--max-steps", "2", "--train-size", "300", "--no-progress"]
    assert train_cli.main([*args, "--out", str(tmp_path / "m.safetensors")]) == 0
    assert events[:2] == ["flush True", "trainer"]


HEAP_OR_MMAP = """
import ctypes, sys, torch
from gvae import TrainConfig, Trainer
from gvae.trainer import prepare_cpu

class MallInfo2(ctypes.Structure):  # glibc's struct mallinfo2
    _fields_ = [(n, ctypes.c_size_t) for n in "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
if sys.argv[1] == "prepared":
    prepare_cpu()
else:
    torch.set_flush_denormal(True)  # prepare_cpu less the allocator setting
torch.set_num_threads(1)
before = libc.mallinfo2().hblks
activation = torch.empty(100, 784 * 4)  # a step's largest temporaries are this size
mapped = libc.mallinfo2().hblks - before
del activation
trainer = Trainer(TrainConfig(epochs=100, train_size=2000, max_steps=60))
trainer.run()
print(mapped, repr([h["loss"] for h in trainer.history]))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_prepare_cpu_keeps_a_steps_temporaries_in_the_heap_and_changes_no_loss():
    """By default glibc maps a block above 128 KB from the kernel and unmaps it when
    freed, so each step faulted its temporaries in again (26-80 minor faults a step,
    docs/benchmarks.md); after prepare_cpu they come from the heap and stay there. Where
    memory comes from changes no number: the losses are the same to the bit."""

    def run(mode: str) -> tuple[int, str]:
        out = subprocess.run(
            [sys.executable, "-c", HEAP_OR_MMAP, mode], capture_output=True, text=True, check=True
        )
        mapped, losses = out.stdout.strip().splitlines()[-1].split(" ", 1)
        return int(mapped), losses

    (plain_mapped, plain_losses), (mapped, losses) = run("plain"), run("prepared")
    assert (plain_mapped, mapped) == (1, 0)
    assert losses == plain_losses and len(losses) > 500  # 60 losses, as repr
