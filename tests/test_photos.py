"""dic_tf.photos and `predict.py --photos`: detection, alignment, paste-back, bad inputs."""

import dataclasses
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from dic_tf.data import annotations, preparation
from dic_tf.inference import KerasPredictor, Prediction, SavedModelPredictor, load_dic
from dic_tf.models import build_dic
from dic_tf.models.dic_config import DICConfig
from dic_tf.photos import alignment, batch, choice, detection, paste, photo, template
from dic_tf.training import checkpoints
from dic_tf.utils import image_files
from dic_tf.utils.resize import resize_bicubic, upscale_bicubic
from tests.exif_images import save_with_orientation

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "photos")
DEVELOPMENT_FACES = os.path.join(ROOT, "..", "shared", "faces", "info.json")
# (crop side in px, fixture, mirrored, x, y): real faces pasted at 16-32 px.
PASTED = [(16, "astronaut", False, 4, 20), (20, "camera", False, 26, 50), (24, "astronaut", True, 52, 20),
          (28, "camera", True, 82, 50), (32, "astronaut", False, 116, 20)]


def _background(height, width):
    yy, xx = np.mgrid[0:height, 0:width]
    channels = [90 + 40 * np.sin(xx / 17.0), 110 + 30 * np.cos(yy / 11.0), np.full((height, width), 130.0)]
    return np.round(np.stack(channels, axis=-1)).astype(np.uint8)


@pytest.fixture(scope="module")
def group():
    """A 200x96 photo with the two fixture faces pasted 5 times at 16-32 px; and their squares."""
    image = _background(96, 200)
    squares = []
    for side, name, mirrored, x, y in PASTED:
        face = np.asarray(Image.open(os.path.join(FIXTURES, f"{name}_face.png")).convert("RGB"))
        face = np.ascontiguousarray(face[:, ::-1] if mirrored else face)
        image[y:y + side, x:x + side] = np.asarray(Image.fromarray(face).resize((side, side), Image.BICUBIC))
        squares.append((x, y, side))
    return image, squares


@pytest.fixture(scope="module")
def detector():
    return detection.FaceDetector()


@pytest.fixture(scope="module")
def faces(group, detector):
    return detector(group[0])


def _our_downsample(canvas, scale=8):
    """Photo pixel p from the x`scale` canvas: the mean of the 2x2 pixels around its centre."""
    height, width = canvas.shape[0] // scale, canvas.shape[1] // scale
    half = scale // 2
    blocks = canvas.reshape(height, scale, width, scale, 3)[:, half - 1:half + 1, :, half - 1:half + 1]
    return blocks.astype(np.float64).mean(axis=(1, 3))


def _inside_crop(transform, shape, hr_size=128, margin=0):
    """bool [H, W]: photo pixels whose centre maps inside the crop (minus `margin` crop px)."""
    grid = np.stack(np.meshgrid(np.arange(shape[1]), np.arange(shape[0])), axis=-1).reshape(-1, 2)
    crop = alignment.apply(transform, grid)
    return np.all((crop >= margin) & (crop <= hr_size - 1 - margin), axis=1).reshape(shape[:2])


@pytest.mark.skipif(not os.path.isfile(DEVELOPMENT_FACES), reason="needs ../shared/faces (development faces)")
def test_template_is_the_mean_development_face_in_the_official_crop():
    faces, problems = annotations.read_annotations(DEVELOPMENT_FACES)
    assert not problems
    assert len(faces) == 1199
    np.testing.assert_allclose(template.template_from_annotations(faces), template.TEMPLATE_128, atol=5e-4)


def test_template_scales_with_the_hr_size():
    np.testing.assert_allclose(template.template(128), template.TEMPLATE_128)
    np.testing.assert_allclose(template.template(256), template.TEMPLATE_128 * 2 + 0.5)


def test_similarity_transform_recovers_rotation_scale_and_shift():
    rng = np.random.default_rng(0)
    points = rng.uniform(0, 50, (5, 2))
    angle, scale, shift = 0.3, 2.5, np.array([7.0, -3.0])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    target = points @ (scale * rotation).T + shift
    transform = alignment.similarity_transform(points, target)
    np.testing.assert_allclose(transform, np.column_stack([scale * rotation, shift]), atol=1e-10)
    np.testing.assert_allclose(alignment.apply(alignment.invert(transform), target), points, atol=1e-10)
    mirrored = alignment.similarity_transform(points, target * [-1, 1])
    assert np.linalg.det(mirrored[:, :2]) > 0  # never a reflection


