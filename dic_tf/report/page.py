"""`write_report`: the report folder, its `index.html` and the replace-only-a-report rule.

`write_report(records, output_dir)` writes

    output_dir/
      index.html            averages table, PSNR-per-step plot, best and worst
                            strips, a per-image table
      psnr_per_step.png     mean PSNR after each step (drawn with Pillow)
      strips/*.png          one strip per shown image (`dic_tf.report.strips`)
      .dic_tf_report        marker: this folder is a dic_tf report

The folder is built next to `output_dir` and moved into place at the end, so a
crash never leaves a half-written report behind. An existing `output_dir` is
replaced only when it is empty or an earlier report (it has the marker); any
other folder is refused, never deleted (`check_report_dir`).
"""

import contextlib
import html
import os
import re
import shutil

from dic_tf.report.drawing import format_value, load_font
from dic_tf.report.image_record import average_metrics
from dic_tf.report.psnr_plot import PLOT_FILE, render_psnr_plot
from dic_tf.report.strips import render_strip
from dic_tf.utils import atomic

STRIPS_DIR = "strips"
MARKER_FILE = ".dic_tf_report"


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

    Example:
        index = write_report(records, "runs/eval/report", title="DIC evaluation")
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
    font = load_font()
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
            caption = ", ".join(f"{esc(k)} {format_value(k, v)}" for k, v in record.metrics[-1].items())
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
        cells = "".join(f"<td>{format_value(k, record.metrics[-1][k])}</td>" for k in metric_names)
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
            f"<td>{format_value(k, row[k]) if row.get(k) is not None else ''}</td>" for k in columns
        )
        parts.append(f"<tr><td>{esc(str(label))}</td>{cells}</tr>")
    parts.append("</table>")
    return parts


def check_report_dir(path):
    """Refuses a `path` that `write_report` must not replace.

    Raises:
        FileExistsError naming `path` when it is a file, or a non-empty folder
        without the report marker (something the user made).

    Example:
        check_report_dir("runs/eval/report")  # raises FileExistsError for a user folder
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


def _safe_name(name):
    return re.sub(r"[^A-Za-z0-9._-]", "_", os.path.splitext(name)[0])[:80]
