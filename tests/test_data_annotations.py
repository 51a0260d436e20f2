"""Annotation readers: restricted pickle, JSON, .pts, and error messages."""

import json
import os
import pickle

import numpy as np
import pytest

from dic_tf.data import annotations, pts_files


def _entry(seed=0, count=68):
    landmarks = np.random.default_rng(seed).uniform(40, 160, (count, 2))
    return {"landmark": landmarks, "bbox": [20, 20, 180, 180]}


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_pickle_with_code_execution_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = str(tmp_path / "info.pkl")
    with open(path, "wb") as f:
        pickle.dump({"img_001.jpg": {"landmark": _Payload(marker), "bbox": [0, 0, 1, 1]}}, f)
    with pytest.raises(annotations.AnnotationError, match="forbidden global") as error:
        annotations.read_info_pickle(path)
    assert path in str(error.value)
    assert f"{os.system.__module__}.system" in str(error.value)
    assert not marker.exists()


def test_pickle_with_other_callables_is_refused(tmp_path):
    path = str(tmp_path / "info.pkl")
    with open(path, "wb") as f:
        pickle.dump({"a.jpg": {"landmark": getattr, "bbox": [0, 0, 1, 1]}}, f)
    with pytest.raises(annotations.AnnotationError, match=r"forbidden global 'builtins.getattr'"):
        annotations.read_info_pickle(path)


@pytest.mark.parametrize("protocol", [2, 4, pickle.HIGHEST_PROTOCOL])
def test_authors_style_pickle_loads(tmp_path, protocol):
    info = {
        "a.jpg": _entry(0),
        "b.jpg": {"landmark": _entry(1)["landmark"].tolist(), "bbox": np.array([1, 2, 150, 151])},
    }
    info["a.jpg"]["bbox"] = [np.int64(v) for v in info["a.jpg"]["bbox"]]
    path = str(tmp_path / "info.pkl")
    with open(path, "wb") as f:
        pickle.dump(info, f, protocol=protocol)
    faces = annotations.load_annotations(path)
    assert [face.name for face in faces] == ["a.jpg", "b.jpg"]
    np.testing.assert_array_equal(faces[0].landmarks, info["a.jpg"]["landmark"])
    assert faces[0].bbox == (20, 20, 180, 180) and faces[1].bbox == (1, 2, 150, 151)


def test_json_round_trip(tmp_path):
    info = {"a.jpg": _entry(0), "sub/b.png": _entry(1)}
    path = str(tmp_path / "info.json")
    annotations.write_info_json(info, path)
    with open(path) as f:
        raw = json.load(f)
    assert raw["a.jpg"]["bbox"] == [20, 20, 180, 180] and len(raw["a.jpg"]["landmark"]) == 68
    faces = annotations.load_annotations(path)
    assert [face.name for face in faces] == ["a.jpg", "sub/b.png"]
    np.testing.assert_array_equal(faces[1].landmarks, info["sub/b.png"]["landmark"])


def test_errors_name_file_record_and_expectation():
    info = {
        "img_001.jpg": _entry(0, count=67),
        "img_002.jpg": {"landmark": _entry(0)["landmark"], "bbox": [0, 0, 10]},
        "img_003.jpg": {"bbox": [0, 0, 10, 10]},
        "img_004.jpg": {"landmark": _entry(0)["landmark"], "bbox": [50, 0, 10, 10]},
        "ok.jpg": _entry(1),
    }
    faces, problems = annotations.parse_info(info, "info.pkl")
    assert [face.name for face in faces] == ["ok.jpg"]
    messages = [str(p) for p in problems]
    assert messages[0] == "info.pkl: 'img_001.jpg': landmark has shape (67, 2), expected (68, 2)"
    assert messages[1].startswith("info.pkl: 'img_002.jpg': bbox is [0, 0, 10], expected 4 integers")
    assert messages[2].startswith("info.pkl: 'img_003.jpg': expected a dict with 'landmark' and 'bbox'")
    assert messages[3].startswith("info.pkl: 'img_004.jpg': bbox [50, 0, 10, 10] is empty")