@pytest.mark.parametrize("xmin, ymin, side", [(20, 30, 134), (5, 7, 40), (50, 60, 16), (3, 4, 12)])
def test_upright_whole_pixel_crop_is_the_official_preparation(xmin, ymin, side):
    image = np.random.default_rng(side).integers(0, 256, (200, 180, 3), dtype=np.uint8)
    scale = 128 / side
    offset = (0.5 - np.array([xmin, ymin])) * scale - 0.5  # pixel centres -> pixel centres
    transform = np.array([[scale, 0, offset[0]], [0, scale, offset[1]]])
    hr = alignment.align_face(image, transform, 128)
    expected, _ = preparation.crop_and_resize(image, np.zeros((68, 2)), (xmin, ymin, xmin + side, ymin + side))
    np.testing.assert_array_equal(hr, expected)
    np.testing.assert_array_equal(preparation.make_lr(hr), preparation.make_lr(expected))


def _smooth_image(height, width):
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    channels = [128 + 60 * np.sin(xx / 7 + yy / 11), 128 + 60 * np.cos(yy / 6), 128 + 50 * np.sin((xx - yy) / 9)]
    return np.round(np.stack(channels, axis=-1)).astype(np.uint8)


@pytest.mark.parametrize("scale", [5.0, 0.5])
def test_turned_crop_follows_the_transform(scale):
    """The crop of a photo turned by 90 degrees, through the turned transform, is the same crop."""
    image = _smooth_image(90, 80)
    transform = np.array([[scale, 0, 3.0], [0, scale, -20.0]])
    turned = np.ascontiguousarray(np.rot90(image))  # turned[y, x] = image[x, W - 1 - y]
    photo_to_turned = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, image.shape[1] - 1.0], [0, 0, 1]])
    through_turned = (np.vstack([transform, [0, 0, 1]]) @ photo_to_turned)[:2]
    turned_crop = alignment.align_face(image, through_turned, 128).astype(int)
    upright_crop = alignment.align_face(turned, transform, 128).astype(int)
    if scale < 1:  # turned at the photo's scale: a 90-degree turn moves whole pixels
        np.testing.assert_array_equal(turned_crop, upright_crop)
    else:  # interpolated straight into the crop with Pillow's kernel: Pillow's 8-bit passes differ by 1
        assert np.abs(turned_crop - upright_crop)[4:-4, 4:-4].max() <= 1


def test_every_pasted_face_is_found(group, faces):
    _, squares = group
    assert len(faces) == len(squares)
    centres = np.array([(face.box[:2] + face.box[2:]) / 2 for face in faces])
    for x, y, side in squares:
        inside = np.all((centres > (x, y)) & (centres < (x + side, y + side)), axis=1)
        assert inside.sum() == 1, (x, y, side, centres)


def test_paste_back_round_trip_changes_the_face_by_under_one_grey_level(group, faces):
    """Identity "model": the face bicubic-upsampled into the crop; then pasted and downsampled again."""
    image, _ = group
    plain = upscale_bicubic(image, 8)
    for face in faces:
        transform = photo.face_transform(face)
        canvas = plain.copy()
        x0, y0, x1, y1 = paste.paste_face(canvas, alignment.align_face(image, transform, 128), transform, 8)
        region = _inside_crop(transform, image.shape)
        error = np.abs(_our_downsample(canvas) - image)[region].mean()
        assert error < 1.0, error
        untouched = np.ones(canvas.shape[:2], bool)
        untouched[y0:y1, x0:x1] = False
        np.testing.assert_array_equal(canvas[untouched], plain[untouched])


@pytest.mark.parametrize("window, upscale", [(16, 8), (32, 2), (32, 8), (64, 4)])
def test_a_window_face_is_pasted_after_one_pillow_resize_at_whole_pixels(window, upscale):
    """The 128 SR face covers window x U output pixels: as it is, shrunk or enlarged by Pillow bicubic."""
    face = np.clip(np.random.default_rng(window).normal(128, 60, (128, 128, 3)), 0, 255).astype(np.uint8)
    x0, y0, k = 10, 12, 128 / window  # the window's corner in the photo, crop pixels per photo pixel
    transform = np.array([[k, 0, -k * x0 + (k - 1) / 2], [0, k, -k * y0 + (k - 1) / 2]])
    canvas = np.zeros((100 * upscale, 100 * upscale, 3), np.uint8)
    paste.paste_face(canvas, face, transform, upscale, mask=np.ones((128, 128), np.float32))
    side = window * upscale
    expected = face if side == 128 else resize_bicubic(face, side)
    top, left = upscale * y0, upscale * x0
    np.testing.assert_array_equal(canvas[top:top + side, left:left + side], expected)
    canvas[top:top + side, left:left + side] = 0
    assert not canvas.any()  # nothing outside the window


class _LandmarkEcho:
    """A SavedModel-like predictor: bicubic SR, and the 5 template points as landmarks."""

    def __init__(self, scale=8, validation=None):
        self.scale, self.lr_size, self.validation = scale, 128 // scale, validation

    def __call__(self, lr):
        points = np.zeros((68, 2))
        centres = template.template(128)
        points[36:42], points[42:48], points[30], points[48], points[54] = centres
        sr = np.stack([resize_bicubic(face, 128) for face in lr])
        return Prediction(sr=[sr], heatmaps=[np.zeros((len(lr), 32, 32, 68), np.float32)],
                          landmarks=[np.repeat(points[None], len(lr), axis=0)], attention=[None])


