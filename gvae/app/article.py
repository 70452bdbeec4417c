"""The reference article's implementation (its section 7) beside gvae's: the five bugs gvae
fixes, each with a small, honest measurement of what it does.

Quoted code is a few lines of the article's, reproduced to be criticized; gvae's side is
read from gvae's own source (`gvae_source`), so the page can never show stale code. The
short trainings behind some numbers are `python -m experiments.article_bugs`, which writes
experiments/article_bugs.json; everything else here is computed on the spot.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np

from gvae import infer
from gvae.config import ModelConfig
from gvae.infer import Network

RESULTS_PATH = Path(__file__).resolve().parents[2] / "experiments" / "article_bugs.json"
ARTICLE_BATCHES_PER_EPOCH = 600  # 60,000 training images in batches of 100
ARTICLE_TAU0, ARTICLE_TAU_MIN, ARTICLE_RATE = 1.0, 0.5, 3e-5  # the article's constants

# The article's lines, quoted (its "Implementation" section); the names are its own, the
# comments marked ◀ are ours.
ARTICLE_CODE = {
    "relu_logits": """\
def encode(self, x):
    h1 = self.relu(self.fc1(x))
    h2 = self.relu(self.fc2(h1))
    return self.relu(self.fc3(h2))   # ◀ the logits, clipped at 0""",
    "tau_schedule": """\
def train(epoch, model, optimizer):
    temp = temperature                # ◀ back to 1.0 at every epoch
    for batch_idx, (data, _) in enumerate(train_loader):
        ...
        if batch_idx % 100 == 1:
            temp = np.maximum(temp * np.exp(-ANNEAL_RATE * batch_idx), temp_min)  # ◀""",
    "grey_pixels": """\
train_loader = torch.utils.data.DataLoader(
    datasets.MNIST('./data/MNIST', train=True, download=True,
                   transform=transforms.ToTensor()),   # ◀ grey levels in [0, 1]
    batch_size=batch_size, shuffle=True, **kwargs)
...
dist_x = torch.distributions.Bernoulli(probs=probs_x, validate_args=False)
rec_loss = dist_x.log_prob(data.view(-1, 784)).sum(dim=-1)""",
    "sigmoid_log": """\
def decode(self, z):
    h4 = self.relu(self.fc4(z))
    h5 = self.relu(self.fc5(h4))
    return self.sigmoid(self.fc6(h5))   # ◀ probabilities
...
dist_x = torch.distributions.Bernoulli(probs=probs_x, validate_args=False)
rec_loss = dist_x.log_prob(data.view(-1, 784)).sum(dim=-1)   # ◀ log of a sigmoid""",
    "raw_logits": """\
def sample_img(self, img, temp, random=True):
    with torch.no_grad():
        logits_z = self.encode(img.view(-1, 784))
        logits_z = logits_z.view(-1, latent_dim, categorical_dim)
        if random:
            latent_z = gumbel_softmax(logits_z, temp, True)
        else:
            latent_z = logits_z.view(-1, latent_dim * categorical_dim)   # ◀ raw logits
        logits_x = self.decode(latent_z)""",
}

BUGS = {  # name: (short label, what it is)
    "relu_logits": ("ReLU on the logits", "ReLU on the encoder's logits"),
    "tau_schedule": ("τ schedule", "a τ schedule that compounds and resets every epoch"),
    "grey_pixels": ("grey pixels", "grey pixels in a Bernoulli likelihood"),
    "sigmoid_log": ("sigmoid, then log", "sigmoid, then log"),
    "raw_logits": ("raw logits decoded", "decoding raw encoder logits"),
}


GVAE_SOURCE = {  # per bug: gvae's functions that fix it, as (module file, qualified name)
    "relu_logits": [("model.py", "mlp"), ("model.py", "CategoricalVAE.encode")],
    "tau_schedule": [("schedule.py", "TemperatureSchedule.__call__")],
    "grey_pixels": [("data.py", "binarize")],
    "sigmoid_log": [("elbo.py", "_BernoulliNLL.forward"), ("elbo.py", "_BernoulliNLL.backward")],
    "raw_logits": [("model.py", "CategoricalVAE.decode_codes")],
}


def gvae_source(bug: str, docstrings: bool = False) -> str:
    """gvae's code for the part of the model the bug is in, read from its source files
    (parsed, not imported: showing torch code needs no torch), without docstrings unless
    asked: the page shows the code beside the article's."""
    return "\n\n".join(_function_source(*where, docstrings) for where in GVAE_SOURCE[bug])


