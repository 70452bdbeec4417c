"""What the in-page (JavaScript) decoder and sampler need from Python, as plain bytes.

The app's live components compute in the browser (gvae/app/web/live.js): they decode
codes with the loaded model's decoder and draw Gumbel-Softmax samples from a fixed noise
draw. Those are second implementations; tests pin them to CategoricalVAE.decode_codes and
gvae.gumbel_softmax. This module turns the loaded network (gvae.infer, never the file,
whose format may change) into one self-describing binary blob, and holds the few shared
conventions both sides must agree on. No streamlit here; pages/live.py serves the bytes.

Model blob ("GVM1"), little-endian:
    b"GVM1" | uint32 header length | header JSON (space-padded to 4 bytes) | float32 data
The header names N, K and, per Linear layer of the decoder ("layers") and of the encoder
("encoder"), its sizes and the float offsets of its weight, stored input-major (in, out)
so the page adds whole rows, and of its bias.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
from dataclasses import dataclass

import numpy as np

from gvae.infer import Network

MAGIC = b"GVM1"
THRESHOLD_SALT = 0x9E3779B9  # the pixel thresholds' seed; live.js uses the same


def model_blob(net: Network) -> bytes:
    """The decoder's and the encoder's weights as one GVM1 blob (float32, about 4.6 MB
    for 784-512-256-200 and 200-256-512-784)."""
    c = net.config
    arrays, offset = [], 0

    def place(network_layers) -> list[dict]:
        nonlocal offset
        placed = []
        for weight, bias in network_layers:  # weight (in, out): the page adds whole rows
            size = {"in": weight.shape[0], "out": weight.shape[1]}
            placed.append({**size, "weight": offset, "bias": offset + weight.size})
            arrays.extend([weight.ravel(), bias])
            offset += weight.size + bias.size
        return placed

    header = {
        "format": "GVM1",
        "latent_dim": c.latent_dim,
        "categorical_dim": c.categorical_dim,
        "image_size": c.image_size,
        "layers": place(net.decoder),  # ReLU between layers, sigmoid after the last
        "encoder": place(net.encoder),  # ReLU between layers, logits out
    }
    text = json.dumps(header).encode()
    text += b" " * (-(len(MAGIC) + 4 + len(text)) % 4)  # float data starts 4-aligned
    data = np.concatenate(arrays).astype("<f4").tobytes()
    return MAGIC + struct.pack("<I", len(text)) + text + data


def read_model_blob(blob: bytes) -> tuple[dict, np.ndarray]:
    """Inverse of model_blob (for tests and checks): (header, float32 data)."""
    if blob[:4] != MAGIC:
        raise ValueError("not a GVM1 model blob")
    (length,) = struct.unpack("<I", blob[4:8])
    header = json.loads(blob[8 : 8 + length])
    return header, np.frombuffer(blob, dtype="<f4", offset=8 + length)


def version(blob: bytes) -> str:
    """A content hash: the page caches one model per version."""
    return hashlib.sha256(blob).hexdigest()[:16]


def hash32(x: np.ndarray) -> np.ndarray:
    """lowbias32 (C. Wellons): a well-mixed 32-bit integer hash, exact in numpy and in JS
    (Math.imul), so both sides derive the same numbers from the same integers."""
    x = np.asarray(x, dtype=np.uint32).copy()
    with np.errstate(over="ignore"):
        x ^= x >> np.uint32(16)
        x *= np.uint32(0x7FEB352D)
        x ^= x >> np.uint32(15)
        x *= np.uint32(0x846CA68B)
        x ^= x >> np.uint32(16)
    return x


def pixel_thresholds(size: int = 784) -> np.ndarray:
    """One fixed uniform U_j in (0, 1) per pixel: (size,) float64.

    The binary sample is x_j = [U_j < p_j]: a Bernoulli(p_j) draw per pixel, and the same
    U for every code, so an edit flips only the pixels whose probability it moves across
    their threshold instead of redrawing all the noise.
    """
    salted = np.arange(size, dtype=np.uint32) ^ np.uint32(THRESHOLD_SALT)  # never hash 0
    return (hash32(salted).astype(np.float64) + 0.5) / 2.0**32


def binary_sample(means: np.ndarray) -> np.ndarray:
    """One image's Bernoulli means (any shape) -> its binary sample with the fixed
    thresholds, float32, same shape."""
    means = np.asarray(means)
    return (pixel_thresholds(means.size).reshape(means.shape) < means).astype(np.float32)


def float64_bytes(*arrays) -> bytes:
    """Arrays as one little-endian float64 buffer (the playground's noise for the page)."""
    return b"".join(np.ascontiguousarray(a, dtype="<f8").tobytes() for a in arrays)


# -- what the page sends back: untrusted JSON, checked before it touches the state ------
TAU_RANGE = (0.01, 10.0)


@dataclass(frozen=True)
class EditorEdit:
    seq: int  # the page's edit counter, echoed back as `ack`
    code: list[int]
    start: list[int]
    code_b: list[int]
    sample: bool


@dataclass(frozen=True)
class PlaygroundEdit:
    seq: int
    tau: float
    probs: np.ndarray  # normalized


def _seq(payload) -> int:
    if not isinstance(payload, dict):
        raise ValueError(f"an edit is a JSON object, got {type(payload).__name__}")
    seq = payload.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise ValueError(f"seq must be a non-negative integer, got {seq!r}")
    return seq


def _code(value, latent_dim: int, categorical_dim: int, name: str) -> list[int]:
    ok = (
        isinstance(value, list)
        and len(value) == latent_dim
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        and all(0 <= v < categorical_dim for v in value)
    )
    if not ok:
        raise ValueError(
            f"{name} must be {latent_dim} integers in 0..{categorical_dim - 1}, got {value!r}"
        )
    return list(value)


def parse_editor_edit(payload, latent_dim: int, categorical_dim: int) -> EditorEdit:
    """The latent editor's report {seq, code, start, b, sample}; ValueError if malformed."""
    seq = _seq(payload)
    codes = [
        _code(payload.get(name), latent_dim, categorical_dim, name)
        for name in ("code", "start", "b")
    ]
    if not isinstance(payload.get("sample"), bool):
        raise ValueError(f"sample must be true or false, got {payload.get('sample')!r}")
    return EditorEdit(seq, *codes, sample=payload["sample"])


def parse_playground_edit(payload, categorical_dim: int) -> PlaygroundEdit:
    """The playground's report {seq, tau, probs}; ValueError if malformed."""
    from gvae.app.params import validate_probs

    seq = _seq(payload)
    tau = payload.get("tau")
    if not isinstance(tau, (int, float)) or isinstance(tau, bool) or not math.isfinite(tau):
        raise ValueError(f"tau must be a number, got {tau!r}")
    if not TAU_RANGE[0] <= tau <= TAU_RANGE[1]:
        raise ValueError(f"tau must lie in [{TAU_RANGE[0]}, {TAU_RANGE[1]}], got {tau}")
    probs = payload.get("probs")
    if not isinstance(probs, list) or len(probs) != categorical_dim:
        raise ValueError(f"probs must be {categorical_dim} numbers, got {probs!r}")
    return PlaygroundEdit(seq, float(tau), validate_probs(probs))
