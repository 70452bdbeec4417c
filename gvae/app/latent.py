"""Pure functions behind the latent editor: codes, their text form, atlas and paths.

A code is one category index per latent variable: a (N,) integer sequence.
"""

from __future__ import annotations

import numpy as np

from gvae.app.text import cut


def format_code(code) -> str:
    """[3, 0, 9, ...] -> '309...' (one digit per variable while K <= 10)."""
    values = [int(v) for v in code]
    if all(v < 10 for v in values):
        return "".join(str(v) for v in values)
    return ",".join(str(v) for v in values)


def parse_code(text: str, latent_dim: int, categorical_dim: int) -> list[int]:
    """Inverse of format_code; ValueError says exactly what is wrong with `text`."""
    text = (text or "").strip()
    quoted = cut(repr(text))  # a long or hostile value is quoted short
    parts = text.split(",") if "," in text else list(text)
    if len(parts) != latent_dim:
        raise ValueError(f"a code needs {latent_dim} values, got {len(parts)} in {quoted}")
    if not all(p.strip().isascii() and p.strip().isdigit() for p in parts):
        raise ValueError(f"a code holds only digits 0-{categorical_dim - 1}, got {quoted}")
    code = [int(p) for p in parts]
    if max(code) >= categorical_dim:
        raise ValueError(
            f"categories run from 0 to {categorical_dim - 1}, got {max(code)} in {quoted}"
        )
    return code


def atlas_codes(code, categorical_dim: int) -> np.ndarray:
    """All single-variable edits of `code`: row i * K + k sets variable i to k. (N*K, N)"""
    base = np.asarray(list(code), dtype=np.int64)
    n = len(base)
    codes = np.tile(base, (n * categorical_dim, 1))  # (N*K, N)
    rows = np.arange(n * categorical_dim)
    codes[rows, rows // categorical_dim] = rows % categorical_dim
    return codes


def interpolation_path(code_a, code_b) -> list[list[int]]:
    """Codes from A to B changing one variable at a time, both ends included."""
    current = [int(v) for v in code_a]
    path = [list(current)]
    for i, target in enumerate(code_b):
        if current[i] != int(target):
            current[i] = int(target)
            path.append(list(current))
    return path
