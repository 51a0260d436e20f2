"""A self-contained HTML report of a DIC evaluation.

`write_report(records, output_dir)` writes

    output_dir/
      index.html            averages table, PSNR-per-step plot, best and worst
                            strips, a per-image table
      psnr_per_step.png     mean PSNR after each step (drawn with Pillow)
      strips/*.png          one strip per shown image

Each strip has one column per image (LR nearest-upscaled, bicubic, SR at each
step with its landmarks, HR); when attention maps are given, one extra row per
facial component with the step's attention map overlaid on that step's SR; and
one row per saliency target with the map overlaid on the LR.

      .dic_tf_report        marker: this folder is a dic_tf report

The folder is built next to `output_dir` and moved into place at the end, so a
crash never leaves a half-written report behind. An existing `output_dir` is
replaced only when it is empty or an earlier report (it has the marker); any
other folder is refused, never deleted (`check_report_dir`).
"""

import contextlib
import dataclasses
import html
import os
import re
import shutil
from typing import Mapping, Optional, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from dic_tf import atomic

COMPONENTS = ("left eye", "right eye", "nose", "mouth", "contour")
PLOT_FILE = "psnr_per_step.png"
STRIPS_DIR = "strips"
MARKER_FILE = ".dic_tf_report"
_FONT_SIZE = 11
_LABEL_HEIGHT = 30
_SR_LANDMARK_COLOR = (255, 40, 40)
_GT_LANDMARK_COLOR = (40, 220, 40)
_VALUE_FORMATS = {"psnr": "{:.2f}", "ssim": "{:.4f}"}


@dataclasses.dataclass
class ImageRecord:
    """Everything the report shows about one test image.

    Attributes:
        name: file name of the image (unique within a report).
        lr: uint8 `(h, w, 3)` low-resolution input.
        hr: uint8 `(H, W, 3)` ground truth.
        sr_steps: T uint8 `(H, W, 3)` outputs, one per step (last = final).
        metrics: T mappings metric name -> value, one per step (e.g.
            `{"psnr": 27.1, "ssim": 0.80}`); every step has the same keys.
        bicubic: optional uint8 `(H, W, 3)` bicubic upscaling of `lr`.
        bicubic_metrics: optional mapping metric name -> value for `bicubic`.
        landmarks: optional T float `(K, 2)` `(x, y)` image positions, drawn on
            the SR of the same step.
        gt_landmarks: optional float `(K, 2)` ground-truth positions, drawn on HR.
        attention: optional T entries, each None (a step without attention,
            e.g. DIC's first) or float `(h', w', 5)` component maps (left eye,
            right eye, nose, mouth, contour), any resolution.
        saliency: optional mapping target label -> float `(h, w)` map over the
            LR pixels, drawn over the LR.
    """

    name: str
    lr: np.ndarray
    hr: np.ndarray
    sr_steps: Sequence[np.ndarray]
    metrics: Sequence[Mapping[str, float]]
    bicubic: Optional[np.ndarray] = None
    bicubic_metrics: Optional[Mapping[str, float]] = None
    landmarks: Optional[Sequence[np.ndarray]] = None
    gt_landmarks: Optional[np.ndarray] = None
    attention: Optional[Sequence[Optional[np.ndarray]]] = None
    saliency: Optional[Mapping[str, np.ndarray]] = None

    def __post_init__(self):
        _check_rgb(self.lr, f"{self.name}: lr")
        _check_rgb(self.hr, f"{self.name}: hr")
        size = self.hr.shape
        if not self.sr_steps:
            raise ValueError(f"{self.name}: sr_steps is empty; expected one image per step.")
        for step, sr in enumerate(self.sr_steps, start=1):
            _check_rgb(sr, f"{self.name}: sr_steps[{step - 1}]", size)
        if self.bicubic is not None:
            _check_rgb(self.bicubic, f"{self.name}: bicubic", size)
        num_steps = len(self.sr_steps)
        _check_per_step(self.metrics, num_steps, f"{self.name}: metrics")
        keys = set(self.metrics[0])
        for step, values in enumerate(self.metrics):
            if set(values) != keys:
                raise ValueError(
                    f"{self.name}: metrics[{step}] has keys {sorted(values)}, "
                    f"metrics[0] has {sorted(keys)}."
                )
        if self.landmarks is not None:
            _check_per_step(self.landmarks, num_steps, f"{self.name}: landmarks")
            for step, points in enumerate(self.landmarks):
                _check_points(points, f"{self.name}: landmarks[{step}]")
        if self.gt_landmarks is not None:
            _check_points(self.gt_landmarks, f"{self.name}: gt_landmarks")
        if self.attention is not None:
            _check_per_step(self.attention, num_steps, f"{self.name}: attention")
            for step, maps in enumerate(self.attention):
                if maps is None:
                    continue
                if np.ndim(maps) != 3 or np.shape(maps)[-1] != len(COMPONENTS):
                    raise ValueError(
                        f"{self.name}: attention[{step}] must have shape "
                        f"(h, w, {len(COMPONENTS)}) or be None, got {np.shape(maps)}."
                    )
        for label, heat in (self.saliency or {}).items():
            if np.shape(heat) != self.lr.shape[:2]:
                raise ValueError(
                    f"{self.name}: saliency[{label!r}] must have the LR shape "
                    f"{self.lr.shape[:2]}, got {np.shape(heat)}."
                )

    @property
    def num_steps(self):
        return len(self.sr_steps)


