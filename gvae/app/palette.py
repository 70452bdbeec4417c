"""The app's colours, written once: the Plotly figures use them as hex strings, the
exported pictures (Pillow) as RGB triples. No plotly or PIL here."""

from __future__ import annotations

COLORS = {
    "loss": "#4c78a8",
    "reconstruction": "#f58518",
    "kl": "#54a24b",
    "tau": "#b279a2",
    "pi": "#9d9d9d",
    "soft": "#4c78a8",
    "hard": "#e45756",
    "gumbel": "#4c78a8",
    "st-gumbel": "#e45756",
    "reinmax": "#54a24b",
}


def rgb(hex_color: str) -> tuple[int, int, int]:
    """'#4c78a8' -> (76, 120, 168)."""
    value = hex_color.lstrip("#")
    return tuple(int(value[i : i + 2], 16) for i in (0, 2, 4))
