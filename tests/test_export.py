"""Exports for slides: the files open, and have the sizes and frame counts they claim."""

import io

import numpy as np
import pytest
from PIL import Image

from gvae.app import export


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()  # decodes the whole file: a truncated one raises here
    return image


def test_chart_config_exports_1920_pixels_wide():
    config = export.chart_config("kl-bars")
    options = config["toImageButtonOptions"]
    assert (
        options["width"] >= 1920 and options["filename"] == "kl-bars" and options["format"] == "png"
    )


@pytest.mark.parametrize("shape", [(28, 28), (302, 602), (90, 632)])
def test_projector_png_is_1920_by_1080_with_square_pixels(shape):
    rng = np.random.default_rng(0)
    picture = rng.integers(0, 200, shape, dtype=np.uint8)  # no white: its extent is visible
    for caption in ("", "a caption"):
        image = opened(export.png(export.projector_image(picture, caption)))
        assert image.size == export.PROJECTOR == (1920, 1080) and image.format == "PNG"
    grey = np.asarray(opened(export.png(export.projector_image(picture))).convert("L"))
    ys, xs = np.nonzero(grey != 255)
    height, width = ys.max() - ys.min() + 1, xs.max() - xs.min() + 1
    factor = width // shape[1]
    assert factor >= 1 and (height, width) == (shape[0] * factor, shape[1] * factor)
    shown = grey[ys.min() : ys.max() + 1 : factor, xs.min() : xs.max() + 1 : factor]
    np.testing.assert_array_equal(shown, picture)  # enlarged by a whole factor, not resampled
    if shape == (28, 28):
        assert factor >= 30  # a digit fills most of the screen's height


def test_a_picture_larger_than_the_screen_is_shrunk_to_fit():
    picture = np.zeros((2000, 40), dtype=np.uint8)
    grey = np.asarray(export.projector_image(picture).convert("L"))
    ys, xs = np.nonzero(grey != 255)
    assert grey.shape == (1080, 1920) and ys.min() > 0 and ys.max() < 1079
    assert (ys.max() - ys.min() + 1) / (xs.max() - xs.min() + 1) == pytest.approx(50, rel=0.1)


def test_gifs_open_with_their_frames_and_size():
    labels, probs = ("Red", "Blue", "White"), np.array([0.05, 0.25, 0.7])
    soft = {t: np.array([0.2, 0.3, 0.5]) / (1 + i) for i, t in enumerate([10.0, 1.0, 0.1])}
    digits = {t: np.full(784, 0.5) for t in soft}
    for data, frames in (
        (export.tau_sharpening_gif(labels, probs, soft, digits), 3),
        (export.tau_sharpening_gif(labels, probs, soft), 3),
        (export.interpolation_gif(np.zeros((4, 28, 28)), ["0" * 20] * 4), 4),
    ):
        image = opened(data)
        assert image.format == "GIF" and image.size == export.GIF_SIZE
        assert image.n_frames == frames and image.info.get("loop") == 0


HISTORY = "step,epoch,loss,reconstruction,kl,tau,lr\n" + "\n".join(
    f"{s},0,{200 - s / 10},{190 - s / 10},10,{1 - s / 1000},0.001" for s in range(1, 301)
)


def test_training_timelapse_from_a_history_csv():
    rows = export.read_history_csv(HISTORY.encode())
    assert len(rows) == 300 and rows[-1]["step"] == 300
    image = opened(export.training_timelapse_gif(rows, frames=12))
    assert image.size == export.GIF_SIZE and image.n_frames == 12
    assert opened(export.training_timelapse_gif(rows[:1])).n_frames == 1


@pytest.mark.parametrize(
    "text, message",
    [
        ("step,loss\n1,2\n", "lacks the columns"),
        ("step,epoch,loss,reconstruction,kl,tau,lr\n", "no rows"),
        (
            "step,epoch,loss,reconstruction,kl,tau,lr\n1,0,x,1,1,1,1\n",
            "line 2: a value is not a number",
        ),
        ("step,epoch,loss,reconstruction,kl,tau,lr\n1,0,nan,1,1,1,1\n", "not finite"),
        ("", "lacks the columns"),
    ],
)
def test_bad_history_files_are_refused_with_a_reason(text, message):
    with pytest.raises(ValueError, match=message):
        export.read_history_csv(text)


def test_exported_pictures_use_the_charts_palette():
    from gvae.app import export, figures
    from gvae.app.palette import rgb

    assert figures.COLORS, "the charts have colours"
    assert {name: rgb(color) for name, color in figures.COLORS.items()} == export.COLORS
    assert rgb("#4c78a8") == (76, 120, 168)
