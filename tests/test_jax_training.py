"""The JAX train step (KERAS_BACKEND=jax, in a subprocess) trains like the TF one.

The subprocess trains the micro DIC for a few steps from a `FacePyDataset`
and writes the initial weights, the first batch, the first step's SR Adam
moments and loss, and the final weights with their outputs; this process
(TensorFlow) replays the first step with `DICTrainer` and loads the final
weights.
"""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from keras import ops

from dic_tf.models import build_dic
from dic_tf.training.trainer import DICTrainer, TrainConfig
from tests.test_training import MICRO

ROOT = pathlib.Path(__file__).resolve().parents[1]
RELEASE_STEP = 2
NUM_STEPS = 5

JAX_SCRIPT = """
import json, sys
import keras
import numpy as np
from dic_tf.config import DICConfig
from dic_tf.data.pydataset import ArraySource, FacePyDataset
from dic_tf.models import build_dic
from dic_tf.training.common import TrainConfig
from dic_tf.training.jax_trainer import JaxDICTrainer

out, config = sys.argv[1], json.loads(sys.argv[2])
MICRO, NUM_STEPS, RELEASE_STEP = DICConfig(**config["model"]), config["steps"], config["release"]
keras.utils.set_random_seed(0)
model = build_dic(MICRO)
model.save_weights(f"{out}/initial.weights.h5")
rng = np.random.default_rng(0)
source = ArraySource(rng.integers(0, 256, (2, 128, 128, 3), dtype=np.uint8),
                     rng.uniform(30, 98, (2, 68, 2)).astype("float32"), ["a", "b"])
data = FacePyDataset(source, batch_size=2, training=False, with_names=False)
trainer = JaxDICTrainer(model, TrainConfig(learning_rate=1e-3, release_hourglass_step=RELEASE_STEP))
hg_before = [np.asarray(v) for v in trainer.state["hg"]]
logs = []

def on_step(step, step_logs):
    logs.append(step_logs)
    same = all(np.array_equal(a, np.asarray(b)) for a, b in zip(hg_before, trainer.state["hg"]))
    logs[-1]["hourglass_unchanged"] = same
    if step == 0:
        trainer.sync()
        np.savez(f"{out}/first_step.npz", **data[0],
                 **{f"m{i}": np.asarray(m) for i, m in enumerate(trainer.sr_optimizer._momentums)})

trainer.fit(data, NUM_STEPS, on_step=on_step)
model.save_weights(f"{out}/final.weights.h5")
np.save(f"{out}/final_sr.npy", np.asarray(model(data[0]["lr"])["sr"][-1]))
print(json.dumps({"logs": logs, "backend": keras.backend.backend(),
                  "hg_iterations": int(trainer.hg_optimizer.iterations)}))
"""


@pytest.fixture(scope="module")
def jax_run(tmp_path_factory):
    pytest.importorskip("jax")
    out = tmp_path_factory.mktemp("jax_training")
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="3")
    config = json.dumps({"model": MICRO.to_dict(), "steps": NUM_STEPS, "release": RELEASE_STEP})
    result = subprocess.run(
        [sys.executable, "-c", JAX_SCRIPT, str(out), config], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=1200,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return out, json.loads(result.stdout.strip().splitlines()[-1])


def test_jax_steps_lower_the_loss_and_keep_the_hourglass_frozen(jax_run):
    _, report = jax_run
    logs = report["logs"]
    assert report["backend"] == "jax"
    assert [step["skipped"] for step in logs] == [0.0] * NUM_STEPS
    assert logs[-1]["loss"] < logs[0]["loss"]
    assert [step["hourglass_unchanged"] for step in logs] == [True] * RELEASE_STEP + [False] * (
        NUM_STEPS - RELEASE_STEP
    )
    assert report["hg_iterations"] == NUM_STEPS - RELEASE_STEP


def test_one_jax_step_equals_one_tf_step(jax_run, record_error):
    out, report = jax_run
    first = np.load(out / "first_step.npz")
    model = build_dic(MICRO)
    model.load_weights(str(out / "initial.weights.h5"))
    trainer = DICTrainer(model, TrainConfig(learning_rate=1e-3, release_hourglass_step=RELEASE_STEP))
    logs = trainer.step({k: first[k] for k in ("lr", "hr", "heatmaps")}, 0)
    assert logs["loss"] == pytest.approx(report["logs"][0]["loss"], rel=1e-5)
    # Adam's first moment after one step is 0.1 x the gradient; the weights
    # themselves move by ~lr x sign(gradient), which flips for rounding-level
    # gradients (see test_training.test_mirrored_step_equals_single_device_step).
    tf_m = np.concatenate([ops.convert_to_numpy(m).ravel() for m in trainer.sr_optimizer._momentums])
    jax_m = np.concatenate([first[f"m{i}"].ravel() for i in range(len(trainer.sr_optimizer._momentums))])
    error = float(np.linalg.norm(tf_m - jax_m) / np.linalg.norm(tf_m))
    record_error("jax vs tf train step: first-moment rel. error", error, 1e-4)
    assert error <= 1e-4


def test_jax_trained_weights_load_into_the_tf_model(jax_run):
    out, _ = jax_run
    first = np.load(out / "first_step.npz")
    model = build_dic(MICRO)
    model.load_weights(str(out / "final.weights.h5"))
    sr = ops.convert_to_numpy(model(first["lr"])["sr"][-1])
    np.testing.assert_allclose(sr, np.load(out / "final_sr.npy"), rtol=1e-4, atol=1e-5)
