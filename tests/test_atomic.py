"""dic_tf.utils.atomic: every JSON and file replacement is whole or absent, with the usual mode."""

import json
import os

import pytest

from dic_tf.utils import atomic


def _mode(path):
    return os.stat(path).st_mode & 0o777


def test_write_json_replaces_whole_with_the_usual_mode(tmp_path):
    path = tmp_path / "run.json"
    path.write_text("old")
    atomic.write_json(str(path), {"step": 2, "psnr": 27.5}, indent=2)
    assert json.loads(path.read_text()) == {"step": 2, "psnr": 27.5}
    assert path.read_text().endswith("}\n")
    assert _mode(path) == atomic.FILE_MODE
    assert sorted(os.listdir(tmp_path)) == ["run.json"]  # no temporary file left


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "results.json"
    path.write_text('{"kept": true}\n')
    with pytest.raises(ValueError):
        atomic.write_json(str(path), {"nan": float("nan")}, allow_nan=False)
    assert json.loads(path.read_text()) == {"kept": True}
    assert os.listdir(tmp_path) == ["results.json"]


def test_write_file_replaces_and_write_new_file_never_does(tmp_path):
    path = tmp_path / "metrics.jsonl"
    atomic.write_file(str(path), b'{"step": 1}\n')
    atomic.write_file(str(path), b'{"step": 2}\n')
    assert path.read_bytes() == b'{"step": 2}\n'
    with pytest.raises(FileExistsError, match="left as it was"):
        atomic.write_new_file(str(path), b"other")
    assert path.read_bytes() == b'{"step": 2}\n'
    atomic.write_new_file(str(tmp_path / "new.png"), b"png")
    assert (tmp_path / "new.png").read_bytes() == b"png"
    assert sorted(os.listdir(tmp_path)) == ["metrics.jsonl", "new.png"]