def test_faces_are_windowed_flagged_and_their_landmarks_mapped_back(group, faces):
    image, _ = group
    plans = photo.plan_faces(faces, [16], 8)
    canvas, results = photo.super_resolve_photo(image, plans, [_LandmarkEcho()], 8)
    assert canvas.shape == (96 * 8, 200 * 8, 3)
    # Faces from 16 x 2^0.5 px on would need their window shrunk for the 16 px LR: left bicubic.
    assert [r.plan.model is None for r in results] == [r.plan.crop_side >= 16 * 2**0.5 for r in results]
    assert 2 <= sum(r.plan.model is None for r in results) <= 3
    for result in (r for r in results if r.plan.model is not None):
        transform = result.plan.transform
        # The model's window: upright, whole-pixel corners, 16 x 2^k photo pixels within half an
        # octave of the face's crop side.
        window = 128 / transform[0, 0]
        corner = 0.5 - (transform[:, 2] + 0.5) / transform[0, 0]
        assert transform[0, 1] == transform[1, 0] == 0 and transform[0, 0] == transform[1, 1]
        assert np.log2(window / 16) == round(np.log2(window / 16))
        assert abs(np.log2(result.plan.crop_side / window)) <= 0.5
        np.testing.assert_allclose(corner, np.round(corner), atol=1e-9)
        x0, y0 = np.round(corner).astype(int)
        w = int(window)
        # Its LR: the window's own pixels, or the window resized by exactly 2^k (Pillow bicubic).
        own = image[y0:y0 + w, x0:x0 + w]
        np.testing.assert_array_equal(result.lr, own if w == 16 else resize_bicubic(own, 16))
        np.testing.assert_array_equal(result.lr, photo.face_lr(image, transform, 16))
        np.testing.assert_array_equal(result.bicubic, resize_bicubic(result.lr, 128))
        np.testing.assert_array_equal(result.sr, result.bicubic)
        assert result.landmarks_steps.shape == (1, 68, 2)
        # The model's template points go back through the window's inverse; the detected points lie
        # inside the window.
        mapped = template.five_points(result.landmarks_steps[0])
        np.testing.assert_allclose(mapped, alignment.apply(alignment.invert(transform), template.template(128)))
        points = result.plan.face.points
        assert (points >= [x0, y0]).all() and (points < [x0 + w, y0 + w]).all()
        assert result.flags == (("upsampled",) if w < 16 else ())
    # With a 16-px LR, the 16-20 px faces are seen at their own pixels (k = 0).
    assert {int(128 / r.plan.transform[0, 0]) for r in results if r.plan.model is not None} == {16}


@pytest.mark.parametrize("side, lr_sizes, upscale, expected", [
    (16, [16, 32], 2, 0), (22, [16, 32], 2, 0), (23, [16, 32], 2, 1), (40, [16, 32, 64], 4, 1),
    (45, [16, 32], 8, 1), (46, [16, 32], 8, None), (64, [16, 32], 8, None), (10, [32, 16], 2, 1),
    (10, [32], 2, 0), (65, [16, 32], 2, None), (20, [16], 1, None),
])
def test_the_model_whose_lr_best_fits_the_face_is_chosen(side, lr_sizes, upscale, expected):
    model, reason = choice.choose_model(side, lr_sizes, upscale)
    assert model == expected and (reason == "") == (expected is not None)


@pytest.mark.parametrize("side, refusals, expected, reason", [
    (20, ["", "below"], 0, ""),                                   # x4 refused, x8 fits best anyway
    (20, ["below", ""], 1, ""),                                   # x8 refused: x4 still sees every pixel
    (40, ["", "is below"], None, "the model that fits it (32-px LR) is below"),  # only x4 fits
    (14, ["a", "b"], None, "the model that fits it (16-px LR) a"),
])
def test_a_model_refused_by_its_validation_is_never_chosen(side, refusals, expected, reason):
    assert choice.choose_model(side, [16, 32], 2, refusals) == (expected, reason)


@pytest.mark.parametrize("psnr, bicubic, refused", [(29.23, 29.64, True), (29.64, 29.64, True), (29.65, 29.64, False)])
def test_a_model_must_be_above_bicubic_on_its_validation(psnr, bicubic, refused):
    reason = choice.validation_refusal({"step": 1000, "psnr": psnr, "bicubic_psnr": bicubic})
    assert bool(reason) == refused
    assert choice.validation_refusal({"step": 1000, "psnr": None, "bicubic_psnr": bicubic}).startswith(
        "has no finite PSNR")
    assert not refused or reason == (f"is not above bicubic on its validation faces ({psnr:.2f} dB against "
                                     f"{bicubic:.2f} dB at step 1000)")


