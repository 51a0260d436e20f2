"""evaluate.py model mode: the demo run end to end, results.json contract and values."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from dic_tf import metrics
from dic_tf.data import preparation, synthetic
from dic_tf.evaluation.face_sets import load_test_set
from dic_tf.evaluation.folders import evaluate_folders
from dic_tf.evaluation.landmark_detector import detect_landmarks, load_landmark_detector
from dic_tf.evaluation.model_scoring import evaluate_model
from dic_tf.inference import KerasPredictor, SavedModelPredictor, load_dic
from dic_tf.metrics import landmarks as landmark_metrics
from dic_tf.models import saving
from dic_tf.utils.image_files import read_rgb
from dic_tf.utils.resize import upscale_bicubic
from tests.exif_images import save_with_orientation

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NUM_FACES, STEPS = 3, 3
_CHROMIUM = (os.environ.get("CHROMIUM") or shutil.which("chromium")
             or shutil.which("chromium-browser"))


def _run(script, *args):
    return subprocess.run([sys.executable, os.path.join(REPO, script), *args],
                          capture_output=True, text=True, cwd=REPO, timeout=180)


# One xdist worker runs the whole module, so that the demo data and the evaluate.py
# runs of the module fixtures are made once.
pytestmark = pytest.mark.xdist_group("evaluate_model")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    result = _run("scripts/make_demo_data.py", f"--output_dir={folder}",
                  f"--num_faces={NUM_FACES}")
    assert result.returncode == 0, result.stderr
    return folder


@pytest.fixture(scope="module")
def run(demo):
    """The demo evaluation: 3 faces, batches of 2 (a padded short batch), annotations, saliency."""
    out = demo / "eval"
    result = _run(
        "evaluate.py", f"--pytorch_checkpoint={demo}/dic_tiny.npz", "--config=tiny",
        f"--hr_dir={demo}/hr", f"--annotations={demo}/info.json",
        "--saliency=landmark:30", "--batch_size=2",
        f"--output_dir={out}", "--noprogress",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    with open(out / "results.json") as f:
        return out, json.load(f), result.stdout


def test_results_json_contract(run):
    out, results, stdout = run
    assert {"images", "average", "protocol", "timing", "model", "saliency"} <= set(results)
    names = [f"synthetic_{i:05d}.png" for i in range(NUM_FACES)]
    assert sorted(results["images"]) == names
    for entry in results["images"].values():
        assert len(entry["steps"]) == STEPS
        assert entry["psnr"] == entry["steps"][-1]["psnr"]
        assert entry["ssim"] == entry["steps"][-1]["ssim"]
        assert set(entry["bicubic"]) == {"psnr", "ssim"}
        assert entry["time_s"] > 0 and entry["nme"] == entry["steps"][-1]["nme"]
    average = results["average"]
    assert len(average["steps"]) == STEPS and average["num_annotated"] == NUM_FACES
    for t in range(STEPS):
        for key in ("psnr", "ssim", "nme"):
            per_image = [e["steps"][t][key] for e in results["images"].values()]
            assert average["steps"][t][key] == pytest.approx(np.mean(per_image), abs=1e-12)
    assert average["psnr"] == average["steps"][-1]["psnr"]
    assert results["protocol"]["border"] == 8 and results["protocol"]["ssim"] == "official"
    assert results["timing"]["num_batches"] == 2 and results["timing"]["batch_size"] == 2
    assert results["model"]["config"]["num_steps"] == STEPS
    assert "step 3: PSNR" in stdout and "bicubic: PSNR" in stdout


def test_metrics_recomputed_from_written_pngs(run, demo):
    out, results, _ = run
    for name, entry in results["images"].items():
        hr = read_rgb(demo / "hr" / name)
        for step in entry["steps"]:
            sr = read_rgb(out / step["sr_file"])
            assert step["psnr"] == pytest.approx(metrics.psnr_y(sr, hr), abs=1e-9)
            assert step["ssim"] == pytest.approx(metrics.ssim_y(sr, hr), abs=1e-9)
        final = read_rgb(out / entry["sr_file"])
        np.testing.assert_array_equal(final, read_rgb(out / entry["steps"][-1]["sr_file"]))
        bicubic = upscale_bicubic(preparation.make_lr(hr), 8)
        assert entry["bicubic"]["psnr"] == pytest.approx(metrics.psnr_y(bicubic, hr), abs=1e-9)


def test_exif_turned_faces_give_the_upright_faces_results(run, demo, tmp_path):
    """evaluate.py reads every picture upright: EXIF-turned copies (orientations 3, 6, 8) score as the originals."""
    out, upright, _ = run
    names = sorted(upright["images"])
    for folder, source in (("hr", demo / "hr"), ("sr", out / "sr")):
        (tmp_path / folder).mkdir()
        for name, orientation in zip(names, (6, 8, 3)):
            save_with_orientation(tmp_path / folder / name, read_rgb(source / name), orientation)
    # Model mode: the same test set, end to end through evaluate.py.
    turned_set, _ = load_test_set(str(tmp_path / "hr"), annotations_path=str(demo / "info.json"))
    for turned, item in zip(turned_set, load_test_set(str(demo / "hr"), annotations_path=str(demo / "info.json"))[0]):
        np.testing.assert_array_equal(turned.hr, item.hr)
        np.testing.assert_array_equal(turned.lr, item.lr)
        np.testing.assert_array_equal(turned.landmarks, item.landmarks)
    result = _run(
        "evaluate.py", f"--pytorch_checkpoint={demo}/dic_tiny.npz", "--config=tiny",
        f"--hr_dir={tmp_path / 'hr'}", f"--annotations={demo}/info.json", "--batch_size=2",
        f"--output_dir={tmp_path / 'eval'}", "--noprogress",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    turned = json.loads((tmp_path / "eval" / "results.json").read_text())
    assert sorted(turned["images"]) == names
    for name in names:
        a, b = turned["images"][name], upright["images"][name]
        assert a["bicubic"] == b["bicubic"]
        for step_a, step_b in zip(a["steps"], b["steps"]):  # TensorFlow's float32 rounding aside
            for key in ("psnr", "ssim", "nme"):
                assert step_a[key] == pytest.approx(step_b[key], abs=1e-5)
        sr_a, sr_b = read_rgb(tmp_path / "eval" / a["sr_file"]), read_rgb(out / b["sr_file"])
        assert np.abs(sr_a.astype(int) - sr_b).max() <= 1
    # Folder mode: turned SR files against turned HR files.
    folders = evaluate_folders(str(tmp_path / "sr"), str(tmp_path / "hr"), progress=False)
    assert folders["images"] == evaluate_folders(str(out / "sr"), str(demo / "hr"), progress=False)["images"]


def test_results_json_has_the_usual_mode(run):
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(run[0] / "results.json").st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize("report_dir", ["out", "out/..", "user"])
def test_report_dir_never_deletes_user_files(demo, tmp_path, report_dir):
    """--report_dir equal to (or above) --output_dir, or a user's folder, is refused."""
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.png").write_bytes(b"the user's")
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / "notes.txt").write_text("the user's")
    result = _run(
        "evaluate.py", f"--pytorch_checkpoint={demo}/dic_tiny.npz", "--config=tiny",
        f"--hr_dir={demo}/hr", f"--output_dir={tmp_path / 'out'}",
        f"--report_dir={tmp_path / report_dir}",
    )
    assert result.returncode == 1 and "--report_dir" not in result.stdout
    assert result.stderr.count("\n") == 1 and "evaluate.py: error:" in result.stderr
    assert os.listdir(tmp_path / "out") == ["keep.png"]
    assert os.listdir(tmp_path / "user") == ["notes.txt"]


