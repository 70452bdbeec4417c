"""Parsers of the values pages take from their URL. Each returns a value the page can
use as it is, or raises ValueError saying what is wrong; the page then warns and falls
back to its default (pages.common.query_value)."""

from __future__ import annotations

import math

# The largest integer a Streamlit number_input (a JavaScript number) holds exactly; torch's
# and numpy's generators accept every seed from 0 to here.
MAX_SEED = 2**53 - 1
MAX_QUERY_CHARS = 1000  # longer URL values are refused before parsing


def parse_seed(text: str) -> int:
    """A seed: an integer from 0 to MAX_SEED."""
    try:
        seed = int(text.strip())
    except ValueError:
        raise ValueError("the seed must be a whole number") from None
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"the seed must lie between 0 and {MAX_SEED}")
    return seed


def parse_tau(text: str, low: float, high: float) -> float:
    """A temperature within the page's control [low, high], at its resolution of three
    significant digits."""
    tau = float(text)
    if not (math.isfinite(tau) and low <= tau <= high):
        raise ValueError(f"τ must lie between {low:g} and {high:g}")
    return float(f"{tau:.3g}")