def test_faces_of_a_model_below_bicubic_stay_bicubic_and_are_reported(group, group_file, detector, tmp_path, capsys):
    """An x8 model whose validation is below bicubic: every face is the bicubic photo's, with the reason."""
    below = {"step": 1000, "psnr": 29.23, "bicubic_psnr": 29.64, "num_images": 100}
    report = batch.super_resolve_photos([str(group_file / "group.png")], _LandmarkEcho(validation=below),
                                        str(tmp_path), 2, detector=detector)
    refusal = choice.validation_refusal(below)
    assert report["models"] == [{"source": "_LandmarkEcho x8", "scale": 8, "lr_size": 16, "validation": below,
                                 "refused": refusal}]
    assert f"_LandmarkEcho x8 {refusal}: it is not used" in capsys.readouterr().err
    faces = report["photos"]["group.png"]["faces"]
    assert len(faces) == len(PASTED)
    for face in faces:
        assert face["model"] is None
        assert face["reason"] in (f"the model that fits it (16-px LR) {refusal}",
                                  "crop side {:.1f} px is at least 2^0.5 x the largest model LR (16 px): every "
                                  "model would discard most of its pixels".format(face["crop_side"]))
    assert any(face["reason"].startswith("the model that fits it") for face in faces)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "group_x2.png")), upscale_bicubic(group[0], 2))


def test_a_face_too_large_for_every_model_is_left_bicubic():
    """A face of crop side 512 px and an x8 model (16 px LR): the output is the bicubic upscale, reported."""
    image = _smooth_image(600, 600)
    face = detection.Face(np.zeros(4), template.template(128) * 4 + 10, 1.0)
    plans = photo.plan_faces([face], [16], 2)
    canvas, results = photo.super_resolve_photo(image, plans, [_LandmarkEcho()], 2)
    assert plans[0].crop_side == pytest.approx(512) and plans[0].model is None
    assert "at least 2^0.5 x the largest model LR (16 px)" in plans[0].reason
    assert results[0].sr is None
    np.testing.assert_array_equal(canvas, upscale_bicubic(image, 2))


@pytest.fixture(scope="module")
def official_tiny(tmp_path_factory):
    """(DIC tiny with the reference weights loaded from an official-format .npz, the .npz path)."""
    from tests import reference

    path = tmp_path_factory.mktemp("weights") / "dic_tiny.npz"
    arrays, meta = reference.load("dic_tiny")
    np.savez(path, **reference.state_dict(arrays, meta["spec"]))
    model, _ = load_dic(pytorch_checkpoint=str(path), config=DICConfig.tiny())
    return model, path


def test_keras_model_gives_every_step_landmarks(group, faces, official_tiny):
    model, _ = official_tiny
    plans = [plan for plan in photo.plan_faces(faces, [16], 8) if plan.model is not None][:2]
    _, results = photo.super_resolve_photo(group[0], plans, [KerasPredictor(model)], 8)
    expected = KerasPredictor(model)(np.stack([result.lr for result in results]))
    for i, result in enumerate(results):
        assert result.landmarks_steps.shape == (model.config.num_steps, 68, 2)
        assert np.abs(result.sr.astype(int) - expected.sr[-1][i]).max() <= 1
        final = alignment.apply(alignment.invert(result.plan.transform), expected.landmarks[-1][i])
        np.testing.assert_allclose(result.landmarks_steps[-1], final, atol=1e-4)


def test_missing_mtcnn_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "mtcnn", None)
    with pytest.raises(detection.DetectorUnavailableError, match=r'pip install "\.\[photos\]"'):
        detection.FaceDetector()


def test_a_jax_keras_backend_is_refused_with_the_fix(monkeypatch):
    import keras

    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(detection.DetectorUnavailableError, match="KERAS_BACKEND=tensorflow"):
        detection.FaceDetector()


def test_no_face_is_reported_and_left_out(detector, tmp_path, capsys):
    Image.fromarray(_background(96, 200)).save(tmp_path / "empty.png")
    report = batch.super_resolve_photos([str(tmp_path / "empty.png")], _LandmarkEcho(), str(tmp_path / "out"),
                                        detector=detector)
    assert report["no_face"] == ["empty.png"] and report["photos"] == {}
    assert "no face found in empty.png" in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path / "out")) == ["photos.json"]


def test_nothing_is_overwritten(group, detector, tmp_path, capsys):
    Image.fromarray(group[0]).save(tmp_path / "group.png")
    out = tmp_path / "out"
    out.mkdir()
    (out / "group_face1_sr.png").write_bytes(b"the user's file")
    report = batch.super_resolve_photos([str(tmp_path / "group.png")], _LandmarkEcho(), str(out), detector=detector)
    assert list(report["skipped"]) == ["group.png"] and "group_face1_sr.png exists" in capsys.readouterr().err
    assert (out / "group_face1_sr.png").read_bytes() == b"the user's file"
    assert sorted(os.listdir(out)) == ["group_face1_sr.png", "photos.json"]
    with pytest.raises(FileExistsError, match="photos.json exists"):
        batch.super_resolve_photos([str(tmp_path / "group.png")], _LandmarkEcho(), str(out), detector=detector)


