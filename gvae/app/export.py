"""Pictures for slides: PNGs at projector size and GIF animations, drawn with PIL.

- Plotly charts export themselves in the browser (the camera button of the chart's toolbar)
  at CHART_EXPORT_WIDTH x CHART_EXPORT_HEIGHT: `chart_config` is the config that says so.
- Digits, the atlas and an interpolation: `projector_png` fits a picture into a
  PROJECTOR-sized canvas with whole-number, nearest-neighbour scaling (pixels stay square).
- GIFs: τ sharpening one Gumbel-Softmax sample (with the VAE digit decoded from it), an
  interpolation between two codes, and a training time-lapse from a Train page history.

No server-side chart renderer is needed (kaleido is not a dependency).
"""

from __future__ import annotations

import csv
import io
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from gvae.app.palette import COLORS as PALETTE
from gvae.app.palette import rgb

PROJECTOR = (1920, 1080)  # a 1080p projector or a 16:9 slide at full size
GIF_SIZE = (1280, 720)
CHART_EXPORT_WIDTH, CHART_EXPORT_HEIGHT = 1920, 1080
BACKGROUND, INK, MUTED = (255, 255, 255), (27, 31, 36), (110, 118, 129)
COLORS = {name: rgb(color) for name, color in PALETTE.items()}  # the charts' colours


def chart_config(filename: str, image_format: str = "png") -> dict:
    """Plotly config for st.plotly_chart: the toolbar's camera saves a 1920 x 1080 picture."""
    return {
        "toImageButtonOptions": {
            "format": image_format,
            "filename": filename,
            "width": CHART_EXPORT_WIDTH,
            "height": CHART_EXPORT_HEIGHT,
            "scale": 1,
        },
        "displaylogo": False,
    }


def font(size: int) -> ImageFont.ImageFont:
    """Pillow's bundled scalable font at `size` px (no system font needed)."""
    return ImageFont.load_default(size=size)


def _rgb(gray_uint8: np.ndarray) -> Image.Image:
    return Image.fromarray(np.asarray(gray_uint8, dtype=np.uint8)).convert("RGB")


def fit_scale(size: tuple[int, int], box: tuple[int, int]) -> float:
    """How much to enlarge a (w, h) picture to fit a (w, h) box: a whole factor when it
    fits at least once (pixels stay square and sharp), else the fraction that shrinks it."""
    ratio = min(box[0] / size[0], box[1] / size[1])
    return float(int(ratio)) if ratio >= 1 else ratio


