"""Synthetic demo faces: deterministic, fast, landmarks where the features are."""

import time

import numpy as np
import pytest

from dic_tf.data import annotations, synthetic


def test_same_seed_gives_identical_faces():
    first, second = synthetic.generate_faces(6, seed=3), synthetic.generate_faces(6, seed=3)
    assert first.images.tobytes() == second.images.tobytes()
    assert first.names == second.names
    for name in first.names:
        np.testing.assert_array_equal(first.info[name]["landmark"], second.info[name]["landmark"])
        assert first.info[name]["bbox"] == second.info[name]["bbox"]


def test_faces_depend_on_seed_and_index_only():
    short, long = synthetic.generate_faces(2, seed=5), synthetic.generate_faces(4, seed=5)
    np.testing.assert_array_equal(short.images, long.images[:2])
    assert not np.array_equal(synthetic.generate_faces(2, seed=6).images, short.images)
    assert not np.array_equal(long.images[0], long.images[1])


def test_landmark_layout_is_plausible():
    size = 160
    faces = synthetic.generate_faces(40, seed=0, size=size)
    assert faces.images.shape == (40, size, size, 3) and faces.images.dtype == np.uint8
    for name in faces.names:
        landmarks, bbox = faces.info[name]["landmark"], faces.info[name]["bbox"]
        assert landmarks.shape == (68, 2)
        xmin, ymin, xmax, ymax = bbox
        assert 0 <= xmin < xmax <= size and 0 <= ymin < ymax <= size
        assert tuple(bbox) == annotations.bbox_from_landmarks(landmarks)
        assert np.all((landmarks >= [xmin, ymin]) & (landmarks <= [xmax, ymax]))
        left_eye, right_eye = landmarks[36:42].mean(axis=0), landmarks[42:48].mean(axis=0)
        mouth, nose_tip, chin = landmarks[48:68].mean(axis=0), landmarks[30], landmarks[8]
        brows = landmarks[17:27].mean(axis=0)
        assert brows[1] < min(left_eye[1], right_eye[1])
        assert max(left_eye[1], right_eye[1]) < nose_tip[1] < mouth[1] < chin[1]
        assert left_eye[0] < right_eye[0]
        assert landmarks[0, 0] < landmarks[16, 0] and landmarks[48, 0] < landmarks[54, 0]
        assert landmarks[36, 0] < landmarks[39, 0] < landmarks[42, 0] < landmarks[45, 0]


def test_features_are_drawn_at_the_landmarks():
    faces = synthetic.generate_faces(10, seed=1)
    for image, name in zip(faces.images, faces.names):
        landmarks = faces.info[name]["landmark"]
        pupil = np.round(landmarks[36:42].mean(axis=0)).astype(int)
        cheek = np.round(0.5 * landmarks[3] + 0.5 * landmarks[31]).astype(int)
        assert image[pupil[1], pupil[0]].astype(int).sum() + 60 < image[cheek[1], cheek[0]].astype(int).sum()


def test_generation_is_fast():
    start = time.perf_counter()
    synthetic.generate_faces(100, seed=2)
    assert time.perf_counter() - start < 5.0


def test_write_faces_in_the_info_format(tmp_path):
    faces = synthetic.generate_faces(3, seed=4)
    path = synthetic.write_faces(faces, str(tmp_path))
    loaded = annotations.load_annotations(path)
    assert [face.name for face in loaded] == faces.names
    for face in loaded:
        assert (tmp_path / face.name).is_file()
        np.testing.assert_allclose(face.landmarks, faces.info[face.name]["landmark"])


def test_demo_data_is_prepared_once_and_refuses_other_counts(tmp_path):
    from dic_tf.data.demo import prepare_demo_data

    root = str(tmp_path / "demo_data")
    train, val = prepare_demo_data(root, 4, 2)
    manifest = (tmp_path / "demo_data" / "train" / "manifest.json").read_bytes()
    assert prepare_demo_data(root, 4, 2) == (train, val)  # reused, not regenerated
    assert (tmp_path / "demo_data" / "train" / "manifest.json").read_bytes() == manifest
    with pytest.raises(ValueError, match="holds 4 train demo faces, but --demo_train_faces=5"):
        prepare_demo_data(root, 5, 2)
