"""The official metric protocol against the authors' reference values."""

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
from PIL import Image

from dic_tf import metrics
from dic_tf.metrics import landmarks as landmark_metrics
from dic_tf.utils.image_space import RGB_MEAN

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(REPO, "tests", "fixtures", "metrics.npz")


@pytest.fixture(scope="module")
def ref():
    with np.load(FIXTURE) as data:
        return {key: data[key] for key in data.files}


def test_psnr_matches_reference(ref):
    batch = metrics.psnr_y_batch(ref["sr"], ref["hr"], border=8)
    single = np.array([metrics.psnr_y(s, h) for s, h in zip(ref["sr"], ref["hr"])])
    error = max(np.abs(batch - ref["psnr"]).max(), np.abs(single - ref["psnr"]).max())
    print(f"PSNR max abs error vs reference: {error:.3e} dB")
    assert error < 1e-6


def test_official_ssim_matches_reference(ref):
    batch = metrics.ssim_y_batch(ref["sr"], ref["hr"], border=8, variant="official")
    single = np.array([metrics.ssim_y(s, h) for s, h in zip(ref["sr"], ref["hr"])])
    error = max(np.abs(batch - ref["ssim"]).max(), np.abs(single - ref["ssim"]).max())
    print(f"official SSIM max abs error vs reference: {error:.3e}")
    assert error < 1e-6


def test_standard_ssim_differs_slightly_from_official(ref):
    standard = metrics.ssim_y_batch(ref["sr"], ref["hr"], variant="standard")
    difference = np.abs(standard - ref["ssim"])
    print(f"|standard - official| SSIM per image: {np.array2string(difference, precision=2)}")
    assert difference.max() > 1e-6
    assert difference.max() < 1e-4


def _ssim_with_cv2(a, b):
    """Independent oracle: full 2-D Gaussian window with cv2, valid region."""
    window = cv2.getGaussianKernel(11, 1.5)
    window = window @ window.T

    def blur(x):
        return cv2.filter2D(x, -1, window)[5:-5, 5:-5]

    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu_a, mu_b = blur(a), blur(b)
    var_a, var_b = blur(a * a) - mu_a**2, blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    )
    return ssim_map.mean()


def test_ssim_variants_are_textbook_ssim_on_y_and_on_256_minus_y(ref):
    y_sr = metrics.rgb_to_y(ref["sr"][2])[8:-8, 8:-8].astype(np.float64)
    y_hr = metrics.rgb_to_y(ref["hr"][2])[8:-8, 8:-8].astype(np.float64)
    standard = metrics.ssim_y(ref["sr"][2], ref["hr"][2], variant="standard")
    official = metrics.ssim_y(ref["sr"][2], ref["hr"][2], variant="official")
    assert standard == pytest.approx(_ssim_with_cv2(y_sr, y_hr), abs=1e-12)
    assert official == pytest.approx(_ssim_with_cv2(256 - y_sr, 256 - y_hr), abs=1e-12)


def test_gaussian_window_matches_cv2():
    np.testing.assert_allclose(
        metrics.gaussian_window(), cv2.getGaussianKernel(11, 1.5)[:, 0], atol=1e-15
    )


def test_rgb_to_y_bt601_range_and_shape():
    images = np.array([[[[0, 0, 0], [255, 255, 255], [255, 0, 0]]]], dtype=np.uint8)
    y = metrics.rgb_to_y(images)
    assert y.dtype == np.uint8 and y.shape == (1, 1, 3)
    np.testing.assert_array_equal(y[0, 0], [16, 235, 81])


def test_identical_images():
    image = np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    assert metrics.psnr_y(image, image) == float("inf")
    assert metrics.ssim_y(image, image) == pytest.approx(1.0, abs=1e-12)


def test_normalized_to_uint8_round_trips_uint8_images():
    images = np.random.default_rng(1).integers(0, 256, (2, 9, 7, 3), dtype=np.uint8)
    normalized = images.astype(np.float32) / 255.0 - np.asarray(RGB_MEAN, np.float32)
    np.testing.assert_array_equal(metrics.normalized_to_uint8(normalized), images)


def test_normalized_to_uint8_clips():
    extreme = np.stack([np.full((1, 1, 3), -5.0), np.full((1, 1, 3), 5.0)])
    np.testing.assert_array_equal(metrics.normalized_to_uint8(extreme)[:, 0, 0, 0], [0, 255])