def projector_image(
    picture: np.ndarray, caption: str = "", size: tuple[int, int] = PROJECTOR
) -> Image.Image:
    """A uint8 grey picture (H, W), enlarged by a whole factor (shrunk if it is larger than
    the screen) and centred on a white canvas of `size`, with an optional caption below."""
    canvas = Image.new("RGB", size, BACKGROUND)
    caption_h = int(size[1] * 0.06) if caption else 0
    margin = int(size[1] * 0.04)
    box = (size[0] - 2 * margin, size[1] - 2 * margin - caption_h)
    h, w = picture.shape[:2]
    factor = fit_scale((w, h), box)
    target = (max(1, round(w * factor)), max(1, round(h * factor)))
    big = _rgb(picture).resize(target, Image.NEAREST if factor >= 1 else Image.LANCZOS)
    top = margin + (box[1] - big.height) // 2
    canvas.paste(big, ((size[0] - big.width) // 2, top))
    if caption:
        draw = ImageDraw.Draw(canvas)
        text_font = font(int(caption_h * 0.7))
        draw.text(
            (size[0] // 2, top + big.height + caption_h // 2),
            caption,
            fill=INK,
            font=text_font,
            anchor="mm",
        )
    return canvas


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()


def gif(frames: list[Image.Image], durations_ms) -> bytes:
    """An endlessly looping GIF; `durations_ms` is one number or one per frame."""
    if not frames:
        raise ValueError("a GIF needs at least one frame")
    out = io.BytesIO()
    frames[0].save(
        out,
        format="GIF",
        save_all=True,
        append_images=frames[1:],
        duration=durations_ms,
        loop=0,
        optimize=False,
        disposal=1,
    )
    return out.getvalue()


# -- drawing helpers ----------------------------------------------------------------------
def _bars(draw, box, labels, series: list[tuple[np.ndarray, tuple]], text_font) -> None:
    """Grouped bars in `box` (x0, y0, x1, y1), values in [0, 1], labels under the groups."""
    x0, y0, x1, y1 = box
    label_h = text_font.size + 12
    base = y1 - label_h
    draw.line([(x0, base), (x1, base)], fill=MUTED, width=2)
    groups, per = len(labels), len(series)
    group_w = (x1 - x0) / groups
    bar_w = group_w * 0.8 / per
    for g, label in enumerate(labels):
        gx = x0 + g * group_w + group_w * 0.1
        for s, (values, color) in enumerate(series):
            height = float(np.clip(values[g], 0, 1)) * (base - y0)
            draw.rectangle(
                [gx + s * bar_w, base - height, gx + (s + 1) * bar_w - 3, base], fill=color
            )
        draw.text(
            (x0 + (g + 0.5) * group_w, base + 6), str(label), fill=INK, font=text_font, anchor="ma"
        )


def _legend(draw, xy, items: list[tuple[str, tuple]], text_font) -> None:
    x, y = xy
    for name, color in items:
        draw.rectangle([x, y, x + text_font.size, y + text_font.size], fill=color)
        draw.text((x + text_font.size + 8, y), name, fill=INK, font=text_font)
        x += text_font.size + 24 + int(draw.textlength(name, font=text_font))


# -- GIF 1: τ sharpening one sample ------------------------------------------------------------
def tau_sharpening_gif(
    labels,
    probs,
    soft_by_tau: dict[float, np.ndarray],
    digits_by_tau: dict[float, np.ndarray] | None = None,
    size: tuple[int, int] = GIF_SIZE,
    frame_ms: int = 120,
) -> bytes:
    """One frame per τ (in the dict's order): π and the soft sample as bars, and, if given,
    the VAE's digit decoded from the relaxed code at the same τ (28 x 28 in [0, 1])."""
    frames = []
    w, h = size
    title_font, text_font = font(h // 14), font(h // 26)
    bars_right = int(w * 0.62) if digits_by_tau else w - 40
    for tau, soft in soft_by_tau.items():
        canvas = Image.new("RGB", size, BACKGROUND)
        draw = ImageDraw.Draw(canvas)
        draw.text((40, 24), f"τ = {tau:.3g}", fill=INK, font=title_font)
        _legend(
            draw,
            (40, 40 + title_font.size),
            [("π", COLORS["pi"]), ("soft sample", COLORS["soft"])],
            text_font,
        )
        _bars(
            draw,
            (40, 60 + title_font.size + text_font.size, bars_right, h - 30),
            labels,
            [(np.asarray(probs), COLORS["pi"]), (np.asarray(soft), COLORS["soft"])],
            text_font,
        )
        if digits_by_tau:
            digit = (np.clip(digits_by_tau[tau], 0, 1) * 255 + 0.5).astype(np.uint8)
            side = min(w - bars_right - 60, h - 160)
            big = _rgb(digit.reshape(28, 28)).resize((side, side), Image.NEAREST)
            canvas.paste(big, (bars_right + 30, (h - side) // 2))
            draw.text(
                (bars_right + 30 + side // 2, (h + side) // 2 + 10),
                "the VAE's digit at this τ",
                fill=MUTED,
                font=text_font,
                anchor="ma",
            )
        frames.append(canvas)
    durations = [frame_ms] * len(frames)
    durations[-1] = frame_ms * 10  # rest on the one-hot end
    return gif(frames, durations)


# -- GIF 2: an interpolation ------------------------------------------------------------------
def interpolation_gif(
    images: np.ndarray, codes: list[str], size: tuple[int, int] = GIF_SIZE, frame_ms: int = 400
) -> bytes:
    """One frame per decoded code (T, 28, 28) along a path, its code written under it."""
    frames = []
    for i, (image, code) in enumerate(zip(images, codes)):
        picture = (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)
        frames.append(projector_image(picture, f"{i + 1}/{len(codes)}   z = {code}", size))
    durations = [frame_ms] * len(frames)
    durations[0] = durations[-1] = frame_ms * 3  # rest on both ends
    return gif(frames, durations)


# -- GIF 3: a training time-lapse ------------------------------------------------------------
HISTORY_FIELDS = ("step", "loss", "reconstruction", "kl", "tau")


def read_history_csv(data: bytes | str, max_rows: int = 1_000_000) -> list[dict]:
    """Rows of a Train page history CSV (step, epoch, loss, reconstruction, kl, tau, lr).

    ValueError says what is missing or malformed; nothing else is trusted."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    reader = csv.DictReader(io.StringIO(text))
    missing = [f for f in HISTORY_FIELDS if f not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(
            f"the history CSV lacks the columns {missing} (the Train page's CSV has "
            "step, epoch, loss, reconstruction, kl, tau, lr)"
        )
    rows = []
    for number, row in enumerate(reader, start=2):
        if len(rows) >= max_rows:
            raise ValueError(f"more than {max_rows:,} rows")
        try:
            values = {f: float(row[f]) for f in HISTORY_FIELDS}
        except (TypeError, ValueError):
            raise ValueError(f"line {number}: a value is not a number: {row}") from None
        if not all(math.isfinite(v) for v in values.values()):
            raise ValueError(f"line {number}: a value is not finite: {row}")
        rows.append(values)
    if not rows:
        raise ValueError("the history CSV has no rows")
    return rows


def _polyline(draw, points, color, width=4) -> None:
    if len(points) >= 2:
        draw.line(points, fill=color, width=width, joint="curve")
    elif points:
        x, y = points[0]
        draw.ellipse([x - width, y - width, x + width, y + width], fill=color)


def training_timelapse_gif(
    history: list[dict], frames: int = 48, size: tuple[int, int] = GIF_SIZE, frame_ms: int = 100
) -> bytes:
    """The loss curves (total, reconstruction, KL; nats per image) and τ drawn step by step,
    `frames` frames from the first row to the last, on fixed axes (the whole run's range)."""
    if not history:
        raise ValueError("the history is empty")
    w, h = size
    title_font, text_font = font(h // 16), font(h // 30)
    steps = np.array([r["step"] for r in history], dtype=float)
    series = {
        k: np.array([r[k] for r in history], dtype=float) for k in ("loss", "reconstruction", "kl")
    }
    taus = np.array([r["tau"] for r in history], dtype=float)
    top = float(np.percentile(series["loss"], 98)) * 1.05  # early spikes would flatten the curve
    plot = (90, 70 + title_font.size + text_font.size, int(w * 0.72), h - 60)
    tau_box = (int(w * 0.78), plot[1], w - 40, h - 60)
    x_range = (steps.min(), max(steps.max(), steps.min() + 1))
    tau_top = max(float(taus.max()) * 1.1, 1e-3)

    def to_xy(box, x, y, y_top):
        x0, y0, x1, y1 = box
        px = x0 + (x - x_range[0]) / (x_range[1] - x_range[0]) * (x1 - x0)
        py = y1 - np.clip(y / y_top, 0, 1) * (y1 - y0)
        return list(zip(px.tolist(), py.tolist()))

    ends = np.unique(np.linspace(1, len(history), max(1, min(frames, len(history)))).astype(int))
    images = []
    for end in ends:
        canvas = Image.new("RGB", size, BACKGROUND)
        draw = ImageDraw.Draw(canvas)
        last = history[end - 1]
        draw.text(
            (40, 20),
            f"step {int(last['step']):,}   −ELBO {last['loss']:.1f} = {last['reconstruction']:.1f} + {last['kl']:.1f} (KL)",
            fill=INK,
            font=title_font,
        )
        _legend(
            draw,
            (90, 34 + title_font.size),
            [
                ("total (−ELBO)", COLORS["loss"]),
                ("reconstruction", COLORS["reconstruction"]),
                ("KL", COLORS["kl"]),
            ],
            text_font,
        )
        for box, label in ((plot, f"0 – {top:.0f} nats"), (tau_box, f"τ 0 – {tau_top:.2g}")):
            draw.rectangle(box, outline=MUTED, width=2)
            draw.text((box[0], box[3] + 8), label, fill=MUTED, font=text_font)
        for key in ("loss", "reconstruction", "kl"):
            _polyline(draw, to_xy(plot, steps[:end], series[key][:end], top), COLORS[key])
        _polyline(draw, to_xy(tau_box, steps[:end], taus[:end], tau_top), COLORS["tau"])
        images.append(canvas)
    durations = [frame_ms] * len(images)
    durations[-1] = frame_ms * 15
    return gif(images, durations)
