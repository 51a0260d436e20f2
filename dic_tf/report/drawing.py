"""Pillow drawing shared by the strips, the plot and predict.py: font, value formats, dots, heat colours."""

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_SIZE = 11
_VALUE_FORMATS = {"psnr": "{:.2f}", "ssim": "{:.4f}"}


def load_font():
    """Pillow's default font at `FONT_SIZE` (the bitmap default on old Pillow).

    Example:
        font = load_font()
    """
    try:
        return ImageFont.load_default(size=FONT_SIZE)
    except TypeError:
        return ImageFont.load_default()


def format_value(name, value):
    """A metric value as the report prints it (PSNR 2 decimals, SSIM 4, others 4).

    Example:
        format_value("psnr", 27.123)  # "27.12"
    """
    return _VALUE_FORMATS.get(name, "{:.4f}").format(value)


def draw_points(tile, points, color, radius=1.5):
    """Draws a dot at every `(x, y)` of `points` `(K, 2)` on the PIL image `tile`, in place.

    Example:
        draw_points(tile, landmarks, (255, 40, 40))  # dots on a PIL image
    """
    draw = ImageDraw.Draw(tile)
    for x, y in np.asarray(points, dtype=np.float64):
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=color)


def draw_landmarks(image, points, radius=1, color=(0, 255, 0)):
    """uint8 `[H, W, 3]` copy of `image` with a dot at each `(x, y)` of `points` `[K, 2]` (predict.py's overlays).

    Example:
        overlay = draw_landmarks(sr_uint8, points)
    """
    canvas = Image.fromarray(image)
    draw_points(canvas, points, color, radius)
    return np.asarray(canvas)


def heat_overlay(image, heat, alpha=0.5):
    """Blends a "hot" colouring of `heat` over `image`.

    The map is clipped at 0, divided by its maximum (an all-zero map stays
    black) and resized bilinearly to the image.

    Args:
        image: uint8 `(H, W, 3)`.
        heat: float `(h, w)`.
        alpha: weight of the heat colours.

    Returns:
        uint8 `(H, W, 3)`.

    Example:
        heat_overlay(np.zeros((16, 16, 3), np.uint8), np.ones((4, 4))).shape  # (16, 16, 3)
    """
    height, width = image.shape[:2]
    heat = np.clip(np.asarray(heat, dtype=np.float32), 0.0, None)
    peak = heat.max()
    if peak > 0:
        heat = heat / peak
    heat = np.asarray(Image.fromarray(heat).resize((width, height), Image.Resampling.BILINEAR))
    colors = np.stack(
        [np.clip(3.0 * heat, 0, 1), np.clip(3.0 * heat - 1, 0, 1), np.clip(3.0 * heat - 2, 0, 1)],
        axis=-1,
    )
    blended = (1.0 - alpha) * image.astype(np.float32) + alpha * 255.0 * colors
    return np.round(np.clip(blended, 0, 255)).astype(np.uint8)


def labelled_panels(panels, gap=6, label_height=14):
    """Images side by side on white, top-aligned, each at its own size with its label underneath.

    Args:
        panels: list of `(uint8 [h, w, 3], label)`.
        gap: pixels between panels.
        label_height: pixels of the label row.

    Returns:
        uint8 `[max h + label_height, sum w + gaps, 3]`.

    Example:
        labelled_panels([(lr, "input"), (sr, "dic_tf x4")]).shape  # (128 + 14, 32 + 6 + 128, 3)
    """
    width = sum(p.shape[1] for p, _ in panels) + gap * (len(panels) - 1)
    height = max(p.shape[0] for p, _ in panels) + label_height
    canvas = Image.new("RGB", (width, height), "white")
    draw, x = ImageDraw.Draw(canvas), 0
    for pixels, label in panels:
        canvas.paste(Image.fromarray(np.ascontiguousarray(pixels)), (x, 0))
        draw.text((x + 2, height - label_height + 1), label, fill="black")
        x += pixels.shape[1] + gap
    return np.asarray(canvas)