def _function_source(filename: str, qualname: str, docstrings: bool) -> str:
    source = (Path(__file__).resolve().parents[1] / filename).read_text()
    node = ast.parse(source)
    for name in qualname.split("."):
        node = next(n for n in node.body if getattr(n, "name", None) == name)
    lines = source.splitlines()
    start = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
    body = lines[start : node.end_lineno]
    first = node.body[0]
    if not docstrings and isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        body = body[: first.lineno - 1 - start] + body[first.end_lineno - start :]
    indent = min(len(line) - len(line.lstrip()) for line in body if line.strip())
    return "\n".join(line[indent:] for line in body).rstrip()


# -- 1. ReLU on the logits -----------------------------------------------------------------
def relu_effect(net: Network, x) -> dict:
    """What a ReLU on this model's logits would do to its posterior, without retraining:
    the share of logits it would clip, the share of variables left with every logit <= 0
    (their q becomes exactly uniform), and the mean KL to the prior with and without it."""
    logits = net.encode(x)  # (B, N, K)
    clipped = np.maximum(logits, 0.0)
    return {
        "negative_share": float((logits < 0).mean()),
        "dead_variable_share": float((logits <= 0).all(-1).mean()),
        "kl": float(infer.kl_to_uniform(logits).mean()),
        "kl_relu": float(infer.kl_to_uniform(clipped).mean()),
    }


# -- 2. the temperature schedule -------------------------------------------------------------
def article_taus(
    epochs: int,
    batches_per_epoch: int = ARTICLE_BATCHES_PER_EPOCH,
    tau0: float = ARTICLE_TAU0,
    rate: float = ARTICLE_RATE,
    tau_min: float = ARTICLE_TAU_MIN,
) -> np.ndarray:
    """τ at every training step of the article's loop, run as written: τ restarts at
    tau0 each epoch and is multiplied by exp(-rate * batch_idx) every 100 batches."""
    taus = []
    for _ in range(epochs):
        temp = tau0
        for batch_idx in range(batches_per_epoch):
            taus.append(temp)  # the step's loss uses the τ before this iteration's update
            if batch_idx % 100 == 1:
                temp = float(np.maximum(temp * np.exp(-rate * batch_idx), tau_min))
    return np.array(taus)


def schedule_taus(steps: int, tau0=ARTICLE_TAU0, rate=ARTICLE_RATE, tau_min=ARTICLE_TAU_MIN):
    """τ at every step of gvae's TemperatureSchedule (Jang et al. 2017) with the same
    constants, updated every 100 steps like the article's."""
    from gvae.schedule import TemperatureSchedule

    schedule = TemperatureSchedule(tau0=tau0, tau_min=tau_min, rate=rate, every=100)
    return np.array([schedule(t) for t in range(steps)])