def test_cli_folder_names_are_the_writers(run):
    """evaluate.py's output-folder checks (run before TensorFlow) name the folders model mode writes."""
    from dic_tf.evaluation import model_mode, model_scoring, saliency_overlays

    script = ("import sys; sys.argv = ['evaluate.py']; from dic_tf.cli import evaluate; "
              "print(evaluate._REPORT_DIR, *evaluate._OUTPUT_SUBDIRS)")
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    written = [model_mode.REPORT_DIR, model_scoring.SR_DIR, model_scoring.STEPS_DIR,
               saliency_overlays.SALIENCY_DIR]
    assert result.stdout.split() == written
    assert set(written) <= set(os.listdir(run[0]))  # the demo run (saliency included) wrote them all


def test_report_and_saliency_files(run):
    out, results, _ = run
    index = out / "report" / "index.html"
    assert (out / "report" / ".dic_tf_report").is_file()
    assert results["report"] == str(index)
    page = index.read_text()
    for section in ('id="averages"', 'id="best"', 'id="worst"', "psnr_per_step.png",
                    "Run time"):
        assert section in page
    strips = sorted(os.listdir(out / "report" / "strips"))
    assert len(strips) == NUM_FACES
    for name, path in results["saliency"]["landmark_30"].items():
        with Image.open(out / path) as overlay:
            assert overlay.size == (128, 128), name