def test_photos_sharing_a_stem_keep_their_whole_names(group, detector, tmp_path):
    """a.jpg and a.png: a.jpg_x2.jpg and a.png_x2.png (and their faces' files), neither skipped."""
    Image.fromarray(group[0]).save(tmp_path / "a.png")
    Image.fromarray(group[0]).save(tmp_path / "a.jpg", quality=95)
    out = tmp_path / "out"
    report = batch.super_resolve_photos([str(tmp_path / "a.jpg"), str(tmp_path / "a.png")], _LandmarkEcho(),
                                        str(out), detector=detector)
    assert report["skipped"] == {} and sorted(report["photos"]) == ["a.jpg", "a.png"]
    assert [report["photos"][name]["output"] for name in ("a.jpg", "a.png")] == ["a.jpg_x2.jpg", "a.png_x2.png"]
    assert {"a.jpg_face1_sr.png", "a.png_face1_sr.png"} <= set(os.listdir(out))
    assert batch.super_resolve_photos([str(tmp_path / "a.png")], _LandmarkEcho(), str(tmp_path / "one"),
                                      detector=detector)["photos"]["a.png"]["output"] == "a_x2.png"
    with Image.open(out / "a.jpg_x2.jpg") as output:
        assert "icc_profile" not in output.info  # none in, none out


def test_the_output_photo_keeps_an_rgb_colour_profile(group, detector, tmp_path):
    """A phone's Display P3 JPEG shows the same colours upscaled (here sRGB's profile stands in)."""
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.fromarray(group[0]).save(tmp_path / "p3.jpg", quality=95, icc_profile=profile)
    report = batch.super_resolve_photos([str(tmp_path / "p3.jpg")], _LandmarkEcho(), str(tmp_path / "out"),
                                        detector=detector)
    face = next(face for face in report["photos"]["p3.jpg"]["faces"] if face["model"] is not None)
    for name in (report["photos"]["p3.jpg"]["output"], face["sr_file"], face["lr_file"]):
        with Image.open(tmp_path / "out" / name) as output:
            assert output.info.get("icc_profile") == profile, name


def test_a_run_stopped_part_way_keeps_the_report_of_the_photos_written(group, detector, tmp_path):
    Image.fromarray(group[0]).save(tmp_path / "first.png")
    Image.fromarray(group[0]).save(tmp_path / "second.png")
    echo = _LandmarkEcho()

    class StopsOnTheSecondPhoto(_LandmarkEcho):
        calls = 0

        def __call__(self, lr):
            StopsOnTheSecondPhoto.calls += 1
            if StopsOnTheSecondPhoto.calls > 1:
                raise KeyboardInterrupt
            return echo(lr)

    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        batch.super_resolve_photos([str(tmp_path / "first.png"), str(tmp_path / "second.png")],
                                   StopsOnTheSecondPhoto(), str(out), detector=detector)
    report = json.loads((out / "photos.json").read_text())
    assert list(report["photos"]) == ["first.png"] and report["photos"]["first.png"]["output"] == "first_x2.png"
    assert report["stopped"] == {"photo": "second.png", "error": "KeyboardInterrupt: "}
    assert not (out / "second_x2.png").exists()


def _save_variants(image, folder):
    """The group photo as grayscale, CMYK JPEG, 16-bit gray PNG and EXIF-rotated JPEG."""
    Image.fromarray(image).convert("L").save(folder / "gray.png")
    Image.fromarray(image).convert("CMYK").save(folder / "cmyk.jpg", quality=95)
    gray16 = np.asarray(Image.fromarray(image).convert("L")).astype(np.uint16) * 257
    Image.fromarray(gray16).save(folder / "gray16.png")
    rotated = Image.fromarray(np.ascontiguousarray(np.rot90(image, -1)))  # stored turned 90 degrees clockwise
    exif = Image.Exif()
    exif[0x0112] = 8  # "rotate 90 CW to view": the viewer turns it back upright
    rotated.save(folder / "rotated.jpg", quality=95, exif=exif)


def test_reading_bad_and_unusual_inputs(group, tmp_path):
    image, _ = group
    _save_variants(image, tmp_path)
    gray = np.asarray(Image.fromarray(image).convert("L"))
    for name in ("gray.png", "gray16.png"):
        np.testing.assert_array_equal(image_files.read_rgb(str(tmp_path / name)), np.repeat(gray[..., None], 3, -1))
    cmyk = image_files.read_rgb(str(tmp_path / "cmyk.jpg")).astype(int)
    assert cmyk.shape == image.shape and np.abs(cmyk - image).mean() < 3
    upright = image_files.read_rgb(str(tmp_path / "rotated.jpg")).astype(int)
    assert upright.shape == image.shape and np.abs(upright - image).mean() < 3
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    with pytest.raises(image_files.ImageReadError, match="broken.jpg: not a readable image"):
        image_files.read_rgb(str(tmp_path / "broken.jpg"))