# -- 3. grey pixels ---------------------------------------------------------------------------
def grey_entropy_floor(images) -> np.ndarray:
    """Per image, sum over pixels of the binary entropy H(x_d) in nats: the least
    -sum_d log Bernoulli(x_d; p_d) can be for grey targets x_d, reached at p_d = x_d.
    A Bernoulli "likelihood" of grey pixels is a cross-entropy whose floor is this, not 0."""
    x = np.clip(np.asarray(images, dtype=np.float64), 0, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -(x * np.log(x) + (1 - x) * np.log1p(-x))
    return np.nan_to_num(h).sum(-1)


# -- 4. sigmoid, then log -----------------------------------------------------------------
def sigmoid_log_curves(logits, target: float = 0.0) -> dict[str, np.ndarray]:
    """-log p(x = target | pixel logit l) and its derivative d/dl, three ways, in float32
    (tests check values and gradients against torch's functions and autograd):

    - exact: binary_cross_entropy_with_logits (gvae), softplus(l) - x l;
    - naive: -log(1 - sigmoid(l)) or -log(sigmoid(l)), sigmoid then log;
    - article: Bernoulli(probs=sigmoid(l)).log_prob, which clamps probs inside [eps, 1-eps]
      (a clamp passes no gradient outside its open range).
    """
    logit = np.asarray(logits, dtype=np.float32)
    x, eps = np.float32(target), np.finfo(np.float32).eps
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        p = 1 / (1 + np.exp(-logit))  # as torch.sigmoid rounds: exactly 0 or 1 past |l| ~ 17, 88
        dp = p * (1 - p)  # dp/dl
        clamped = np.clip(p, eps, 1 - eps)
        article_logit = np.log(clamped) - np.log1p(-clamped)
        inside = (p > eps) & (p < 1 - eps)  # torch's clamp passes no gradient at its bounds
        curves = {
            "exact": np.logaddexp(np.float32(0), logit) - x * logit,
            "exact_grad": p - x,
            "naive": -(x * np.log(p) + (1 - x) * np.log(1 - p)),
            "naive_grad": (-x / p + (1 - x) / (1 - p)) * dp,
            "article": np.logaddexp(np.float32(0), article_logit) - x * article_logit,
            "article_grad": np.where(
                inside,
                (1 / (1 + np.exp(-article_logit)) - x) * (1 / clamped + 1 / (1 - clamped)) * dp,
                0,
            ),
        }
    return {"logit": logit.astype(np.float64)} | {
        k: v.astype(np.float64) for k, v in curves.items()
    }


def saturation(net: Network, x) -> dict:
    """How many of this model's pixel logits, decoding the argmax codes of images x, lie where
    float32 sigmoid returns exactly 0 or 1, so that its log is -inf; and how many of those
    pixels the naive sigmoid-then-log loss would score as infinite (wrong side)."""
    x = np.asarray(x, dtype=np.float32)
    logits = net.decode(infer.one_hot_argmax(net.encode(x)))  # (B, D)
    p = infer.sigmoid(logits)
    saturated = (p == 0) | (p == 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        naive = -(x * np.log(p) + (1 - x) * np.log(1 - p))
    return {
        "pixels": int(logits.size),
        "saturated_share": float(saturated.mean()),
        "infinite_pixels": int(np.isinf(naive).sum()),
        "images_with_infinite_loss": int(np.isinf(naive.sum(-1)).sum()),
        "max_abs_logit": float(np.abs(logits).max()),
    }


# -- 5. decoding raw logits ---------------------------------------------------------------
def raw_logit_decoding(net: Network, x) -> dict:
    """Reconstructions of binary images x (B, D) from four inputs to the decoder, with
    -log p(x|.) per image: the one-hot argmax code (what gvae decodes), q(z|x) itself,
    and the raw encoder logits (the article's sample_img(random=False))."""
    x = np.asarray(x, dtype=np.float32)
    z_logits = net.encode(x)
    inputs = {
        "argmax": infer.one_hot_argmax(z_logits),
        "probs": infer.softmax(z_logits),
        "raw_logits": z_logits,
    }
    out = {}
    for name, z in inputs.items():
        x_logits = net.decode(z)
        out[name] = {
            "means": infer.sigmoid(x_logits),
            "nll": infer.bernoulli_nll(x_logits, x).astype(np.float64),
        }
    out["logit_range"] = (float(z_logits.min()), float(z_logits.max()))
    return out


# -- the architecture -------------------------------------------------------------------------
def architecture(config: ModelConfig) -> list[dict]:
    """The model's stages, left to right, for the diagram: width, what the stage is (its
    lines short enough for a box on a projector), and its role."""
    n, k = config.latent_dim, config.categorical_dim
    enc = [config.image_size, *config.hidden]
    stages = [{"label": "x", "size": f"{config.image_size}", "kind": "data"}]
    stages += [{"label": "Linear\n+ ReLU", "size": str(h), "kind": "encoder"} for h in enc[1:]]
    stages += [
        {"label": "Linear\nlogits", "size": f"{n}×{k}", "kind": "encoder"},
        {"label": "Gumbel-\nSoftmax", "size": f"{n}×{k}", "kind": "sample"},
    ]
    stages += [
        {"label": "Linear\n+ ReLU", "size": str(h), "kind": "decoder"}
        for h in reversed(config.hidden)
    ]
    stages += [
        {"label": "Linear\nlogits", "size": str(config.image_size), "kind": "decoder"},
        {"label": "Bernoulli\np(x|z)", "size": str(config.image_size), "kind": "data"},
    ]
    return stages


def parameter_count(config: ModelConfig) -> int:
    """Weights and biases of the encoder and decoder MLPs (gvae.model.mlp), counted from
    the layer sizes (tests check it against the torch model)."""
    code = config.latent_dim * config.categorical_dim
    sizes = [config.image_size, *config.hidden, code]
    mlp = sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))
    reverse = sizes[::-1]
    return mlp + sum((a + 1) * b for a, b in zip(reverse, reverse[1:]))


# -- the precomputed short trainings ----------------------------------------------------------
def load_results(path: Path = RESULTS_PATH) -> dict | None:
    """experiments/article_bugs.json, or None when it has not been computed."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "runs" in data else None


def comparison(results: dict, variant: str) -> str | None:
    """One sentence comparing a bug's short training with gvae's, in the direction the
    numbers go (lower nats are better), or None when either run is missing."""
    runs = results.get("runs", {})
    if "gvae" not in runs or variant not in runs:
        return None
    ours, theirs = runs["gvae"], runs[variant]
    elbo = theirs["neg_elbo"] - ours["neg_elbo"]
    iw = theirs["iw_nll"] - ours["iw_nll"]

    def words(d: float) -> str:
        return f"{abs(d):.1f} nats {'worse' if d > 0 else 'better'}" if d else "the same"

    return (
        f"After {results['steps']:,} steps, the {variant} run scores {words(elbo)} than gvae's "
        f"on the test −ELBO and {words(iw)} on the IW-NLL (one seed each; how much of that "
        "another seed would change is not measured here)."
    )