@pytest.mark.parametrize(
    "call, error, fragments",
    [
        (lambda a: metrics.psnr_y_batch(a, a[:, :-1]), ValueError,
         ["(2, 32, 32, 3)", "(2, 31, 32, 3)"]),
        (lambda a: metrics.ssim_y_batch(a.astype(np.float32), a), TypeError,
         ["sr", "float32", "normalized_to_uint8"]),
        (lambda a: metrics.psnr_y(a, a), ValueError, ["(2, 32, 32, 3)", "psnr_y_batch"]),
        (lambda a: metrics.psnr_y_batch(a[..., :1], a[..., :1]), ValueError,
         ["(N, H, W, 3)", "(2, 32, 32, 1)"]),
        (lambda a: metrics.psnr_y_batch(a, a, border=16), ValueError, ["border=16", "32x32"]),
        (lambda a: metrics.ssim_y_batch(a, a, border=11), ValueError, ["(10, 10)", "11x11"]),
        (lambda a: metrics.ssim_y_batch(a, a, variant="matlab"), ValueError, ["'matlab'"]),
        (lambda a: metrics.normalized_to_uint8(a), TypeError, ["uint8"]),
    ],
)
def test_metric_errors_name_the_problem(call, error, fragments):
    images = np.zeros((2, 32, 32, 3), dtype=np.uint8)
    with pytest.raises(error) as info:
        call(images)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_heatmap_peaks_match_reference(ref):
    peaks = landmark_metrics.heatmap_peaks(ref["heatmaps"])
    assert peaks.dtype == np.int64
    np.testing.assert_array_equal(peaks, ref["peaks"])
    np.testing.assert_array_equal(landmark_metrics.heatmap_peaks(ref["heatmaps"][1]), ref["peaks"][1])
    np.testing.assert_array_equal(
        landmark_metrics.peaks_to_image(peaks), ref["peaks"] * landmark_metrics.HEATMAP_STRIDE
    )


def test_heatmap_peaks_take_first_maximum_in_row_major_order():
    heatmaps = np.zeros((1, 4, 5, 1))
    heatmaps[0, 2, 1, 0] = heatmaps[0, 1, 3, 0] = 1.0
    np.testing.assert_array_equal(landmark_metrics.heatmap_peaks(heatmaps), [[[3, 1]]])


def test_nme_matches_reference(ref):
    value = landmark_metrics.nme(ref["lm_pred"], ref["lm_gt"])
    error = abs(value - float(ref["nme"]))
    print(f"NME {value:.9f}, abs error vs reference: {error:.3e}")
    assert error < 1e-9
    per_image = landmark_metrics.nme_per_image(ref["lm_pred"], ref["lm_gt"])
    assert per_image.shape == (4,) and np.mean(per_image) == pytest.approx(value, abs=1e-15)


def test_nme_five_points_uses_first_two_as_eyes():
    gt = np.zeros((1, 5, 2))
    gt[0, 1] = [10.0, 0.0]
    pred = gt + [[[0.0, 1.0]]]
    assert landmark_metrics.nme(pred, gt) == pytest.approx(0.1)


def test_refined_landmarks_follow_second_highest_cell(ref):
    heatmaps = ref["heatmaps"]
    refined = landmark_metrics.refined_landmarks(heatmaps)
    for n in range(heatmaps.shape[0]):
        for k in range(heatmaps.shape[-1]):
            grid = heatmaps[n, ..., k]
            order = np.argsort(-grid.ravel(), kind="stable")
            (y1, y2), (x1, x2) = np.unravel_index(order[:2], grid.shape)
            expected = [4 * x1 + (1 if x2 > x1 else -1), 4 * y1 + (1 if y2 > y1 else -1)]
            np.testing.assert_array_equal(refined[n, k], expected)


def test_refined_landmark_shift_on_a_hand_made_heatmap():
    grid = np.zeros((1, 8, 8, 2))
    grid[0, 3, 5, 0], grid[0, 4, 4, 0] = 1.0, 0.5  # second: left and below
    grid[0, 3, 5, 1], grid[0, 3, 6, 1] = 1.0, 0.5  # second: right, same row
    np.testing.assert_array_equal(
        landmark_metrics.refined_landmarks(grid)[0], [[5 * 4 - 1, 3 * 4 + 1], [5 * 4 + 1, 3 * 4 - 1]]
    )


def test_landmark_errors_three_normalizations(ref):
    pred, gt = ref["lm_pred"], ref["lm_gt"]
    errors = landmark_metrics.landmark_errors(pred, gt)
    assert set(errors) == set(landmark_metrics.NORMALIZATIONS)
    for n in range(gt.shape[0]):
        rmse = np.sqrt(np.mean(np.sum((pred[n] - gt[n]) ** 2, axis=1)))
        x = gt[n, :, 0]
        assert errors["width"][n] == pytest.approx(rmse / (x.max() - x.min()))
        assert errors["eye_outer_width"][n] == pytest.approx(rmse / (x[46] - x[37]))
        eye_dist = (x[43] + x[46]) / 2 - (x[37] + x[40]) / 2
        assert errors["eye_dist"][n] == pytest.approx(rmse / eye_dist)


