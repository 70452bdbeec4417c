"""Weights files: safetensors, with the model config and card in the header.

A safetensors file (the format model hubs use) is an 8-byte little-endian header length,
a JSON header naming each tensor's dtype, shape and byte range, then the raw bytes. It
holds no code, and its header can be read without torch: the app lists models and shows
their cards from headers alone, and the page's JavaScript can read the decoder directly.
gvae's `__metadata__` holds `format` ("gvae"), `format_version`, `model_config` and `card`
(both JSON). Besides the model's tensors, a file holds `preview.prior_means`: the seed-0
prior codes (`prior_codes`) decoded to Bernoulli means as uint8, the picture Home opens
on, so Home's first paint needs no torch either.

Files are untrusted input. Everything the header declares is checked against the config
before a byte of tensor data is read: only regular files up to MAX_FILE_BYTES, a header up
to MAX_HEADER_BYTES, exactly the tensor names and shapes the config implies, byte ranges
that tile the file. Every failure is a CheckpointError naming the file and the problem.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import stat
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gvae.config import ModelConfig
from gvae.errors import CheckpointError

SUFFIX = ".safetensors"
FORMAT, FORMAT_VERSION = "gvae", "2"
DEFAULT_NAME = f"gvae-default{SUFFIX}"


def _shipped_dir() -> Path:
    """weights/ beside the package in the repository; gvae/shipped/ once pip-installed
    (pyproject.toml maps the one folder to the other)."""
    repo = Path(__file__).resolve().parent.parent / "weights"
    return repo if (repo / DEFAULT_NAME).is_file() else Path(__file__).resolve().parent / "shipped"


WEIGHTS_DIR = _shipped_dir()
DEFAULT_WEIGHTS = WEIGHTS_DIR / DEFAULT_NAME
SHIPPED_NAMES = ("gvae-default", "gvae-gumbel", "gvae-st-gumbel", "gvae-reinmax")
WEIGHTS_DIR_ENV = "GVAE_WEIGHTS_DIR"  # where the app lists and saves models
MAX_FILE_BYTES = 256 << 20  # the default model is 4.7 MB
MAX_HEADER_BYTES = 1 << 20
PREVIEW_KEY, PREVIEW_COUNT, PREVIEW_SEED = "preview.prior_means", 32, 0
_DTYPES = {"F32": (np.float32, 4), "U8": (np.uint8, 1)}


def user_weights_dir() -> Path:
    """The folder the app lists models from and saves to: $GVAE_WEIGHTS_DIR or weights/."""
    return Path(os.environ.get(WEIGHTS_DIR_ENV) or WEIGHTS_DIR)


def is_shipped(path: str | os.PathLike) -> bool:
    """A file that ships with gvae (any case, any suffix, in the shipped folder)."""
    path = Path(path)
    return path.parent.resolve() == WEIGHTS_DIR.resolve() and (
        path.name.lower().removesuffix(SUFFIX).removesuffix(".pt") in SHIPPED_NAMES
    )


def prior_codes(config: ModelConfig, seed: int = PREVIEW_SEED) -> np.ndarray:
    """PREVIEW_COUNT codes drawn uniformly from the prior by numpy's generator `seed`;
    seed 0's are the stored preview. (COUNT, N)"""
    rng = np.random.default_rng(seed)
    return rng.integers(config.categorical_dim, size=(PREVIEW_COUNT, config.latent_dim))


