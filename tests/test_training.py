"""Training: the frozen hourglass, the non-finite guard, resume and distribution."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from dic_tf import checkpoint
from dic_tf.config import DICConfig
from dic_tf.models import build_dic
from dic_tf.training.demo import prepare_demo_data
from dic_tf.training.loop import DivergenceError, RunConfig, TrainingRun
from dic_tf.training.losses import dic_losses
from dic_tf.training.schedule import multistep_learning_rate
from dic_tf.training.trainer import DICTrainer, TrainConfig, split_variables

ROOT = pathlib.Path(__file__).resolve().parents[1]
MICRO = DICConfig(num_features=4, num_steps=2, num_groups=1, hg_num_features=8, num_fusion_blocks=1)


def _batch(seed=0, size=2):
    rng = np.random.default_rng(seed)
    return {
        "lr": rng.normal(0, 0.2, (size, 16, 16, 3)).astype("float32"),
        "hr": rng.normal(0, 0.2, (size, 128, 128, 3)).astype("float32"),
        "heatmaps": rng.uniform(0, 1, (size, 32, 32, 68)).astype("float32"),
    }


def _values(variables):
    return [ops.convert_to_numpy(v).copy() for v in variables]


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory):
    return prepare_demo_data(str(tmp_path_factory.mktemp("demo")), 12, 4)


def test_multistep_schedule_is_pytorch_multisteplr():
    rates = [multistep_learning_rate(s, 1e-4, (10, 20), 0.5) for s in (0, 9, 10, 19, 20, 99)]
    assert rates == [1e-4, 1e-4, 5e-5, 5e-5, 2.5e-5, 2.5e-5]


def test_losses_sum_every_step():
    outputs = {"sr": [np.ones((1, 8, 8, 3)), np.zeros((1, 8, 8, 3))],
               "heatmaps": [np.ones((1, 2, 2, 68)), np.ones((1, 2, 2, 68))]}
    total, terms = dic_losses(outputs, np.zeros((1, 8, 8, 3)), np.zeros((1, 2, 2, 68)))
    assert float(terms["pixel_0"]) == 1.0 and float(terms["pixel_1"]) == 0.0
    assert float(terms["heatmap"]) == pytest.approx(0.2)
    assert float(total) == pytest.approx(1.2)
    _, final = dic_losses(outputs, np.zeros((1, 8, 8, 3)), np.zeros((1, 2, 2, 68)),
                          pixel_loss_mode="final_only")
    assert float(final["pixel"]) == 0.0


def test_frozen_hourglass_passes_heatmap_gradients_to_the_sr_branch():
    model = build_dic(MICRO)
    sr_vars, hg_vars = split_variables(model)
    batch = _batch()
    with tf.GradientTape() as tape:
        outputs = model(batch["lr"])
        _, terms = dic_losses(outputs, batch["hr"], batch["heatmaps"])
    grads = tape.gradient(terms["heatmap"], sr_vars)
    assert sum(float(tf.reduce_sum(tf.abs(g))) for g in grads if g is not None) > 0

    trainer = DICTrainer(model, TrainConfig(release_hourglass_step=5))
    before_sr, before_hg = _values(sr_vars), _values(hg_vars)
    logs = trainer.step(batch, 0)
    assert logs["skipped"] == 0.0
    assert all(np.array_equal(a, b) for a, b in zip(before_hg, _values(hg_vars)))
    assert any(not np.array_equal(a, b) for a, b in zip(before_sr, _values(sr_vars)))
    assert int(trainer.hg_optimizer.iterations) == 0
    trainer.step(batch, 5)
    assert any(not np.array_equal(a, b) for a, b in zip(before_hg, _values(hg_vars)))
    assert int(trainer.hg_optimizer.iterations) == 1


def test_dic_adams_use_pytorch_epsilon():
    trainer = DICTrainer(build_dic(MICRO), TrainConfig())
    assert [trainer.sr_optimizer.epsilon, trainer.hg_optimizer.epsilon] == [1e-8, 1e-8]


def test_non_finite_loss_skips_the_update():
    model = build_dic(MICRO)
    trainer = DICTrainer(model, TrainConfig(release_hourglass_step=0))
    bad = _batch()
    bad["hr"][0, 0, 0, 0] = np.nan
    before = _values(model.trainable_variables)
    assert trainer.step(bad, 0)["skipped"] == 1.0
    assert all(np.array_equal(a, b) for a, b in zip(before, _values(model.trainable_variables)))
    assert int(trainer.sr_optimizer.iterations) == 0


def _run(train_dir, data, steps, **kwargs):
    run = RunConfig(
        train_dir=str(train_dir), train_data=data[0], val_data=data[1], batch_size=2,
        num_train_steps=steps, val_every=3, checkpoint_every=2, log_every=1, progress=False,
        **kwargs,
    )
    return TrainingRun(MICRO, TrainConfig(release_hourglass_step=2), run)


def test_resume_reaches_the_same_weights(tmp_path, demo_data):
    tf.config.experimental.enable_op_determinism()
    straight = _run(tmp_path / "straight", demo_data, 8)
    straight.train()
    first = _run(tmp_path / "resumed", demo_data, 5)
    first.train()
    resumed = _run(tmp_path / "resumed", demo_data, 8)
    assert resumed.step == 5
    resumed.train()
    for a, b in zip(_values(straight.model.weights), _values(resumed.model.weights)):
        np.testing.assert_array_equal(a, b)
    for opt in ("sr_optimizer", "hg_optimizer"):
        for a, b in zip(_values(getattr(straight.trainer, opt).variables),
                        _values(getattr(resumed.trainer, opt).variables)):
            np.testing.assert_array_equal(a, b)
    lines = [json.loads(x) for x in open(tmp_path / "resumed" / "metrics.jsonl")]
    assert [m["step"] for m in lines] == [3, 5, 6, 8]
    for key in ("psnr", "ssim", "psnr_steps", "bicubic_psnr"):
        assert key in lines[-1]
    assert len(lines[-1]["psnr_steps"]) == MICRO.num_steps
    ckpt_dir = tmp_path / "resumed" / "checkpoints"
    assert checkpoint.best_checkpoint(str(ckpt_dir)) is not None
    assert len(checkpoint.list_checkpoints(str(ckpt_dir))) <= 4
    assert list((tmp_path / "resumed" / "logs" / "val").iterdir())


def test_divergence_stops_with_a_clear_message(tmp_path, demo_data, monkeypatch):
    run = _run(tmp_path / "nan", demo_data, 6, max_nonfinite_steps=1)
    monkeypatch.setattr(run.trainer, "step", lambda batch, step: {
        "loss": float("nan"), "pixel": float("nan"), "heatmap": 0.0, "skipped": 1.0})
    with pytest.raises(DivergenceError, match="max_nonfinite_steps=1"):
        run.train()


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    model = build_dic(MICRO)
    trainer = DICTrainer(model, TrainConfig())
    directory = str(tmp_path / "ckpts")
    good = checkpoint.save_checkpoint(directory, 1, model, trainer.optimizers, {"config": {}})

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint.np, "savez", explode)
    with pytest.raises(OSError):
        checkpoint.save_checkpoint(directory, 2, model, trainer.optimizers, {"config": {}})
    assert checkpoint.latest_checkpoint(directory) == good
    assert sorted(os.listdir(directory)) == ["ckpt-00000001"]


def test_load_model_of_a_checkpoint(tmp_path):
    model = build_dic(MICRO)
    trainer = DICTrainer(model, TrainConfig())
    checkpoint.save_checkpoint(str(tmp_path / "checkpoints"), 3, model, trainer.optimizers,
                               {"model": "DIC", "config": MICRO.to_dict()})
    loaded, config = checkpoint.load_model(str(tmp_path))
    assert config == MICRO
    lr = _batch()["lr"]
    np.testing.assert_array_equal(ops.convert_to_numpy(loaded(lr)["sr"][-1]),
                                  ops.convert_to_numpy(model(lr)["sr"][-1]))
    with pytest.raises(FileNotFoundError, match="No dic_tf checkpoint"):
        checkpoint.load_model(str(tmp_path / "elsewhere"))


MIRRORED_SCRIPT = """
import json, sys
import numpy as np
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
from dic_tf.models import build_dic
from dic_tf.training.trainer import DICTrainer, TrainConfig
from tests.test_training import MICRO, _batch
batch = _batch(size=4)
weights = {}
for name in ("single", "mirrored"):
    strategy = (tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]) if name == "mirrored"
                else tf.distribute.get_strategy())
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = build_dic(MICRO)
        trainer = DICTrainer(model, TrainConfig(release_hourglass_step=0), strategy)
    data = tf.data.Dataset.from_tensors(batch)
    if name == "mirrored":
        data = strategy.experimental_distribute_dataset(data)
    logs = trainer.step(next(iter(data)), 0)
    weights[name] = [keras.ops.convert_to_numpy(v) for v in model.trainable_variables]
    weights[name + "_m"] = [keras.ops.convert_to_numpy(m) for m in trainer.sr_optimizer._momentums]
    weights[name + "_loss"] = logs["loss"]
