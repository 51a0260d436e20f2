"""The HTML evaluation report, built from synthetic arrays."""

import html.parser
import os
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from dic_tf.report import page as report_page
from dic_tf.report.drawing import heat_overlay
from dic_tf.report.image_record import COMPONENTS, ImageRecord, average_metrics
from dic_tf.report.psnr_plot import PLOT_FILE
from dic_tf.report.strips import LABEL_HEIGHT, render_strip

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZE, STEPS = 32, 3


def _record(index, with_extras=True, name=None):
    rng = np.random.default_rng(index)
    hr = rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
    steps = [np.clip(hr.astype(int) + rng.integers(-40, 41, hr.shape) // (t + 1), 0, 255)
             .astype(np.uint8) for t in range(STEPS)]
    psnrs = [20.0 + index + t for t in range(STEPS)]
    extras = {}
    if with_extras:
        extras = dict(
            bicubic=hr[::-1].copy(),
            bicubic_metrics={"psnr": 18.0 + index, "ssim": 0.5},
            landmarks=[rng.uniform(0, SIZE, (68, 2)) for _ in range(STEPS)],
            gt_landmarks=rng.uniform(0, SIZE, (68, 2)),
            attention=[rng.random((8, 8, 5)) for _ in range(STEPS)],
        )
    return ImageRecord(
        name=name or f"face {index}.png",
        lr=hr[::4, ::4].copy(),
        hr=hr,
        sr_steps=steps,
        metrics=[{"psnr": p, "ssim": 0.6 + 0.01 * t} for t, p in enumerate(psnrs)],
        **extras,
    )


class _PageParser(html.parser.HTMLParser):
    """Collects table rows per table id, image sources and figure order per section."""

    def __init__(self):
        super().__init__()
        self.rows, self.images, self.sections = {}, [], {}
        self._table = self._section = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._table = attrs.get("id")
            self.rows[self._table] = 0
        elif tag == "tr" and self._table:
            self.rows[self._table] += 1
        elif tag == "div" and attrs.get("id") in ("best", "worst"):
            self._section = attrs["id"]
            self.sections[self._section] = []
        elif tag == "img":
            self.images.append(attrs["src"])
            if self._section and attrs.get("class") == "strip":
                self.sections[self._section].append(attrs["alt"])

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag == "div":
            self._section = None


def _parse(index_path):
    parser = _PageParser()
    with open(index_path, encoding="utf-8") as f:
        parser.feed(f.read())
    return parser


def test_report_structure(tmp_path):
    records = [_record(i) for i in range(5)]
    index = report_page.write_report(records, tmp_path / "report", num_shown=2,
                                protocol={"border": 8, "ssim": "official"})
    assert index == os.path.join(tmp_path / "report", "index.html")
    page = _parse(index)
    assert page.rows["averages"] == 1 + 1 + STEPS  # header, bicubic, steps
    assert page.rows["images"] == 1 + len(records)
    assert page.rows["protocol"] == 2
    assert page.sections["best"] == ["face 4.png", "face 3.png"]
    assert page.sections["worst"] == ["face 0.png", "face 1.png"]
    assert PLOT_FILE in page.images
    for src in page.images:
        assert os.path.isfile(os.path.join(tmp_path / "report", src)), src
    assert len(os.listdir(tmp_path / "report" / report_page.STRIPS_DIR)) == 4
    assert [p for p in os.listdir(tmp_path) if p != "report"] == []


def test_averages_and_strip_geometry():
    records = [_record(i) for i in range(3)]
    averages = average_metrics(records)
    assert list(averages) == ["bicubic", "step 1", "step 2", "step 3"]
    assert averages["step 3"]["psnr"] == pytest.approx(np.mean([22.0, 23.0, 24.0]))
    strip = render_strip(records[0])
    columns = 1 + 1 + STEPS + 1  # LR, bicubic, steps, HR
    rows = 1 + len(COMPONENTS)
    assert strip.size == (columns * SIZE, LABEL_HEIGHT + rows * SIZE)
    plain = render_strip(_record(0, with_extras=False))
    assert plain.size == ((STEPS + 2) * SIZE, LABEL_HEIGHT + SIZE)


def test_report_without_optional_data(tmp_path):
    records = [_record(i, with_extras=False) for i in range(3)]
    page = _parse(report_page.write_report(records, tmp_path / "r", num_shown=None))
    assert page.rows["averages"] == 1 + STEPS
    assert len(page.sections["best"]) == 3


def test_report_replaces_previous_report(tmp_path):
    out = tmp_path / "report"
    report_page.write_report([_record(0)], out)
    (out / "stale.txt").write_text("old")
    report_page.write_report([_record(0)], out)
    assert not (out / "stale.txt").exists()
    assert (out / "index.html").is_file() and (out / report_page.MARKER_FILE).is_file()
    assert os.listdir(tmp_path) == ["report"]
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(out).st_mode & 0o777 == 0o777 & ~umask


def test_report_never_replaces_a_folder_it_did_not_write(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("the user's")
    with pytest.raises(FileExistsError, match="not an earlier dic_tf report"):
        report_page.write_report([_record(0)], out)
    assert os.listdir(out) == ["notes.txt"] and sorted(os.listdir(tmp_path)) == ["mine"]
    empty = tmp_path / "empty"
    empty.mkdir()
    report_page.write_report([_record(0)], empty)
    assert (empty / "index.html").is_file()


def test_failed_report_keeps_previous_folder(tmp_path, monkeypatch):
    out = tmp_path / "report"
    report_page.write_report([_record(0)], out)
    before = sorted(os.listdir(out))

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(report_page, "render_psnr_plot", broken)
    with pytest.raises(RuntimeError, match="boom"):
        report_page.write_report([_record(1)], out)
    assert sorted(os.listdir(out)) == before
    assert os.listdir(tmp_path) == ["report"]


def test_heat_overlay_zero_map_darkens_uniformly():
    image = np.full((16, 16, 3), 200, dtype=np.uint8)
    overlay = heat_overlay(image, np.zeros((4, 4)))
    assert overlay.shape == image.shape and np.all(overlay == 100)
    hot = heat_overlay(image, np.pad(np.ones((1, 1)), 1))
    assert hot[8, 8, 0] > hot[0, 0, 0]


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(hr=np.zeros((SIZE, SIZE, 3), np.float32)), "face 0.png: hr must be a uint8"),
        (dict(sr_steps=[np.zeros((SIZE, SIZE + 1, 3), np.uint8)] * STEPS),
         r"sr_steps\[0\] has shape \(32, 33, 3\), expected the HR shape \(32, 32, 3\)"),
        (dict(metrics=[{"psnr": 1.0}]), r"metrics has 1 entries, expected one per step \(3\)"),
        (dict(attention=[np.zeros((8, 8, 4))] * STEPS), r"attention\[0\] must have shape"),
        (dict(landmarks=[np.zeros((68, 3))] * STEPS), r"landmarks\[0\] must have shape \(K, 2\)"),
    ],
)
def test_record_validation_names_the_field(change, match):
    fields = {k: getattr(_record(0), k) for k in
              ("name", "lr", "hr", "sr_steps", "metrics", "bicubic", "bicubic_metrics",
               "landmarks", "gt_landmarks", "attention")}
    fields.update(change)
    with pytest.raises((TypeError, ValueError), match=match):
        ImageRecord(**fields)


