"""One self-contained HTML file: the latent editor (with its drawing pad) and the Gumbel
playground, computing in the page, with no server and no network.

    gvae-explorable --out gvae.html [--model NAME_OR_PATH]
    python -m gvae.app.explorable --out gvae.html

The page runs the app's own components (gvae/app/web/live.js, inlined as it is, with a
small shell, web/explorable.js, that plays the server's part) on the model's weights
embedded as float16 (a decoded pixel moves by well under 1/255 from float32; the
browser tests measure it). The weights travel gzip-compressed, byte planes apart (the
high bytes of neighbouring float16s repeat), as base64: about 2.8 MB in all.

No streamlit here: the Export page offers the same file as a download.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import html
import json
import sys
from pathlib import Path

import numpy as np

from gvae import infer
from gvae.app import playground as pg
from gvae.app.gallery import load_gallery
from gvae.app.live import model_blob, read_model_blob
from gvae.errors import GvaeError
from gvae.weights import list_weights

WEB = Path(__file__).resolve().parent / "web"
MAX_BYTES = 3_000_000  # what a phone downloads in a few seconds, and a mail server accepts


def packed_weights(net: infer.Network) -> tuple[dict, str]:
    """The model blob's header and its floats as base64(gzip(float16 high bytes, then low
    bytes)); explorable.js undoes it."""
    header, floats = read_model_blob(model_blob(net))
    half = floats.astype("<f2").view(np.uint8).reshape(-1, 2)  # (n, [low, high])
    planes = half[:, 1].tobytes() + half[:, 0].tobytes()
    return header, base64.b64encode(gzip.compress(planes, 9, mtime=0)).decode()


def card_line(name: str, card: dict) -> str:
    """The model's name and its card's test metrics, as plain text."""
    metrics = card.get("metrics") or {}
    parts = [name]
    if "neg_elbo" in metrics:
        parts.append(f"test −ELBO {float(metrics['neg_elbo']):.2f} nats")
    if "iw_nll" in metrics:
        k = int(metrics.get("iw_samples", 0)) or "k"
        parts.append(f"IW-NLL {float(metrics['iw_nll']):.2f} nats (k = {k})")
    return " · ".join(parts)


def _script_text(text: str) -> str:
    """Text safe inside <script>: no "</script" can end it early."""
    return text.replace("</", "<\\/")


def build_html(net: infer.Network, name: str) -> str:
    header, weights = packed_weights(net)
    meta = {
        "name": name,
        "card": card_line(name, net.card),
        "header": header,
        "code": net.argmax_code(load_gallery()[0][0])[0],  # the first test digit's code
        "playground": {  # the app's defaults (gvae.app.playground)
            "labels": list(pg.ARTICLE_LABELS),  # K = 3
            "probs": {k: pg.default_probs(k) for k in range(2, 11)},
            "points": pg.SIMPLEX_POINTS,
        },
    }
    page = (WEB / "explorable.html").read_text()
    parts = {
        "TITLE": html.escape(f"gvae — {name}"),
        "CARD": html.escape(meta["card"]),
        "CSS": (WEB / "live.css").read_text(),
        "META": _script_text(json.dumps(meta)),
        "WEIGHTS": weights,
        # One module: the app's components, then the shell that serves them.
        "JS": _script_text(
            (WEB / "live.js").read_text() + "\n" + (WEB / "explorable.js").read_text()
        ),
    }
    for key, value in parts.items():
        page = page.replace(f"<!--GVAE:{key}-->", value)
    return page


def model_path(model: str | None) -> Path:
    """A model name in weights/ (default: the shipped default) or a weights file's path."""
    entries = list_weights()
    if model is None:
        return entries[0].path
    by_name = {e.name: e.path for e in entries}
    if model in by_name:
        return by_name[model]
    if Path(model).is_file():
        return Path(model)
    raise ValueError(f"no model {model!r}: one of {', '.join(by_name)}, or a weights file")


def write(out: Path, model: str | None = None) -> int:
    """Write the file for `model` (a name in weights/ or a path); returns its size."""
    path = model_path(model)
    net = infer.load(path)  # checks the file: weights files are untrusted input
    text = build_html(net, path.name.removesuffix(".safetensors"))
    out.write_text(text, encoding="utf-8")
    return len(text.encode())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gvae-explorable", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="the HTML file to write")
    parser.add_argument(
        "--model",
        default=None,
        help="a model name in weights/ or a weights file (default: gvae-default)",
    )
    args = parser.parse_args(argv)
    try:
        size = write(args.out, args.model)
    except (OSError, ValueError, GvaeError) as error:
        print(f"gvae-explorable: {error}", file=sys.stderr)
        return 1
    print(f"wrote {args.out} ({size / 1e6:.2f} MB): open it in any browser, no server needed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