def test_an_exif_turned_photo_gives_the_upright_photos_results(group, detector, official_tiny, tmp_path):
    """`predict.py --photos` reads photos upright: an EXIF-turned copy gives the same faces and files."""
    model, _ = official_tiny
    Image.fromarray(group[0]).save(tmp_path / "photo.png")
    turned = tmp_path / "turned"
    turned.mkdir()
    save_with_orientation(turned / "photo.png", group[0], 6)
    assert Image.open(turned / "photo.png").size == (96, 200)  # stored turned
    reports, predictor = {}, KerasPredictor(model)
    for name, path in (("upright", tmp_path / "photo.png"), ("turned", turned / "photo.png")):
        report = batch.super_resolve_photos([str(path)], predictor, str(tmp_path / "out" / name), detector=detector)
        reports[name] = {k: v for k, v in report["photos"]["photo.png"].items() if k != "timing"}
    assert len(reports["upright"]["faces"]) == len(PASTED)
    assert reports["turned"] == reports["upright"]
    out = tmp_path / "out"
    assert sorted(os.listdir(out / "turned")) == sorted(os.listdir(out / "upright"))
    for name in set(os.listdir(out / "upright")) - {"photos.json"}:  # its timings differ
        assert (out / "turned" / name).read_bytes() == (out / "upright" / name).read_bytes(), name


