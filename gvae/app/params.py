"""Parsers of the values pages take from their URL, one per kind of value. Each returns a
value the page can use as it is, or raises ValueError saying what is wrong; the page then
warns and falls back to its default (pages.common.query_value). Numpy only: no torch."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np

from gvae.app.text import cut
from gvae.config import MAX_SEED  # the one seed limit: training's, so a page's seed trains too

T = TypeVar("T")
MAX_QUERY_CHARS = 1000  # longer URL values are refused before parsing
TRUE_WORDS, FALSE_WORDS = ("1", "true", "on", "yes"), ("0", "false", "off", "no")


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


def validate_probs(values) -> np.ndarray:
    """Non-negative, finite, not all zero; returned normalized to sum to 1."""
    try:
        p = np.asarray([float(v) for v in values], dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"probabilities must be numbers, got {cut(repr(values))}") from None
    if len(p) < 2 or len(p) > 10:
        raise ValueError(f"between 2 and 10 categories, got {len(p)}")
    if not np.isfinite(p).all():
        raise ValueError("probabilities must be finite numbers (no NaN or infinity)")
    if (p < 0).any():
        raise ValueError(f"probabilities cannot be negative, got {p.min():g}")
    if p.max() <= 0:
        raise ValueError("at least one probability must be positive (they are all zero)")
    p = p / p.max()  # first into [0, 1]: the sum of huge values (1e308, 1e308) overflows
    return p / p.sum()


def parse_probs(text: str) -> np.ndarray:
    """A categorical's probabilities, "0.05,0.25,0.7" (commas or semicolons), normalized."""
    return validate_probs([v for v in text.replace(";", ",").split(",") if v.strip()])


def parse_choice(options: Sequence[T]) -> Callable[[str], T]:
    """A parser that accepts one of `options` by its text form."""

    def parse(text: str) -> T:
        for option in options:
            if str(option) == text:
                return option
        raise ValueError(f"expected one of {', '.join(map(str, options))}")

    return parse


def parse_int_in(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}")
        return value

    return parse


def parse_float_in(low: float, high: float, digits: int | None = None) -> Callable[[str], float]:
    """A number in [low, high], rounded to `digits` decimals (a slider's step) if given."""

    def parse(text: str) -> float:
        value = float(text)
        if not low <= value <= high:  # also refuses NaN
            raise ValueError(f"must be between {low:g} and {high:g}")
        return value if digits is None else round(value, digits)

    return parse


def parse_flag(text: str) -> bool:
    """On or off: 1, true, on, yes or 0, false, off, no."""
    word = text.strip().lower()
    if word not in TRUE_WORDS + FALSE_WORDS:
        raise ValueError(f"expected one of {', '.join(TRUE_WORDS + FALSE_WORDS)}")
    return word in TRUE_WORDS