def write_report(
    records,
    output_dir,
    title="DIC evaluation",
    sort_metric="psnr",
    higher_is_better=True,
    num_shown=8,
    protocol=None,
    summary_tables=None,
):
    """Writes the report folder and returns the path of its `index.html`.

    Args:
        records: non-empty sequence of `ImageRecord` with the same number of
            steps and the same metric names.
        output_dir: folder to create or replace.
        title: page title.
        sort_metric: final-step metric ranking the images.
        higher_is_better: whether a larger `sort_metric` is better.
        num_shown: strips drawn in each of the "best" and "worst" sections
            (`None`: every image).
        protocol: optional mapping shown verbatim as the evaluation protocol.
        summary_tables: optional mapping table title -> {row label -> {column
            -> number}}, shown after the averages (e.g. landmark errors, timing).

    Returns:
        Path of the written `index.html`.
    """
    records = list(records)
    _check_records(records, sort_metric)
    check_report_dir(output_dir)
    ranked = sorted(
        records,
        key=lambda r: r.metrics[-1][sort_metric],
        reverse=higher_is_better,
    )
    shown = len(ranked) if num_shown is None else min(num_shown, len(ranked))
    best, worst = ranked[:shown], ranked[::-1][:shown]
    shown_ids = {id(r) for r in best + worst}
    strip_files = {
        id(record): f"{STRIPS_DIR}/{index:05d}_{_safe_name(record.name)}.png"
        for index, record in enumerate(ranked)
        if id(record) in shown_ids
    }
    font = _load_font()
    output_dir = os.path.abspath(output_dir)
    with _atomic_directory(output_dir) as staging:
        os.makedirs(os.path.join(staging, STRIPS_DIR))
        for record in ranked:
            if id(record) in strip_files:
                strip = render_strip(record, font)
                strip.save(os.path.join(staging, strip_files[id(record)]))
        averages = average_metrics(records)
        render_psnr_plot(averages, font).save(os.path.join(staging, PLOT_FILE))
        page = _render_html(
            title, records, ranked, best, worst, strip_files, averages,
            sort_metric, protocol, summary_tables or {},
        )
        with open(os.path.join(staging, "index.html"), "w", encoding="utf-8") as f:
            f.write(page)
        with open(os.path.join(staging, MARKER_FILE), "w", encoding="utf-8") as f:
            f.write("A dic_tf evaluation report; evaluate.py may replace this folder.\n")
    return os.path.join(output_dir, "index.html")