def _huge_png_header(path, side=10_000):
    """A PNG that declares side x side pixels but holds none: only refusing before decoding passes."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    data = zlib.compress(b"\0" * 100)  # the first row's first bytes only
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b""))


def test_a_10000_px_photo_is_refused_before_decoding(tmp_path):
    _huge_png_header(tmp_path / "huge.png")
    with pytest.raises(image_files.ImageReadError, match=r"huge.png: 10000x10000 pixels \(100.0 MP\).*downscale"):
        image_files.read_rgb(str(tmp_path / "huge.png"), batch.MAX_PIXELS)


def _predict(*args):
    return subprocess.run(
        [sys.executable, os.path.join(ROOT, "predict.py"), "--photos", *args],
        capture_output=True, text=True, timeout=300, cwd=ROOT, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )


@pytest.mark.slow
def test_predict_photos_batch_from_checkpoint(group, tmp_path):
    """One batch: a group photo, its variants, a photo without faces, a broken file, a 10,000 px photo."""
    image, _ = group
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(image).save(photos / "group.png")
    _save_variants(image, photos)
    Image.fromarray(_background(96, 200)).save(photos / "empty.png")
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    _huge_png_header(photos / "huge.png")
    model = build_dic(DICConfig.tiny())
    path = checkpoints.save_checkpoint(str(tmp_path / "checkpoints"), 1, model, {},
                                      {"config": DICConfig.tiny().to_dict(), "model": "DIC"})
    out = tmp_path / "out"
    result = _predict(f"--checkpoint={path}", f"--input={photos}", f"--output_dir={out}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert "no face found in empty.png; left out" in result.stderr
    assert "skipped broken.jpg: " in result.stderr and "skipped huge.png: " in result.stderr
    assert "in 5 of 8 photo(s) upscaled x2" in result.stdout
    with open(out / "photos.json") as f:
        report = json.load(f)
    assert sorted(report["photos"]) == ["cmyk.jpg", "gray.png", "gray16.png", "group.png", "rotated.jpg"]
    assert report["no_face"] == ["empty.png"] and sorted(report["skipped"]) == ["broken.jpg", "huge.png"]
    reference = report["photos"]["group.png"]
    assert len(reference["faces"]) == len(PASTED)
    for name, entry in report["photos"].items():
        assert entry["size"] == [200, 96] and entry["output"] == name.split(".")[0] + (
            "_x2.jpg" if name.endswith(".jpg") else "_x2.png")
        assert np.asarray(Image.open(out / entry["output"])).shape == (192, 400, 3)
        boxes = np.array(sorted(face["box"] for face in entry["faces"]))
        np.testing.assert_allclose(boxes, np.array(sorted(face["box"] for face in reference["faces"])), atol=2.0)
        assert sum(face["model"] is not None for face in entry["faces"]) >= 2
        for face in (f for f in entry["faces"] if f["model"] is not None):
            assert np.asarray(face["landmarks_steps"]).shape == (DICConfig.tiny().num_steps, 68, 2)
            assert np.asarray(Image.open(out / face["sr_file"])).shape == (128, 128, 3)
            assert np.asarray(Image.open(out / face["lr_file"])).shape == (16, 16, 3)


@pytest.fixture(scope="module")
def group_file(group, tmp_path_factory):
    """The group photo as PNG and as JPEG (quality 95)."""
    folder = tmp_path_factory.mktemp("group")
    Image.fromarray(group[0]).save(folder / "group.png")
    Image.fromarray(group[0]).save(folder / "group.jpg", quality=95)
    return folder


@pytest.mark.parametrize("upscale, source, output_format, expected", [
    (1, "group.png", "auto", "group_x1.png"), (2, "group.png", "auto", "group_x2.png"),
    (4, "group.jpg", "auto", "group_x4.jpg"), (2, "group.jpg", "png", "group_x2.png"),
    (2, "group.png", "jpeg", "group_x2.jpg"),
])
def test_upscale_sizes_and_formats(group, group_file, detector, tmp_path, upscale, source, output_format, expected):
    report = batch.super_resolve_photos([str(group_file / source)], _LandmarkEcho(), str(tmp_path), upscale,
                                        output_format, detector=detector)
    entry = report["photos"][source]
    assert entry["output"] == expected and report["upscale"] == upscale
    with Image.open(tmp_path / expected) as written:
        assert written.format == ("JPEG" if expected.endswith(".jpg") else "PNG")
        assert written.size == (200 * upscale, 96 * upscale) and entry["output_size"] == [200 * upscale, 96 * upscale]
    assert set(entry["timing"]) == {"read_s", "detection_s", "alignment_s", "sr_s", "paste_s", "write_s"}
    if upscale == 1:  # nothing to super-resolve: the photo itself, every face reported
        assert all(face["model"] is None and face["reason"] == choice.NO_UPSCALE for face in entry["faces"])
        np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / expected)), group[0])
        assert sorted(os.listdir(tmp_path)) == ["group_x1.png", "photos.json"]
    else:
        for face in entry["faces"]:  # the faces under 16 x 2^0.5 px take the x8 model
            small = face["crop_side"] < 16 * 2**0.5
            assert face["model"] == ({"source": "_LandmarkEcho x8", "scale": 8, "lr_size": 16, "validation": None}
                                     if small else None)


def test_faces_too_large_for_every_model_are_left_bicubic_and_reported(group, detector, tmp_path):
    """The group photo enlarged x4 (faces of 64-128 px) and an x8 model: the output is the bicubic upscale."""
    large = upscale_bicubic(group[0], 4)
    Image.fromarray(large).save(tmp_path / "large.png")
    report = batch.super_resolve_photos([str(tmp_path / "large.png")], _LandmarkEcho(), str(tmp_path / "out"), 2,
                                        detector=detector)
    faces = report["photos"]["large.png"]["faces"]
    assert len(faces) == len(PASTED)
    for face in faces:
        assert face["model"] is None and face["crop_side"] > 32
        assert face["reason"].endswith("is at least 2^0.5 x the largest model LR (16 px): every model would discard "
                                       "most of its pixels")
    output = np.asarray(Image.open(tmp_path / "out" / "large_x2.png"))
    np.testing.assert_array_equal(output, upscale_bicubic(large, 2))
    assert sorted(os.listdir(tmp_path / "out")) == ["large_x2.png", "photos.json"]


def test_each_face_gets_the_model_its_size_fits(group, faces, tmp_path):
    """Tiny x8 and x4 models (16 and 32 px LR) on faces of 16-32 px: each face's LR is its model's."""
    predictors = [KerasPredictor(build_dic(DICConfig.tiny())),
                  KerasPredictor(build_dic(dataclasses.replace(DICConfig.tiny(), scale=4)))]
    plans = photo.plan_faces(faces, [16, 32], 2)
    chosen = [plan.model for plan in plans]
    assert chosen == [choice.choose_model(plan.crop_side, [16, 32], 2)[0] for plan in plans]
    assert set(chosen) == {0, 1}
    canvas, results = photo.super_resolve_photo(group[0], plans, predictors, 2)
    assert canvas.shape == (192, 400, 3)
    for plan, result in zip(plans, results):
        lr_size = (16, 32)[plan.model]
        assert result.lr.shape == (lr_size, lr_size, 3) and result.sr.shape == (128, 128, 3)
        np.testing.assert_array_equal(result.lr, photo.face_lr(group[0], plan.transform, lr_size))


def test_predict_photos_with_the_v2_x8_checkpoint(group_file, tmp_path):
    """A run folder written by v2 (x8, tests/fixtures/v2) through `predict.py --photos` at the default x2."""
    run = os.path.join(ROOT, "tests", "fixtures", "v2", "run")
    result = _predict(f"--checkpoint={run}", f"--input={group_file / 'group.jpg'}", f"--output_dir={tmp_path}")
    assert result.returncode == 0, result.stderr[-3000:]
    with open(tmp_path / "photos.json") as f:
        report = json.load(f)
    entry = report["photos"]["group.jpg"]
    assert report["models"] == [{"source": f"--checkpoint={run}", "scale": 8, "lr_size": 16, "validation": None}]
    assert entry["output"] == "group_x2.jpg" and Image.open(tmp_path / "group_x2.jpg").size == (400, 192)
    assert len(entry["faces"]) == len(PASTED)
    for face in entry["faces"]:  # the x8 model takes the faces under 16 x 2^0.5 px
        assert (face["model"] or {}).get("scale") == (8 if face["crop_side"] < 16 * 2**0.5 else None)
    assert sum(face["model"] is not None for face in entry["faces"]) >= 2


def test_predict_photos_refuses_a_checkpoint_its_run_validated_below_bicubic(group_file, tmp_path):
    """The v2 run with a metrics.jsonl line for its checkpoint's step, below bicubic: no face is super-resolved."""
    run = tmp_path / "run"
    shutil.copytree(os.path.join(ROOT, "tests", "fixtures", "v2", "run"), run)
    validation = {"step": 2, "psnr": 23.5, "bicubic_psnr": 23.8, "num_images": 100}
    (run / "metrics.jsonl").write_text(json.dumps(dict(validation, ssim=0.6)) + "\n")
    result = _predict(f"--checkpoint={run}", f"--input={group_file / 'group.jpg'}", f"--output_dir={tmp_path / 'out'}")
    assert result.returncode == 0, result.stderr[-3000:]
    refusal = "is not above bicubic on its validation faces (23.50 dB against 23.80 dB at step 2)"
    assert f"--checkpoint={run} {refusal}: it is not used" in result.stderr
    assert f"{len(PASTED)} face(s) (0 super-resolved, {len(PASTED)} left bicubic)" in result.stdout
    with open(tmp_path / "out" / "photos.json") as f:
        report = json.load(f)
    assert report["models"] == [{"source": f"--checkpoint={run}", "scale": 8, "lr_size": 16, "validation": validation,
                                 "refused": refusal}]
    reasons = [face["reason"] for face in report["photos"]["group.jpg"]["faces"]]
    assert f"the model that fits it (16-px LR) {refusal}" in reasons


