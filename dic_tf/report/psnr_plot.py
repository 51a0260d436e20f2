"""The report's line plot of the mean PSNR after each step."""

import numpy as np
from PIL import Image, ImageDraw

from dic_tf.report.drawing import FONT_SIZE, load_font

PLOT_FILE = "psnr_per_step.png"


def render_psnr_plot(averages, font=None, size=(640, 360)):
    """Line plot of the mean PSNR after each step; bicubic as a dashed line.

    Args:
        averages: output of `average_metrics`.
        font: Pillow font for the labels.
        size: `(width, height)` in pixels.

    Returns:
        RGB `PIL.Image`.

    Example:
        render_psnr_plot(average_metrics(records)).save("psnr_per_step.png")
    """
    font = font or load_font()
    width, height = size
    left, right, top, bottom = 60, 20, 30, 40
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    draw.text((left, 8), "Mean PSNR (dB, Y channel) after each step", fill="black", font=font)
    steps = [row for label, row in averages.items() if label.startswith("step")]
    values = [row.get("psnr", np.nan) for row in steps]
    bicubic = averages.get("bicubic", {}).get("psnr", np.nan)
    finite = [v for v in values + [bicubic] if np.isfinite(v)]
    if not finite:
        draw.text((left, height // 2), "no finite PSNR to plot", fill="black", font=font)
        return image
    pad = max(0.5, 0.15 * (max(finite) - min(finite)))
    low, high = min(finite) - pad, max(finite) + pad
    plot_w, plot_h = width - left - right, height - top - bottom

    def to_y(value):
        return top + plot_h * (high - value) / (high - low)

    def to_x(index):
        return left + plot_w * (index + 0.5) / len(values)

    for tick in np.linspace(low, high, 6):
        y = to_y(tick)
        draw.line((left - 4, y, left, y), fill="black")
        draw.line((left + 1, y, width - right - 1, y), fill=(230, 230, 230))
        draw.text((4, y - FONT_SIZE // 2), f"{tick:.2f}", fill="black", font=font)
    draw.rectangle((left, top, width - right, height - bottom), outline="black")
    for index in range(len(values)):
        x = to_x(index)
        draw.line((x, height - bottom, x, height - bottom + 4), fill="black")
        draw.text((x - 14, height - bottom + 8), f"step {index + 1}", fill="black", font=font)
    if np.isfinite(bicubic):
        y = to_y(bicubic)
        for x in range(left + 2, width - right - 2, 12):
            draw.line((x, y, min(x + 6, width - right - 2), y), fill=(120, 120, 120), width=2)
        draw.text((width - right - 110, y - FONT_SIZE - 4), f"bicubic {bicubic:.2f}",
                  fill=(90, 90, 90), font=font)
    points = [(to_x(i), to_y(v)) for i, v in enumerate(values) if np.isfinite(v)]
    if len(points) > 1:
        draw.line(points, fill=(30, 90, 200), width=3)
    for (x, y), value in zip(points, [v for v in values if np.isfinite(v)]):
        draw.ellipse((x - 4, y - 4, x + 4, y + 4), fill=(30, 90, 200))
        draw.text((x - 14, y + 8), f"{value:.2f}", fill=(30, 90, 200), font=font)
    return image