def expected_shapes(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """The tensor names and shapes of CategoricalVAE(config).state_dict(), without torch:
    Linear layers at even indices of each nn.Sequential (ReLUs between them)."""
    c = config
    shapes = {PREVIEW_KEY: (PREVIEW_COUNT, c.image_size)}
    for net, sizes in (
        ("encoder", [c.image_size, *c.hidden, c.code_size]),
        ("decoder", [c.code_size, *reversed(c.hidden), c.image_size]),
    ):
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            shapes[f"{net}.{2 * i}.weight"] = (fan_out, fan_in)
            shapes[f"{net}.{2 * i}.bias"] = (fan_out,)
    return shapes


# -- reading: header first, checked, then the bytes ---------------------------------------
@dataclass
class Header:
    config: ModelConfig
    card: dict
    tensors: dict[str, tuple[str, tuple[int, ...], int, int]]  # name -> dtype, shape, begin, end
    data_start: int  # file offset of the first tensor byte


def read_bytes(path: str | os.PathLike, limit: int = MAX_FILE_BYTES) -> bytes:
    """A regular file's bytes, refusing anything else (FIFO, device, folder) before it
    could block or stream forever, and anything over `limit` bytes."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise CheckpointError(path, "no such file") from None
    except OSError as error:
        raise CheckpointError(path, f"cannot be opened ({error.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise CheckpointError(path, "not a regular file")
        if info.st_size > limit:
            raise CheckpointError(path, f"{info.st_size:,} bytes; the limit is {limit:,}")
        with os.fdopen(os.dup(fd), "rb") as f:
            return f.read(limit + 1)[:limit]
    finally:
        os.close(fd)


def parse_header(data: bytes, path) -> Header:
    """The checked header of a gvae safetensors file's bytes; CheckpointError if anything
    in it is malformed, foreign, or disagrees with the config or the file's size."""
    if len(data) < 8:
        raise CheckpointError(path, "not a safetensors file (shorter than 8 bytes)")
    (length,) = struct.unpack("<Q", data[:8])
    if length > min(MAX_HEADER_BYTES, len(data) - 8):
        raise CheckpointError(path, "not a safetensors file (header length out of range)")
    try:
        header = json.loads(data[8 : 8 + length])
        meta = header.pop("__metadata__", None) or {}
        if meta.get("format") != FORMAT:
            raise CheckpointError(path, "not a gvae weights file (no format=gvae in its header)")
        if meta.get("format_version") != FORMAT_VERSION:
            raise CheckpointError(path, f"format version {meta.get('format_version')!r}")
        config = ModelConfig.from_dict(json.loads(meta["model_config"]))
        card = json.loads(meta.get("card", "{}"))
    except CheckpointError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as error:
        raise CheckpointError(path, f"invalid header: {error}") from None
    check_card(card, path)
    tensors = _check_tensors(header, config, len(data) - 8 - length, path)
    return Header(config, card, tensors, 8 + length)


def _check_tensors(header: dict, config: ModelConfig, data_size: int, path) -> dict:
    expected = expected_shapes(config)
    if set(header) != set(expected):
        missing, extra = sorted(set(expected) - set(header)), sorted(set(header) - set(expected))
        raise CheckpointError(
            path, f"tensors do not match the config (missing {missing[:3]}, extra {extra[:3]})"
        )
    tensors, ranges = {}, []
    for name, shape in expected.items():
        want = "U8" if name == PREVIEW_KEY else "F32"
        try:
            dtype, begin, end = _entry(header[name], shape, want)
        except (ValueError, TypeError, AttributeError) as error:
            raise CheckpointError(path, f"tensor {name}: {error}") from None
        tensors[name] = (dtype, shape, begin, end)
        ranges.append((begin, end))
    position = 0
    for begin, end in sorted(ranges):  # the byte ranges must tile the data exactly
        if begin != position:
            raise CheckpointError(path, "tensor byte ranges overlap or leave gaps")
        position = end
    if position != data_size:
        raise CheckpointError(path, f"file size disagrees with its header ({data_size} bytes)")
    return tensors


def _entry(entry: dict, shape: tuple[int, ...], dtype: str) -> tuple[str, int, int]:
    """A header entry's (dtype, begin, end) once it matches the expected shape and dtype."""
    if entry.get("dtype") != dtype:
        raise ValueError(f"not {dtype}")
    offsets = entry.get("data_offsets")
    if not (
        isinstance(offsets, list)
        and len(offsets) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in offsets)
    ):
        raise ValueError(f"bad data_offsets {str(offsets)[:40]}")
    begin, end = offsets
    if (
        list(entry.get("shape", ())) != list(shape)
        or end - begin != math.prod(shape) * (_DTYPES[dtype][1])
    ):
        raise ValueError(f"not of shape {shape}")
    return dtype, begin, end


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_card(card, path) -> None:
    """A card's fields that the app shows have the types and ranges it expects."""
    if not isinstance(card, dict):
        raise CheckpointError(path, f"the model card is a {type(card).__name__}, not a mapping")
    metrics = card.get("metrics")
    if metrics is not None:
        ok = isinstance(metrics, dict) and all(
            _finite(metrics.get(k)) and 0 <= metrics[k] < 1e6 for k in ("neg_elbo", "iw_nll")
        )
        ok = ok and all(
            isinstance(metrics.get(k), int) and metrics[k] >= 1 for k in ("n_images", "iw_samples")
        )
        if not ok:
            raise CheckpointError(path, "invalid model card: malformed metrics")
    for key in ("steps", "train_images"):
        if key in card and not (isinstance(card[key], int) and card[key] >= 0):
            raise CheckpointError(path, f"invalid model card: {key} must be a whole number")
    if "train_seconds" in card and not (
        _finite(card["train_seconds"]) and card["train_seconds"] >= 0
    ):
        raise CheckpointError(path, "invalid model card: train_seconds must be a number")
    runs = card.get("seed_runs", [])  # the estimator table's spread (gvae.app.estimators)
    if not isinstance(runs, list) or not all(
        isinstance(run, dict) and all(_finite(run.get(k)) for k in ("neg_elbo", "iw_nll"))
        for run in runs
    ):
        raise CheckpointError(path, "invalid model card: malformed seed_runs")
    for key in ("train_config", "final_train_metrics"):
        if key in card and not isinstance(card[key], dict):
            raise CheckpointError(path, f"invalid model card: {key} must be a mapping")