@pytest.mark.parametrize("args, expected", [
    (["--nophotos", "--upscale=4"], "--upscale applies to --photos only."),
    (["--lr_size=16"], "--lr_size does not apply to --photos"),
    (["--nophotos", "--checkpoint={run}"], "--checkpoint is given 2 times; expected one model here."),
])
def test_flags_that_do_not_apply_are_refused_in_one_line(args, expected, tmp_path):
    run = os.path.join(ROOT, "tests", "fixtures", "v2", "run")
    args = [arg.format(run=run) for arg in args]  # after _predict's --photos: --nophotos turns it off
    result = _predict(f"--checkpoint={run}", f"--input={FIXTURES}", f"--output_dir={tmp_path / 'out'}", *args)
    lines = result.stderr.splitlines()
    assert result.returncode != 0 and len(lines) == 1, result.stderr[-2000:]
    assert lines[0].startswith(f"predict.py: error: {expected}") and not (tmp_path / "out").exists()


def test_saved_model_and_official_weights_give_the_same_faces(group, detector, official_tiny, tmp_path):
    """The two other sources predict.py loads: a SavedModel (final step only) and official weights."""
    import tensorflow as tf

    from dic_tf.export import serving

    Image.fromarray(group[0]).save(tmp_path / "group.png")
    model, _ = official_tiny
    module = serving.DICServingModule(model)
    signatures = {"serving_default": module.serve.get_concrete_function()}
    tf.saved_model.save(module, str(tmp_path / "saved"), signatures=signatures)
    entries = {}
    for source, predictor in {"saved_model": SavedModelPredictor(str(tmp_path / "saved")),
                              "pytorch": KerasPredictor(model)}.items():
        report = batch.super_resolve_photos([str(tmp_path / "group.png")], predictor, str(tmp_path / source),
                                            detector=detector)
        entries[source] = [face for face in report["photos"]["group.png"]["faces"] if face["model"] is not None]
    assert len(entries["saved_model"]) == len(entries["pytorch"]) >= 2
    assert [len(face["landmarks_steps"]) for face in entries["saved_model"]] == [1] * len(entries["pytorch"])
    assert [len(face["landmarks_steps"]) for face in entries["pytorch"]] == [model.config.num_steps] * len(
        entries["pytorch"])
    for a, b in zip(entries["saved_model"], entries["pytorch"]):
        sr_a = np.asarray(Image.open(tmp_path / "saved_model" / a["sr_file"])).astype(int)
        sr_b = np.asarray(Image.open(tmp_path / "pytorch" / b["sr_file"])).astype(int)
        assert np.abs(sr_a - sr_b).max() <= 1
        np.testing.assert_allclose(a["landmarks_steps"][-1], b["landmarks_steps"][-1], atol=1e-3)


def test_landmarks_flag_does_not_apply_to_photos(tmp_path):
    result = _predict("--landmarks", "--checkpoint=x", f"--input={FIXTURES}", f"--output_dir={tmp_path}")
    assert result.returncode != 0 and "--landmarks does not apply to --photos" in result.stderr