def test_landmark_errors_name_shapes():
    with pytest.raises(ValueError, match=r"\(1, 68, 2\).*\(1, 67, 2\)"):
        landmark_metrics.nme(np.zeros((1, 68, 2)), np.zeros((1, 67, 2)))
    with pytest.raises(ValueError, match="68 or 5 points, got 7"):
        landmark_metrics.nme(np.zeros((1, 7, 2)), np.zeros((1, 7, 2)))
    with pytest.raises(ValueError, match="68-point"):
        landmark_metrics.landmark_errors(np.zeros((1, 5, 2)), np.zeros((1, 5, 2)))
    with pytest.raises(ValueError, match=r"\(32, 32\)"):
        landmark_metrics.heatmap_peaks(np.zeros((32, 32)))


def _run_evaluate(*args):
    return subprocess.run(
        [sys.executable, os.path.join(REPO, "evaluate.py"), *args],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )


def _write_pairs(ref, tmp_path):
    sr_dir, hr_dir = tmp_path / "sr", tmp_path / "hr"
    sr_dir.mkdir()
    hr_dir.mkdir()
    for i in range(4):
        Image.fromarray(ref["sr"][i]).save(sr_dir / f"face_{i}.png")
        Image.fromarray(ref["hr"][i]).save(hr_dir / f"face_{i}.png")
    return sr_dir, hr_dir


def test_evaluate_folder_mode_writes_results(ref, tmp_path):
    sr_dir, hr_dir = _write_pairs(ref, tmp_path)
    out = tmp_path / "out"
    result = _run_evaluate(f"--sr_dir={sr_dir}", f"--hr_dir={hr_dir}", f"--output_dir={out}")
    assert result.returncode == 0, result.stderr
    assert "official" in result.stdout
    results = json.loads((out / "results.json").read_text())
    assert {"images", "average", "protocol"} <= set(results)
    assert sorted(results["images"]) == [f"face_{i}.png" for i in range(4)]
    for i in range(4):
        entry = results["images"][f"face_{i}.png"]
        assert entry["psnr"] == pytest.approx(ref["psnr"][i], abs=1e-6)
        assert entry["ssim"] == pytest.approx(ref["ssim"][i], abs=1e-6)
    assert results["average"]["psnr"] == pytest.approx(ref["psnr"][:4].mean(), abs=1e-6)
    assert results["average"]["ssim"] == pytest.approx(ref["ssim"][:4].mean(), abs=1e-6)
    protocol = results["protocol"]
    assert protocol["y_channel"] == "BT.601"
    assert protocol["border"] == 8
    assert protocol["ssim"] == "official" and protocol["ssim_note"]


def test_evaluate_standard_ssim_is_reported(ref, tmp_path):
    sr_dir, hr_dir = _write_pairs(ref, tmp_path)
    out = tmp_path / "out"
    result = _run_evaluate(
        f"--sr_dir={sr_dir}", f"--hr_dir={hr_dir}", f"--output_dir={out}", "--ssim=standard"
    )
    assert result.returncode == 0, result.stderr
    assert "SSIM (standard)" in result.stdout
    results = json.loads((out / "results.json").read_text())
    assert results["protocol"]["ssim"] == "standard"
    expected = metrics.ssim_y_batch(ref["sr"][:4], ref["hr"][:4], variant="standard")
    assert results["average"]["ssim"] == pytest.approx(expected.mean(), abs=1e-12)


def test_evaluate_reports_missing_counterpart_and_size_mismatch(ref, tmp_path):
    sr_dir, hr_dir = _write_pairs(ref, tmp_path)
    Image.fromarray(ref["sr"][0]).save(sr_dir / "orphan.png")
    result = _run_evaluate(f"--sr_dir={sr_dir}", f"--hr_dir={hr_dir}", f"--output_dir={tmp_path}")
    assert result.returncode != 0
    assert "orphan.png" in result.stderr and "No ground truth" in result.stderr

    (sr_dir / "orphan.png").unlink()
    Image.fromarray(ref["hr"][1][:, :120]).save(hr_dir / "face_1.png")
    result = _run_evaluate(f"--sr_dir={sr_dir}", f"--hr_dir={hr_dir}", f"--output_dir={tmp_path}")
    assert result.returncode != 0
    assert "face_1.png" in result.stderr
    assert "128x128" in result.stderr and "120x128" in result.stderr


def test_evaluate_reports_unreadable_image(ref, tmp_path):
    sr_dir, hr_dir = _write_pairs(ref, tmp_path)
    (sr_dir / "face_2.png").write_bytes(b"not a png")
    result = _run_evaluate(f"--sr_dir={sr_dir}", f"--hr_dir={hr_dir}", f"--output_dir={tmp_path}")
    assert result.returncode != 0
    assert "face_2.png: not a readable image" in result.stderr
