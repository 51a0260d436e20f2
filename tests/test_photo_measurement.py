"""dic_tf.photos.measurement: the photo pairs, degradations and scores behind docs/photos.md's tables."""

import types

import numpy as np
import pytest

from dic_tf.photos import alignment, measurement, photo, template
from dic_tf.utils import image_files
from dic_tf.utils.resize import resize_bicubic, resize_with, upscale_bicubic

BBOX = (33, 33, 167, 167)  # the development faces' box: 134 px of a 200 px picture


def _source(size=200):
    """A smooth 'picture' with detail at every scale and 68 landmarks putting the template face in BBOX."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    channels = [128 + 60 * np.sin(23 * xx + 5 * yy) + 40 * np.cos(41 * yy * xx),
                128 + 70 * np.cos(17 * yy) * np.sin(9 * xx),
                128 + 50 * np.sin(31 * (xx + yy))]
    texture = measurement.gaussian_blur(np.random.default_rng(0).integers(0, 256, (size, size, 3), np.uint8), 1.0)
    image = np.clip(0.5 * np.stack(channels, -1) + texture - 64, 0, 255).astype(np.uint8)
    side = BBOX[2] - BBOX[0]
    points = template.template(128) * side / 128 + BBOX[0]
    landmarks = np.zeros((68, 2))
    landmarks[36:42], landmarks[42:48] = points[0], points[1]
    landmarks[30], landmarks[48], landmarks[54] = points[2], points[3], points[4]
    return image, landmarks


class _Oracle:
    """A "model" returning the true 128-px crop of the pair's truth: the pipeline's geometry alone."""

    def __init__(self, pair, upscale, lr_size):
        self.pair, self.upscale, self.lr_size, self.scale = pair, upscale, lr_size, 128 // lr_size

    def __call__(self, lr):
        transform = photo.window_transform(photo.face_transform(self.pair.face), self.lr_size)  # photo -> crop
        u = self.upscale
        to_crop = transform.copy()
        to_crop[:, :2] = transform[:, :2] / u  # truth pixel q -> input pixel (q + 0.5) / U - 0.5
        to_crop[:, 2] = transform[:, 2] + transform[:, :2] @ np.full(2, 0.5 / u - 0.5)
        crop = alignment.align_face(self.pair.truth, to_crop, 128)
        return types.SimpleNamespace(sr=[crop[None].repeat(len(lr), 0)], landmarks=np.zeros((1, len(lr), 68, 2)))


@pytest.mark.parametrize("face_side, upscale, lr_size", [(16, 8, 16), (32, 4, 32), (24, 4, 32)])
def test_the_true_face_pasted_back_scores_far_above_bicubic(face_side, upscale, lr_size):
    image, landmarks = _source()
    pair = measurement.photo_pair(image, landmarks, BBOX, face_side, upscale)
    oracle = _Oracle(pair, upscale, lr_size)
    scores = measurement.score_pair(pair, [oracle], upscale)
    # measured 35.0-36.8 dB, 7.3-7.8 above bicubic (the resampling to the face's size and the feathered
    # paste lose the rest); the same with the truth moved by one of its pixels: 29.5-29.8 dB
    assert scores["models"][0][0] > max(34.0, scores["bicubic"][0] + 6)
    assert scores["models"][0][1] > 0.96
    assert abs(scores["crop_side"] - face_side) < 1.5  # the 5 points put the crop where the box is


def test_photo_pair_sizes_region_and_range():
    image, landmarks = _source()
    pair = measurement.photo_pair(image, landmarks, BBOX, 16, 4)
    size = round(200 * 16 / 134)
    assert pair.photo.shape == (size, size, 3) and pair.truth.shape == (4 * size, 4 * size, 3)
    x0, y0, x1, y1 = pair.region
    assert abs((x1 - x0) - 64) <= 1 and (x0, y0) == (round(33 * 4 * size / 200),) * 2
    np.testing.assert_array_equal(pair.photo, resize_bicubic(pair.truth, size))  # the clean input
    np.testing.assert_allclose(pair.face.points, (template.five_points(landmarks) + 0.5) * size / 200 - 0.5)
    assert measurement.photo_pair(image, landmarks, BBOX, 32, 8) is None  # 256 px > the 134 px box
    assert measurement.photo_pair(image, landmarks, BBOX, 16, 8) is not None  # 128 px fits


def test_degradations():
    image, _ = _source()
    rng = np.random.default_rng
    clean = measurement.degrade(image, 50, measurement.CLEAN, rng(0))
    np.testing.assert_array_equal(clean, resize_bicubic(image, 50))
    for resampler in ("area", "bilinear", "lanczos"):
        other = measurement.degrade(image, 50, measurement.Degradation(resampler), rng(0))
        np.testing.assert_array_equal(other, resize_with(image, 50, resampler))
        assert np.abs(other.astype(int) - clean).mean() > 0.1
    flat = np.full((20, 20, 3), 77, np.uint8)
    np.testing.assert_array_equal(measurement.gaussian_blur(flat, 1.5), flat)
    blurred = measurement.degrade(image, 50, measurement.Degradation(blur=1.0), rng(0))
    assert np.abs(np.diff(blurred.astype(int), axis=1)).mean() < np.abs(np.diff(clean.astype(int), axis=1)).mean()
    noisy = [measurement.degrade(image, 50, measurement.Degradation(noise=8), rng(s)) for s in (1, 1, 2)]
    np.testing.assert_array_equal(noisy[0], noisy[1])
    assert 6 < np.std(noisy[0].astype(int) - clean) < 10 and not np.array_equal(noisy[0], noisy[2])
    jpeg = measurement.degrade(image, 50, measurement.Degradation(jpeg_quality=30), rng(0))
    np.testing.assert_array_equal(jpeg, image_files.jpeg_round_trip(clean, 30))
    assert measurement.Degradation("area", 0.5, 4, 30).label() == "area, blur 0.5, noise 4/255, JPEG 30"
    assert len(measurement.UNSEEN_GRID) == 14 and measurement.UNSEEN_GRID[0] == measurement.CLEAN


def test_a_cell_scores_the_product_choice_and_each_model():
    image, landmarks = _source()

    class Bicubic:  # the LR upsampled: a model that adds nothing
        lr_size, scale = 16, 8

        def __call__(self, lr):
            return types.SimpleNamespace(sr=[np.stack([resize_bicubic(x, 128) for x in lr])],
                                         landmarks=np.zeros((1, len(lr), 68, 2)))

    faces = [(image, landmarks, BBOX)] * 2
    cell = measurement.measure_cell(faces, [Bicubic()], 16, 2)
    assert cell["faces"] == 2 and cell["chosen_counts"] == {"0": 2}
    assert cell["chosen"] == {k: cell["models"][0][k] for k in ("psnr", "ssim")}
    bicubic = measurement.region_scores(upscale_bicubic(measurement.photo_pair(image, landmarks, BBOX, 16, 2).photo, 2),
                                        measurement.photo_pair(image, landmarks, BBOX, 16, 2).truth,
                                        measurement.photo_pair(image, landmarks, BBOX, 16, 2).region)
    assert cell["bicubic"]["psnr"] == pytest.approx(bicubic[0])
    assert abs(cell["models"][0]["psnr"] - bicubic[0]) < 1.5  # the detour through 16 px costs little
    assert measurement.measure_cell(faces, [Bicubic()], 64, 4) is None  # 256 px > the box