def test_write_report_rejects_inconsistent_records(tmp_path):
    with pytest.raises(ValueError, match="at least one"):
        report_page.write_report([], tmp_path / "r")
    with pytest.raises(ValueError, match=r"duplicate image names \['same.png'\]"):
        report_page.write_report([_record(0, name="same.png"), _record(1, name="same.png")],
                            tmp_path / "r")
    with pytest.raises(ValueError, match="sort_metric 'nme'"):
        report_page.write_report([_record(0)], tmp_path / "r", sort_metric="nme")
    assert not (tmp_path / "r").exists()


_CHROMIUM = (os.environ.get("CHROMIUM") or shutil.which("chromium")
             or shutil.which("chromium-browser"))


@pytest.mark.skipif(_CHROMIUM is None, reason="Chromium is not installed")
def test_screenshot_script_renders_the_report(tmp_path):
    report_page.write_report([_record(i) for i in range(3)], tmp_path / "report", num_shown=1)
    shot = tmp_path / "shot.png"
    result = subprocess.run(
        [os.path.join(REPO, "scripts", "screenshot_report.sh"), str(tmp_path / "report"),
         str(shot), "1000,1200"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    with Image.open(shot) as image:
        assert image.size == (1000, 1200)
        pixels = np.asarray(image.convert("L"))
    assert pixels.min() < 100 and pixels.max() > 200


def test_steps_without_attention_saliency_rows_and_summary_tables(tmp_path):
    base = _record(0)
    record = ImageRecord(
        **{**{k: getattr(base, k) for k in ("name", "lr", "hr", "sr_steps", "metrics",
                                            "bicubic", "bicubic_metrics", "landmarks")},
           "attention": [None] + list(base.attention[1:]),
           "saliency": {"landmark_30": np.random.default_rng(0).random((8, 8))}},
    )
    strip = render_strip(record)
    rows = 1 + len(COMPONENTS) + 1
    assert strip.size[1] == LABEL_HEIGHT + rows * SIZE
    index = report_page.write_report(
        [record], tmp_path / "r",
        summary_tables={"Landmark detection": {"sr": {"width": 0.1, "eye_dist": None}}},
    )
    page = _parse(index)
    assert page.rows["summary-0"] == 2
    with pytest.raises(ValueError, match=r"saliency\['x'\] must have the LR shape \(8, 8\)"):
        ImageRecord(**{**{k: getattr(base, k) for k in ("name", "lr", "hr", "sr_steps",
                                                              "metrics")},
                              "saliency": {"x": np.zeros((4, 4))}})