def read_header(path: str | os.PathLike) -> Header:
    """The checked header of a weights file, reading no tensor data beyond the preview."""
    return parse_header(read_bytes(path), path)


def read_preview(path: str | os.PathLike) -> np.ndarray | None:
    """The stored prior samples (PREVIEW_COUNT, D) as uint8 Bernoulli means, or None."""
    try:
        data = read_bytes(path)
        dtype, shape, begin, end = parse_header(data, path).tensors[PREVIEW_KEY]
    except CheckpointError:
        return None
    start = 8 + struct.unpack("<Q", data[:8])[0]
    return np.frombuffer(data, np.uint8, end - begin, start + begin).reshape(shape)


def load_arrays(path: str | os.PathLike | None = None) -> tuple[Header, dict[str, np.ndarray]]:
    """A weights file's checked header and its model tensors as numpy arrays (state_dict
    names, torch's (out, in) weight layout), read by safetensors.numpy: no torch. The
    header is checked before the tensors are read."""
    import safetensors.numpy

    path = Path(path) if path is not None else DEFAULT_WEIGHTS
    data = read_bytes(path)
    header = parse_header(data, path)
    arrays = safetensors.numpy.load(data)
    arrays.pop(PREVIEW_KEY)
    return header, arrays


def load_model(path: str | os.PathLike | None = None, device: str = "cpu"):
    """A CategoricalVAE from a weights file (default: the shipped default), in eval mode,
    its card as `.card`. The header is checked before any tensor is built."""
    import safetensors.torch

    from gvae.model import CategoricalVAE

    path = Path(path) if path is not None else DEFAULT_WEIGHTS
    data = read_bytes(path)
    header = parse_header(data, path)
    tensors = safetensors.torch.load(data)
    tensors.pop(PREVIEW_KEY)
    model = CategoricalVAE(header.config)
    model.load_state_dict(tensors)  # names and shapes were checked against the config
    model.card = header.card
    return model.to(device).eval()


# -- writing -------------------------------------------------------------------------------
def to_bytes(model, card: dict | None = None) -> bytes:
    """A weights file's bytes: the model's tensors, its preview, its config and card."""
    import safetensors.torch
    import torch

    codes = torch.as_tensor(prior_codes(model.config))
    means = model.decode_codes(codes).cpu()  # (COUNT, D) in [0, 1]
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    tensors[PREVIEW_KEY] = (means * 255 + 0.5).to(torch.uint8)
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model_config": json.dumps(model.config.to_dict()),
        "card": json.dumps(card or {}),
    }
    return safetensors.torch.save(tensors, metadata)


def atomic_write(path: str | os.PathLike, data: bytes) -> Path:
    """Write to a temporary file in the target folder, then rename it over the target,
    so a crash or a full disk mid-write never leaves a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files; weights are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save_model(model, path: str | os.PathLike, card: dict | None = None) -> Path:
    """Write a model, its config and card (recipe, metrics) atomically as safetensors."""
    return atomic_write(path, to_bytes(model, card))


def load_card(path: str | os.PathLike) -> dict:
    return read_header(path).card


# -- the folder, as the app lists it --------------------------------------------------------
@dataclass
class WeightsEntry:
    """One file of a weights folder, as the model selector lists it."""

    name: str
    path: Path
    card: dict = field(default_factory=dict)
    error: str | None = None  # why it cannot be loaded, or None
    config: dict | None = None  # ModelConfig as a dict
    sha256: str | None = None  # of the file's bytes: its version, e.g. for caches

    @property
    def ok(self) -> bool:
        return self.error is None


def describe(path: Path) -> WeightsEntry:
    """One file's entry from its checked header; a bad file gets its error, never raises."""
    if path.suffix == ".pt":
        return WeightsEntry(
            path.stem,
            path,
            error=f"an old .pt checkpoint: convert it with python -m gvae.convert {path.name}",
        )
    try:
        data = read_bytes(path)
        header = parse_header(data, path)
    except CheckpointError as error:
        return WeightsEntry(path.stem, path, error=error.problem)
    sha256 = hashlib.sha256(data).hexdigest()
    return WeightsEntry(path.stem, path, header.card, None, header.config.to_dict(), sha256)


def list_weights(folder: str | os.PathLike | None = None) -> list[WeightsEntry]:
    """Every weights file in the folder and the shipped default, the default first, each
    with its card or its error. Listing reads headers only and needs no torch."""
    folder = Path(folder) if folder is not None else WEIGHTS_DIR
    try:
        paths = sorted(p for p in folder.iterdir() if p.suffix in (SUFFIX, ".pt"))
    except OSError:  # no such folder, or not a folder: the default is still listed
        paths = []
    default = DEFAULT_WEIGHTS.resolve()
    if DEFAULT_WEIGHTS.exists() and all(p.resolve() != default for p in paths):
        paths.append(DEFAULT_WEIGHTS)
    entries = [describe(p) for p in paths]
    entries.sort(key=lambda e: (e.path.resolve() != default, e.name))
    return entries