@pytest.mark.skipif(_CHROMIUM is None, reason="Chromium is not installed")
def test_report_screenshot(run, tmp_path):
    out, _, _ = run
    shot = tmp_path / "report.png"
    result = subprocess.run(
        [os.path.join(REPO, "scripts", "screenshot_report.sh"), str(out / "report"), str(shot),
         "1000,1400"], capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    with Image.open(shot) as image:
        pixels = np.asarray(image.convert("L"))
    assert pixels.shape == (1400, 1000) and pixels.min() < 100 and pixels.max() > 200


def test_annotations_are_mapped_into_the_hr_frame(demo):
    faces = synthetic.generate_faces(NUM_FACES, 0)
    test_set, unmatched = load_test_set(str(demo / "hr"),
                                                   annotations_path=str(demo / "info.json"))
    assert unmatched == [] and [item.name for item in test_set] == faces.names
    for item, image in zip(test_set, faces.images):
        face = faces.info[item.name]
        hr, expected = preparation.crop_and_resize(image, face["landmark"], face["bbox"])
        np.testing.assert_array_equal(item.hr, hr)
        np.testing.assert_allclose(item.landmarks, expected, atol=1e-9)
        np.testing.assert_array_equal(item.lr, preparation.make_lr(hr))


def _write(folder, name, array):
    folder.mkdir(exist_ok=True)
    Image.fromarray(array).save(folder / name)


def test_test_set_errors_name_files_and_sizes(tmp_path):
    face = np.zeros((128, 128, 3), np.uint8)
    hr, lr = tmp_path / "hr", tmp_path / "lr"
    _write(hr, "a.png", face)
    _write(lr, "a.png", face[::8, ::8])
    _write(lr, "b.png", face[::8, ::8])
    with pytest.raises(FileNotFoundError, match=r"No ground truth for .*b\.png"):
        load_test_set(str(hr), str(lr))
    (lr / "b.png").unlink()
    _write(lr, "a.png", face[:120:8, ::8])
    with pytest.raises(ValueError, match=r"LR .*a\.png' is 16x15.*128x120.*is 128x128"):
        load_test_set(str(hr), str(lr))
    _write(hr, "c.png", face[:, :64])
    with pytest.raises(ValueError, match=r"c\.png' is 64x128 .*official preparation"):
        load_test_set(str(hr))
    _write(hr, "c.png", face[:64, :64])
    with pytest.raises(ValueError, match=r"c\.png' is 64x64 but .*a\.png' is 128x128"):
        load_test_set(str(hr))
    with pytest.raises(FileNotFoundError, match="missing"):
        load_test_set(str(tmp_path / "missing"))


def test_cli_reports_usage_and_missing_files(tmp_path):
    result = _run("evaluate.py", f"--output_dir={tmp_path}", f"--hr_dir={tmp_path}")
    assert result.returncode != 0 and "Give exactly one of --sr_dir" in result.stderr
    result = _run("evaluate.py", f"--output_dir={tmp_path}", "--pytorch_checkpoint=x.npz",
                  f"--hr_dir={tmp_path}", "--config=tiny")
    assert result.returncode != 0
    assert "evaluate.py: error: --pytorch_checkpoint=x.npz" in result.stderr
    checkpoint = os.path.join(os.path.dirname(__file__), "fixtures", "dic_tiny.npz")
    result = _run("evaluate.py", f"--output_dir={tmp_path}", f"--pytorch_checkpoint={checkpoint}",
                  f"--hr_dir={tmp_path}/nowhere", "--config=tiny")
    assert result.returncode != 0
    assert "evaluate.py: error:" in result.stderr and "nowhere" in result.stderr


@pytest.fixture(scope="module")
def tiny(demo):
    model, info = load_dic(pytorch_checkpoint=str(demo / "dic_tiny.npz"), config=_tiny_config())
    return model


def _tiny_config():
    from dic_tf.models.dic_config import DICConfig

    return DICConfig.tiny()


def test_batching_and_paired_folders_give_the_same_outputs(tiny, demo, tmp_path):
    lr_dir = tmp_path / "lr"
    for name in os.listdir(demo / "hr"):
        _write(lr_dir, name, preparation.make_lr(read_rgb(demo / "hr" / name)))
    made, _ = load_test_set(str(demo / "hr"))
    paired, _ = load_test_set(str(demo / "hr"), str(lr_dir))
    predictor = KerasPredictor(tiny)
    one, _ = evaluate_model(predictor, made, str(tmp_path / "a"), batch_size=1,
                                       progress=False)
    three, records = evaluate_model(predictor, paired, str(tmp_path / "b"),
                                               batch_size=3, progress=False)
    assert three["protocol"]["lr"] == "read from --lr_dir"
    for name, entry in one["images"].items():
        assert entry["lr_file"] is None and three["images"][name]["lr_file"] == name
        for a, b in zip(entry["steps"], three["images"][name]["steps"]):
            assert a["psnr"] == pytest.approx(b["psnr"], abs=1e-3)
    assert records[0].attention[0] is None and records[0].attention[1].shape == (32, 32, 5)


def test_checkpoint_source_uses_dic_tf_checkpoint(tiny, monkeypatch):
    monkeypatch.setattr(saving, "load_model", lambda path: (tiny, tiny.config))
    monkeypatch.setattr(saving, "resolve", lambda path: path)
    monkeypatch.setattr(saving, "checkpoint_validation", lambda path: {"step": 7})
    model, info = load_dic(checkpoint="runs/ckpt")
    assert model is tiny and info["kind"] == "checkpoint" and info["config"]["num_steps"] == 3
    assert info["validation"] == {"step": 7}


def test_saved_model_predictor(demo, tmp_path):
    """A stand-in export with the serving contract: RGB [0, 1] in, `sr` [0, 1] out."""
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([None, 16, 16, 3], tf.float32, name="image")])
    def serve(image):
        batch = tf.shape(image)[0]
        return {"sr": tf.image.resize(image, [128, 128], method="nearest"),
                "heatmaps": tf.zeros([batch, 32, 32, 68]), "landmarks": tf.zeros([batch, 68, 2])}

    module = tf.Module()
    tf.saved_model.save(module, str(tmp_path / "sm"), signatures={"serving_default": serve})
    predictor = SavedModelPredictor(str(tmp_path / "sm"))
    assert predictor.num_keypoints == 68
    test_set, _ = load_test_set(str(demo / "hr"))
    results, records = evaluate_model(predictor, test_set, str(tmp_path / "out"),
                                                 batch_size=2, progress=False)
    assert results["num_steps"] == 1 and records[0].attention is None
    for item in test_set:
        nearest = np.repeat(np.repeat(item.lr, 8, axis=0), 8, axis=1)
        assert results["images"][item.name]["psnr"] == pytest.approx(
            metrics.psnr_y(nearest, item.hr), abs=1e-9)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        SavedModelPredictor(str(tmp_path / "nowhere"))