def average_metrics(records):
    """Mean of every metric per row ("bicubic" if every record has it, then steps).

    Returns:
        dict row label -> dict metric name -> float, rows in display order.
    """
    rows = {}
    if all(r.bicubic_metrics is not None for r in records):
        keys = list(records[0].bicubic_metrics)
        rows["bicubic"] = {
            k: float(np.mean([r.bicubic_metrics[k] for r in records])) for k in keys
        }
    for step in range(records[0].num_steps):
        keys = list(records[0].metrics[step])
        rows[f"step {step + 1}"] = {
            k: float(np.mean([r.metrics[step][k] for r in records])) for k in keys
        }
    return rows


def render_strip(record, font=None):
    """Draws the comparison strip of one record.

    Returns:
        RGB `PIL.Image` of `(1 + 5 attention rows + saliency rows) * H +
        labels` by `columns * W` pixels.
    """
    font = font or _load_font()
    height, width = record.hr.shape[:2]
    lr = Image.fromarray(record.lr).resize((width, height), Image.Resampling.NEAREST)
    columns = [("LR (nearest)", lr, "")]
    if record.bicubic is not None:
        columns.append(("bicubic", Image.fromarray(record.bicubic),
                        _metrics_caption(record.bicubic_metrics)))
    for step, sr in enumerate(record.sr_steps):
        tile = Image.fromarray(sr)
        if record.landmarks is not None:
            _draw_points(tile, record.landmarks[step], _SR_LANDMARK_COLOR)
        columns.append((f"SR step {step + 1}", tile, _metrics_caption(record.metrics[step])))
    hr = Image.fromarray(record.hr)
    if record.gt_landmarks is not None:
        _draw_points(hr, record.gt_landmarks, _GT_LANDMARK_COLOR)
    columns.append(("HR", hr, ""))

    saliency = dict(record.saliency or {})
    num_rows = 1 + (len(COMPONENTS) if record.attention is not None else 0) + len(saliency)
    canvas = Image.new("RGB", (len(columns) * width, _LABEL_HEIGHT + num_rows * height), "white")
    draw = ImageDraw.Draw(canvas)
    for col, (label, tile, caption) in enumerate(columns):
        draw.text((col * width + 3, 2), label, fill="black", font=font)
        draw.text((col * width + 3, 2 + _FONT_SIZE + 3), caption, fill=(60, 60, 60), font=font)
        canvas.paste(tile, (col * width, _LABEL_HEIGHT))
    if record.attention is not None:
        first_sr_col = 2 if record.bicubic is not None else 1
        for row, component in enumerate(COMPONENTS, start=1):
            top = _LABEL_HEIGHT + row * height
            draw.text((3, top + height // 2 - _FONT_SIZE), f"attention:\n{component}",
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
        top = _LABEL_HEIGHT + row * height
        canvas.paste(Image.fromarray(heat_overlay(lr_up, heat)), (0, top))
        draw.text((width + 3, top + height // 2 - _FONT_SIZE), f"saliency:\n{label}",
                  fill="black", font=font)
    return canvas


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


def render_psnr_plot(averages, font=None, size=(640, 360)):
    """Line plot of the mean PSNR after each step; bicubic as a dashed line.

    Args:
        averages: output of `average_metrics`.
        font: Pillow font for the labels.
        size: `(width, height)` in pixels.

    Returns:
        RGB `PIL.Image`.
    """
    font = font or _load_font()
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
        draw.text((4, y - _FONT_SIZE // 2), f"{tick:.2f}", fill="black", font=font)
    draw.rectangle((left, top, width - right, height - bottom), outline="black")
    for index in range(len(values)):
        x = to_x(index)
        draw.line((x, height - bottom, x, height - bottom + 4), fill="black")
        draw.text((x - 14, height - bottom + 8), f"step {index + 1}", fill="black", font=font)
    if np.isfinite(bicubic):
        y = to_y(bicubic)
        for x in range(left + 2, width - right - 2, 12):
            draw.line((x, y, min(x + 6, width - right - 2), y), fill=(120, 120, 120), width=2)
        draw.text((width - right - 110, y - _FONT_SIZE - 4), f"bicubic {bicubic:.2f}",
                  fill=(90, 90, 90), font=font)
    points = [(to_x(i), to_y(v)) for i, v in enumerate(values) if np.isfinite(v)]
    if len(points) > 1:
        draw.line(points, fill=(30, 90, 200), width=3)
    for (x, y), value in zip(points, [v for v in values if np.isfinite(v)]):
        draw.ellipse((x - 4, y - 4, x + 4, y + 4), fill=(30, 90, 200))
        draw.text((x - 14, y + 8), f"{value:.2f}", fill=(30, 90, 200), font=font)
    return image


def _render_html(title, records, ranked, best, worst, strip_files, averages,
                 sort_metric, protocol, summary_tables):
    metric_names = list(records[0].metrics[-1])
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(title)}</title>",
        "<style>",
        "body{font-family:sans-serif;margin:20px;color:#222}",
        "table{border-collapse:collapse;margin:8px 0 20px}",
        "th,td{border:1px solid #bbb;padding:4px 10px;text-align:right}",
        "th:first-child,td:first-child{text-align:left}",
        "figure{margin:0 0 24px}",
        "img.strip{max-width:100%;image-rendering:pixelated;border:1px solid #ccc}",
        "figcaption{font-size:14px;margin:4px 0}",
        "</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        f"<p>{len(records)} images, {records[0].num_steps} steps; ranked by final-step "
        f"{esc(sort_metric)}.</p>",
    ]
    if protocol:
        parts.append('<h2>Protocol</h2><table id="protocol">')
        parts += [f"<tr><td>{esc(str(k))}</td><td>{esc(str(v))}</td></tr>"
                  for k, v in protocol.items()]
        parts.append("</table>")
    parts.append("<h2>Averages</h2>")
    parts += _html_table("averages", averages)
    for index, (table_title, rows) in enumerate(summary_tables.items()):
        parts.append(f"<h2>{esc(table_title)}</h2>")
        parts += _html_table(f"summary-{index}", rows)
    parts.append(f'<h2>PSNR per step</h2><img id="psnr-plot" src="{PLOT_FILE}" '
                 'alt="mean PSNR per step">')
    for section, heading, group in (("best", "Best first", best), ("worst", "Worst first", worst)):
        parts.append(f'<h2>{heading}</h2><div id="{section}">')
        for record in group:
            caption = ", ".join(f"{esc(k)} {_format(k, v)}" for k, v in record.metrics[-1].items())
            parts.append(
                f'<figure><figcaption><b>{esc(record.name)}</b> ({caption})</figcaption>'
                f'<img class="strip" src="{esc(strip_files[id(record)])}" '
                f'alt="{esc(record.name)}"></figure>'
            )
        parts.append("</div>")
    parts.append('<h2>All images (best first)</h2><table id="images"><tr><th>image</th>')
    parts += [f"<th>{esc(k)}</th>" for k in metric_names]
    parts.append("</tr>")
    for record in ranked:
        name = esc(record.name)
        if id(record) in strip_files:
            name = f'<a href="{esc(strip_files[id(record)])}">{name}</a>'
        cells = "".join(f"<td>{_format(k, record.metrics[-1][k])}</td>" for k in metric_names)
        parts.append(f"<tr><td>{name}</td>{cells}</tr>")
    parts.append("</table></body></html>")
    return "\n".join(parts) + "\n"


def _html_table(table_id, rows):
    """HTML lines of a table: one row per label, one column per key seen."""
    esc = html.escape
    columns = list(dict.fromkeys(k for row in rows.values() for k in row))
    parts = [f'<table id="{table_id}"><tr><th></th>']
    parts += [f"<th>{esc(str(k))}</th>" for k in columns]
    parts.append("</tr>")
    for label, row in rows.items():
        cells = "".join(
            f"<td>{_format(k, row[k]) if row.get(k) is not None else ''}</td>" for k in columns
        )
        parts.append(f"<tr><td>{esc(str(label))}</td>{cells}</tr>")
    parts.append("</table>")
    return parts


def check_report_dir(path):
    """Refuses a `path` that `write_report` must not replace.

    Raises:
        FileExistsError naming `path` when it is a file, or a non-empty folder
        without the report marker (something the user made).
    """
    if not os.path.lexists(path):
        return
    if not os.path.isdir(path) or os.path.islink(path):
        raise FileExistsError(f"{path} exists and is not a folder; the report needs a folder.")
    if os.listdir(path) and not os.path.isfile(os.path.join(path, MARKER_FILE)):
        raise FileExistsError(
            f"{path} is a non-empty folder that is not an earlier dic_tf report "
            f"(no {MARKER_FILE}); refusing to replace it: give a new or empty folder."
        )


@contextlib.contextmanager
def _atomic_directory(path):
    """Yields a staging folder next to `path` that replaces `path` on success."""
    parent, base = os.path.split(path)
    staging = atomic.make_staging_dir(parent, prefix=f".{base}.")
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if not os.path.exists(path):
        os.rename(staging, path)
        return
    trash = atomic.make_staging_dir(parent, prefix=f".{base}.old.")
    os.rename(path, os.path.join(trash, base))
    os.rename(staging, path)
    shutil.rmtree(trash, ignore_errors=True)


def _check_records(records, sort_metric):
    if not records:
        raise ValueError("write_report needs at least one ImageRecord.")
    names = [r.name for r in records]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"write_report: duplicate image names {duplicates}.")
    steps = {r.num_steps for r in records}
    if len(steps) != 1:
        raise ValueError(f"write_report: records disagree on the number of steps: {sorted(steps)}.")
    keys = set(records[0].metrics[-1])
    for record in records:
        if set(record.metrics[-1]) != keys:
            raise ValueError(
                f"write_report: {record.name} has metrics {sorted(record.metrics[-1])}, "
                f"{records[0].name} has {sorted(keys)}."
            )
    if sort_metric not in keys:
        raise ValueError(f"write_report: sort_metric {sort_metric!r} is not one of {sorted(keys)}.")


def _check_rgb(image, label, size=None):
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise TypeError(f"{label} must be a uint8 numpy array, got {type(image).__name__} "
                        f"{getattr(image, 'dtype', '')}.")
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"{label} must have shape (H, W, 3), got {image.shape}.")
    if size is not None and image.shape != size:
        raise ValueError(f"{label} has shape {image.shape}, expected the HR shape {size}.")


def _check_per_step(values, num_steps, label):
    if len(values) != num_steps:
        raise ValueError(f"{label} has {len(values)} entries, expected one per step ({num_steps}).")


def _check_points(points, label):
    if np.ndim(points) != 2 or np.shape(points)[-1] != 2:
        raise ValueError(f"{label} must have shape (K, 2) of (x, y), got {np.shape(points)}.")


def _draw_points(tile, points, color):
    draw = ImageDraw.Draw(tile)
    for x, y in np.asarray(points, dtype=np.float64):
        draw.ellipse((x - 1.5, y - 1.5, x + 1.5, y + 1.5), fill=color)


def _metrics_caption(metrics):
    if not metrics:
        return ""
    return " / ".join(_format(k, v) for k, v in metrics.items())


def _format(name, value):
    return _VALUE_FORMATS.get(name, "{:.4f}").format(value)


def _safe_name(name):
    return re.sub(r"[^A-Za-z0-9._-]", "_", os.path.splitext(name)[0])[:80]


def _load_font():
    try:
        return ImageFont.load_default(size=_FONT_SIZE)
    except TypeError:
        return ImageFont.load_default()
