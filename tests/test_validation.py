"""Validation inside train.py scores exactly what evaluate.py scores, with the same compiled forward."""

import os
import subprocess
import sys

import numpy as np
import pytest

from dic_tf import metrics
from dic_tf.data.pydataset import ArraySource, FacePyDataset
from dic_tf.evaluation.face_sets import load_test_set
from dic_tf.evaluation.model_scoring import evaluate_model
from dic_tf.inference import InferenceFunction, KerasPredictor, load_dic
from dic_tf.models.dic_config import DICConfig
from dic_tf.training.tasks import DICTask

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NUM_FACES = 5


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "scripts/make_demo_data.py"), f"--output_dir={folder}",
         f"--num_faces={NUM_FACES}"], capture_output=True, text=True, cwd=REPO, timeout=180)
    assert result.returncode == 0, result.stderr
    model, _ = load_dic(pytorch_checkpoint=str(folder / "dic_tiny.npz"), config=DICConfig.tiny())
    return folder, model


def test_validation_metrics_equal_evaluate_py(demo, tmp_path):
    folder, model = demo
    test_set, _ = load_test_set(str(folder / "hr"), annotations_path=str(folder / "info.json"))
    source = ArraySource(np.stack([item.hr for item in test_set]),
                         np.stack([item.landmarks for item in test_set]).astype(np.float32),
                         [item.name for item in test_set])
    # As train.py and evaluate.py do it: batches of metrics.SCORING_BATCH_SIZE on both sides (the
    # five faces are one short batch, padded by the inference function).
    batches = FacePyDataset(source, batch_size=metrics.SCORING_BATCH_SIZE, training=False,
                            with_names=False)
    forward = InferenceFunction(model, batch_size=metrics.SCORING_BATCH_SIZE)
    summary, _ = DICTask(model).validate(forward, (batches[i] for i in range(len(batches))))
    results, _ = evaluate_model(KerasPredictor(model), test_set, str(tmp_path / "eval"), progress=False)
    average = results["average"]
    assert summary["num_images"] == results["num_images"] == NUM_FACES
    np.testing.assert_allclose(summary["psnr_steps"], [s["psnr"] for s in average["steps"]],
                               rtol=0, atol=1e-6)
    np.testing.assert_allclose(summary["ssim_steps"], [s["ssim"] for s in average["steps"]],
                               rtol=0, atol=1e-6)
    assert summary["bicubic_psnr"] == pytest.approx(average["bicubic"]["psnr"], abs=1e-6)
    assert summary["bicubic_ssim"] == pytest.approx(average["bicubic"]["ssim"], abs=1e-6)
    assert summary["nme"] == pytest.approx(average["nme"], abs=1e-6)


def test_inference_function_pads_splits_and_reads_current_weights(backend):
    import keras

    from dic_tf.models import build_dic

    keras.utils.set_random_seed(0)
    model = build_dic(DICConfig.tiny())
    lr = np.random.default_rng(0).normal(0, 0.2, (5, 16, 16, 3)).astype(np.float32)
    forward = InferenceFunction(model, batch_size=2)
    whole = forward(lr)
    direct = model(lr)
    for t in range(model.config.num_steps):
        np.testing.assert_allclose(whole["sr"][t], np.asarray(direct["sr"][t]), atol=1e-5)
        np.testing.assert_allclose(whole["heatmaps"][t], np.asarray(direct["heatmaps"][t]), atol=1e-5)
    kernel = model.conv_out.trainable_variables[0]  # the residual of every step
    original = keras.ops.convert_to_numpy(kernel)
    try:
        kernel.assign(original * 10.0)
        changed = forward(lr[:1])["sr"][-1]
        np.testing.assert_allclose(changed, np.asarray(model(lr[:1])["sr"][-1]), atol=1e-5)
        assert np.abs(changed - whole["sr"][-1][:1]).max() > 1e-4
    finally:
        kernel.assign(original)


def test_a_remat_network_gives_the_numbers_of_the_remat_free_one(demo):
    """Validation runs the training network (remat) as evaluate.py's (no remat): the same bits."""
    from dic_tf.models import build_dic

    _, model = demo
    trained = build_dic(DICConfig.tiny(), remat="blocks")
    trained.set_weights(model.get_weights())
    lr = np.random.default_rng(1).normal(0, 0.2, (3, 16, 16, 3)).astype(np.float32)
    ours, theirs = InferenceFunction(trained, 2)(lr), InferenceFunction(model, 2)(lr)
    for key in ("sr", "heatmaps", "components"):
        for a, b in zip(ours[key], theirs[key]):
            np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_two_compilations_of_the_x8_network_give_the_same_bits():
    """evaluate.py's model and the training run's validation copy are two compilations.

    With the HR transitions as a sum of per-part convolutions, Grappler's graph
    rewrites gave two traces of the same x8 weights outputs up to 4e-5 apart
    (docs/performance_log.md); the tiny model never showed it.
    """
    import keras

    from dic_tf.models import build_dic

    keras.utils.set_random_seed(0)
    model = build_dic(DICConfig(num_steps=2))
    lr = np.random.default_rng(2).uniform(-0.5, 0.5, (2, 16, 16, 3)).astype(np.float32)
    first, second = (InferenceFunction(model, 2)(lr) for _ in range(2))
    for key in ("sr", "heatmaps"):
        for a, b in zip(first[key], second[key]):
            np.testing.assert_array_equal(a, b)
