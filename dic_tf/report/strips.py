"""The comparison strip of one image: LR, bicubic, every SR step, HR, attention, saliency."""

import numpy as np
from PIL import Image, ImageDraw

from dic_tf.report.drawing import FONT_SIZE, draw_points, format_value, heat_overlay, load_font
from dic_tf.report.image_record import COMPONENTS

LABEL_HEIGHT = 30
_SR_LANDMARK_COLOR = (255, 40, 40)
_GT_LANDMARK_COLOR = (40, 220, 40)


def render_strip(record, font=None):
    """Draws the comparison strip of one record.

    Returns:
        RGB `PIL.Image` of `(1 + 5 attention rows + saliency rows) * H +
        labels` by `columns * W` pixels.

    Example:
        render_strip(record).save("strip.png")
    """
    font = font or load_font()
    height, width = record.hr.shape[:2]
    lr = Image.fromarray(record.lr).resize((width, height), Image.Resampling.NEAREST)
    columns = [("LR (nearest)", lr, "")]
    if record.bicubic is not None:
        columns.append(("bicubic", Image.fromarray(record.bicubic),
                        _metrics_caption(record.bicubic_metrics)))
    for step, sr in enumerate(record.sr_steps):
        tile = Image.fromarray(sr)
        if record.landmarks is not None:
            draw_points(tile, record.landmarks[step], _SR_LANDMARK_COLOR)
        columns.append((f"SR step {step + 1}", tile, _metrics_caption(record.metrics[step])))
    hr = Image.fromarray(record.hr)
    if record.gt_landmarks is not None:
        draw_points(hr, record.gt_landmarks, _GT_LANDMARK_COLOR)
    columns.append(("HR", hr, ""))

    saliency = dict(record.saliency or {})
    num_rows = 1 + (len(COMPONENTS) if record.attention is not None else 0) + len(saliency)
    canvas = Image.new("RGB", (len(columns) * width, LABEL_HEIGHT + num_rows * height), "white")
    draw = ImageDraw.Draw(canvas)
    for col, (label, tile, caption) in enumerate(columns):
        draw.text((col * width + 3, 2), label, fill="black", font=font)
        draw.text((col * width + 3, 2 + FONT_SIZE + 3), caption, fill=(60, 60, 60), font=font)
        canvas.paste(tile, (col * width, LABEL_HEIGHT))
    if record.attention is not None:
        first_sr_col = 2 if record.bicubic is not None else 1
        for row, component in enumerate(COMPONENTS, start=1):
            top = LABEL_HEIGHT + row * height
            draw.text((3, top + height // 2 - FONT_SIZE), f"attention:\n{component}",
                      fill="black", font=font)
            for step, sr in enumerate(record.sr_steps):
                if record.attention[step] is None:
                    draw.text(((first_sr_col + step) * width + 3, top + height // 2),
                              "no attention", fill=(90, 90, 90), font=font)
                    continue
                overlay = heat_overlay(sr, record.attention[step][..., row - 1])
                canvas.paste(Image.fromarray(overlay), ((first_sr_col + step) * width, top))
    lr_up = np.asarray(lr)
    for row, (label, heat) in enumerate(saliency.items(), start=num_rows - len(saliency)):
        top = LABEL_HEIGHT + row * height
        canvas.paste(Image.fromarray(heat_overlay(lr_up, heat)), (0, top))
        draw.text((width + 3, top + height // 2 - FONT_SIZE), f"saliency:\n{label}",
                  fill="black", font=font)
    return canvas


def _metrics_caption(metrics):
    if not metrics:
        return ""
    return " / ".join(format_value(k, v) for k, v in metrics.items())