def test_load_annotations_lists_every_problem(tmp_path):
    path = str(tmp_path / "info.json")
    annotations.write_info_json({"a.jpg": _entry(0, 67), "b.jpg": _entry(1, 5), "c.jpg": _entry(2)}, path)
    with pytest.raises(annotations.AnnotationError) as error:
        annotations.load_annotations(path)
    assert len(error.value.problems) == 2
    assert f"{path}: 'a.jpg': landmark has shape (67, 2)" in str(error.value)
    assert f"{path}: 'b.jpg': landmark has shape (5, 2)" in str(error.value)


def test_whole_file_errors(tmp_path):
    bad_json = tmp_path / "info.json"
    bad_json.write_text("{not json")
    with pytest.raises(annotations.AnnotationError, match="info.json: not valid JSON"):
        annotations.read_annotations(str(bad_json))
    listing = tmp_path / "list.json"
    listing.write_text("[1, 2]")
    with pytest.raises(annotations.AnnotationError, match="list.json: expected a dict"):
        annotations.read_annotations(str(listing))
    other = tmp_path / "info.csv"
    other.write_text("")
    with pytest.raises(annotations.AnnotationError, match="info.csv: unknown annotation format"):
        annotations.read_annotations(str(other))
    with pytest.raises(annotations.AnnotationError, match="missing.pkl: annotation file not found"):
        annotations.read_annotations(str(tmp_path / "missing.pkl"))


def test_bbox_from_landmarks_is_a_centred_square():
    landmarks = np.array([[48.718, 50.0], [151.282, 150.0]])
    assert annotations.bbox_from_landmarks(landmarks) == (33, 33, 167, 167)
    xmin, ymin, xmax, ymax = annotations.bbox_from_landmarks(np.array([[10.0, 0.0], [20.0, 100.0]]))
    assert xmax - xmin == ymax - ymin == 130 and (xmin, ymin) == (-50, -15)


def test_pts_round_trip_and_folder(tmp_path):
    landmarks = np.random.default_rng(0).uniform(50, 150, (68, 2))
    pts_files.write_pts(str(tmp_path / "face.pts"), landmarks)
    np.testing.assert_allclose(pts_files.read_pts(str(tmp_path / "face.pts")), landmarks, atol=1e-6)
    (tmp_path / "face.jpg").write_bytes(b"")
    pts_files.write_pts(str(tmp_path / "orphan.pts"), landmarks)
    pts_files.write_pts(str(tmp_path / "short.pts"), landmarks[:60])
    (tmp_path / "short.png").write_bytes(b"")
    (tmp_path / "broken.pts").write_text("version: 1\nn_points: 68\n{\n1 2\n}\n")
    (tmp_path / "broken.png").write_bytes(b"")
    faces, problems = annotations.read_annotations(None, str(tmp_path))
    assert [face.name for face in faces] == ["face.jpg"]
    assert faces[0].bbox == annotations.bbox_from_landmarks(faces[0].landmarks)
    messages = {p.name: str(p) for p in problems}
    assert set(messages) == {"broken.png", "orphan.pts", "short.png"}
    assert "broken.pts" in messages["broken.png"] and "'broken.png'" in messages["broken.png"]
    assert "no image" in messages["orphan.pts"]
    assert "landmark has shape (60, 2), expected (68, 2)" in messages["short.png"]


def test_pts_one_based(tmp_path):
    landmarks = np.random.default_rng(0).uniform(50, 150, (68, 2))
    pts_files.write_pts(str(tmp_path / "face.pts"), landmarks)
    (tmp_path / "face.png").write_bytes(b"")
    faces, _ = annotations.read_annotations(None, str(tmp_path), pts_one_based=True)
    np.testing.assert_allclose(faces[0].landmarks, landmarks - 1, atol=1e-6)