def test_landmark_detection_on_sr_bicubic_and_hr(tiny, demo, tmp_path):
    detector = load_landmark_detector(str(demo / "hg_tiny.npz"), 32, 2)
    test_set, _ = load_test_set(str(demo / "hr"),
                                           annotations_path=str(demo / "info.json"))
    results, records = evaluate_model(
        KerasPredictor(tiny), test_set, str(tmp_path), batch_size=3,
        detector=detector, progress=False,
    )
    detection = results["average"]["landmark_detection"]
    assert detection["num_images"] == NUM_FACES
    gt = np.stack([item.landmarks for item in test_set])
    hr = np.stack([item.hr for item in test_set])
    expected = landmark_metrics.landmark_errors(detect_landmarks(detector, hr), gt)
    for name in landmark_metrics.NORMALIZATIONS:
        assert detection["hr"][name] == pytest.approx(expected[name].mean(), abs=1e-12)
        assert set(detection) == {"sr", "bicubic", "hr", "num_images"}
    for item in test_set:
        assert set(results["images"][item.name]["landmark_detection"]) == {"sr", "bicubic", "hr"}


# --degradation, --degradation_seed, --save_lr_dir: LR made from the HR by a seeded degradation.

def _evaluate_demo(demo, out, *args):
    """evaluate.py on the demo faces (batches of 2); returns results.json."""
    result = _run(
        "evaluate.py", f"--pytorch_checkpoint={demo}/dic_tiny.npz", "--config=tiny",
        f"--hr_dir={demo}/hr", "--batch_size=2", f"--output_dir={out}", "--noprogress", *args,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    with open(out / "results.json") as f:
        return json.load(f), result.stdout


def _scores(results):
    """Per-image PSNR/SSIM of every step and of bicubic."""
    return {name: {"steps": [(s["psnr"], s["ssim"]) for s in entry["steps"]],
                   "bicubic": entry["bicubic"]}
            for name, entry in results["images"].items()}


def _folder_bytes(folder):
    return {name: (folder / name).read_bytes() for name in sorted(os.listdir(folder))}


@pytest.fixture(scope="module")
def degraded(demo, tmp_path_factory):
    """Two --degradation=real --degradation_seed=3 runs saving their LR, and --lr_dir on the first's."""
    folder = tmp_path_factory.mktemp("degraded")
    runs = {}
    for key in ("a", "b"):
        runs[key] = _evaluate_demo(
            demo, folder / key / "eval", "--degradation=real", "--degradation_seed=3",
            f"--save_lr_dir={folder / key / 'lr'}",
        )
    runs["lr_dir"] = _evaluate_demo(demo, folder / "lr_dir", f"--lr_dir={folder / 'a' / 'lr'}")
    return folder, runs


def test_real_degradation_is_reproducible(degraded, demo):
    folder, runs = degraded
    (a, stdout), (b, _) = runs["a"], runs["b"]
    names = [f"synthetic_{i:05d}.png" for i in range(NUM_FACES)]
    lr_a = _folder_bytes(folder / "a" / "lr")
    assert sorted(lr_a) == names
    assert lr_a == _folder_bytes(folder / "b" / "lr")
    assert _scores(a) == _scores(b) and a["average"] == b["average"]
    for name in names:
        lr = read_rgb(folder / "a" / "lr" / name)
        assert lr.shape == (16, 16, 3)
        assert not np.array_equal(lr, preparation.make_lr(read_rgb(demo / "hr" / name)))
        assert a["images"][name]["lr_file"] is None
    assert "degradation 'real', seed 3" in stdout and str(folder / "a" / "lr") in stdout


def test_protocol_records_the_degradation(degraded):
    from dic_tf.data.degradation import RealDegradation

    folder, runs = degraded
    protocol = runs["a"][0]["protocol"]
    assert protocol["lr_source"] == {
        "kind": "degradation", "degradation": "real", "seed": 3,
        "params": json.loads(json.dumps(RealDegradation().to_dict())),
        "saved_lr_dir": str(folder / "a" / "lr"),
    }
    assert "'real'" in protocol["lr"] and "seed 3" in protocol["lr"]
    assert runs["lr_dir"][0]["protocol"]["lr_source"] == {
        "kind": "lr_dir", "lr_dir": str(folder / "a" / "lr")}
    assert runs["lr_dir"][0]["protocol"]["lr"] == "read from --lr_dir"
    page = (folder / "a" / "eval" / "report" / "index.html").read_text()
    assert "lr_source" in page and "seed 3" in page


def test_degradation_params_and_seed_are_used_and_recorded(degraded, demo):
    from dic_tf.data.degradation import RealDegradation

    folder, runs = degraded
    results, stdout = _evaluate_demo(demo, folder / "params", "--degradation=real",
                                     "--degradation_seed=4", "--degradation_params=jpeg_range=40:90")
    source = results["protocol"]["lr_source"]
    expected = json.loads(json.dumps(RealDegradation(jpeg_range=(40, 90)).to_dict()))
    assert source["seed"] == 4 and source["params"] == expected
    assert source["params"]["jpeg_range"] == [40, 90] and "saved_lr_dir" not in source
    assert "degradation 'real', seed 4" in stdout
    assert _scores(results) != _scores(runs["a"][0])


def test_report_shows_the_degraded_lr(degraded):
    """Each strip's first column is the degraded LR (nearest x8), not the bicubic one."""
    folder, _ = degraded
    strips = folder / "a" / "eval" / "report" / "strips"
    assert len(os.listdir(strips)) == NUM_FACES
    for strip_name in os.listdir(strips):
        name = strip_name.split("_", 1)[1]  # "<rank>_<stem>.png"
        lr = read_rgb(folder / "a" / "lr" / name)
        strip = read_rgb(strips / strip_name)
        np.testing.assert_array_equal(strip[30:158, :128], np.repeat(np.repeat(lr, 8, 0), 8, 1))


def test_saved_lr_read_back_gives_the_same_scores(degraded):
    _, runs = degraded
    assert _scores(runs["lr_dir"][0]) == _scores(runs["a"][0])


def test_degraded_lr_depends_on_seed_and_name_only(demo, tmp_path):
    from dic_tf.data.degradation import RealDegradation

    degradation = RealDegradation()
    three, _ = load_test_set(str(demo / "hr"), degradation=degradation, degradation_seed=3)
    again, _ = load_test_set(str(demo / "hr"), degradation=degradation, degradation_seed=3)
    four, _ = load_test_set(str(demo / "hr"), degradation=degradation, degradation_seed=4)
    for x, y, z in zip(three, again, four):
        np.testing.assert_array_equal(x.lr, y.lr)
        assert not np.array_equal(x.lr, z.lr)
    # Whatever else is in the folder: the last face alone gets the same LR.
    _write(tmp_path / "hr", three[-1].name, three[-1].hr)
    alone, _ = load_test_set(str(tmp_path / "hr"), degradation=degradation, degradation_seed=3)
    np.testing.assert_array_equal(alone[0].lr, three[-1].lr)
    with pytest.raises(ValueError, match="not both"):
        load_test_set(str(demo / "hr"), str(demo / "hr"), degradation=degradation)


def test_bicubic_degradation_is_the_official_lr(run, demo, tmp_path):
    """--degradation=bicubic scores exactly as the default run; --save_lr_dir writes its LR."""
    results, _ = _evaluate_demo(demo, tmp_path / "eval", "--degradation=bicubic",
                                f"--save_lr_dir={tmp_path / 'lr'}")
    assert _scores(results) == _scores(run[1])
    assert results["protocol"]["lr"] == run[1]["protocol"]["lr"]
    assert results["protocol"]["lr_source"] == {"kind": "bicubic",
                                                "saved_lr_dir": str(tmp_path / "lr")}
    for name in results["images"]:
        np.testing.assert_array_equal(read_rgb(tmp_path / "lr" / name),
                                      preparation.make_lr(read_rgb(demo / "hr" / name)))


def test_save_lr_faces_never_replaces_a_file(demo, tmp_path):
    from dic_tf.evaluation.face_sets import save_lr_faces

    test_set, _ = load_test_set(str(demo / "hr"))
    (tmp_path / test_set[1].name).write_bytes(b"the user's")
    with pytest.raises(FileExistsError, match="synthetic_00001.png"):
        save_lr_faces(test_set, str(tmp_path))
    assert (tmp_path / test_set[1].name).read_bytes() == b"the user's"
    assert sorted(os.listdir(tmp_path)) == [item.name for item in test_set[:2]]