single_m = np.concatenate([m.ravel() for m in weights["single_m"]])
mirrored_m = np.concatenate([m.ravel() for m in weights["mirrored_m"]])
moment_error = float(np.linalg.norm(single_m - mirrored_m) / np.linalg.norm(single_m))
diffs = np.concatenate([np.abs(a - b).ravel() for a, b in zip(weights["single"], weights["mirrored"])])
print(json.dumps({
    "moment_error": moment_error,
    "max_weight_diff": float(diffs.max()),
    "fraction_weights_differing": float(np.mean(diffs > 1e-6)),
    "loss": [weights["single_loss"], weights["mirrored_loss"]],
}))
"""


def test_mirrored_step_equals_single_device_step(record_error):
    result = subprocess.run(
        [sys.executable, "-c", MIRRORED_SCRIPT], cwd=ROOT, capture_output=True, text=True,
        timeout=600, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    single_loss, mirrored_loss = report["loss"]
    assert mirrored_loss == pytest.approx(single_loss, rel=1e-6)
    # Adam's first moment after one step is 0.1 x the global-batch gradient:
    # the all-reduced replica gradients equal the single-device gradient.
    record_error("mirrored vs single: first-moment rel. error", report["moment_error"], 1e-4)
    assert report["moment_error"] <= 1e-4
    # Adam's first step moves a weight by ~lr * sign(g); only weights whose
    # gradient is at rounding level can flip sign, so almost all agree.
    assert report["max_weight_diff"] <= 2.5e-4
    assert report["fraction_weights_differing"] < 1e-3


def test_train_py_reports_bad_paths(tmp_path):
    result = subprocess.run(
        [sys.executable, "train.py", f"--train_dir={tmp_path}", "--train_data=/no/such/data",
         "--noprogress"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )
    assert result.returncode == 1
    assert "train.py: error: --train_data=/no/such/data does not exist" in result.stderr


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_steps_are_finite(policy):
    import keras

    keras.mixed_precision.set_global_policy(policy)
    try:
        model = build_dic(MICRO)
        trainer = DICTrainer(model, TrainConfig(release_hourglass_step=0,
                                                loss_scale=policy == "mixed_float16"))
        before = _values(model.trainable_variables)
        logs = trainer.step(_batch(), 0)
        assert logs["skipped"] == 0.0 and np.isfinite(logs["loss"])
        assert all(v.dtype == "float32" for v in model.trainable_variables)
        assert any(not np.array_equal(a, b) for a, b in zip(before, _values(model.trainable_variables)))
        assert model(_batch()["lr"])["sr"][-1].dtype == policy.split("_")[1]
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_diverged_training_is_one_line_through_the_cli(tmp_path):
    """A run that diverges (an absurd learning rate) ends with one line, no traceback."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), f"--train_dir={tmp_path / 'run'}",
         "--config=tiny", "--demo_data", "--demo_train_faces=4", "--demo_val_faces=2",
         "--batch_size=2", "--num_train_steps=4", "--val_every=4", "--learning_rate=1e30",
         "--max_nonfinite_steps=0", "--noprogress"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr[-3000:]
    assert lines[0].startswith("train.py: error: training diverged:")
    assert "--max_nonfinite_steps=0" in lines[0]
