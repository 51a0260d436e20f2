"""fit() on the JAX backend (in subprocesses, TensorFlow hidden) trains like fit() on TensorFlow.

The JAX subprocess trains the micro DIC for 20 steps from initial weights
written here, on `FacePyDataset` batches of in-memory faces, and writes the
final weights; this process (TensorFlow) trains the same task from the same
weights on the same batches and compares. A second check kills a JAX
`train.py` with SIGKILL and runs the same command again.
"""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from dic_tf.models import build_dic
from dic_tf.training.tasks import DICTask
from tests.fit_data import MICRO, faces
from tests.test_training import (
    _values,
    assert_same_checkpoint,
    kill_9_and_resume,
)

pytestmark = pytest.mark.slow

ROOT = pathlib.Path(__file__).resolve().parents[1]
RELEASE_STEP = 5
NUM_STEPS = 20
LEARNING_RATE = 1e-4


JAX_SCRIPT = """
import json, sys
import keras
import numpy as np
from dic_tf.models import build_dic
from dic_tf.training.tasks import DICTask
from tests.fit_data import MICRO, faces
LEARNING_RATE, NUM_STEPS, RELEASE_STEP = (float(a) for a in sys.argv[2:5])
NUM_STEPS, RELEASE_STEP = int(NUM_STEPS), int(RELEASE_STEP)

out = sys.argv[1]
task = DICTask(build_dic(MICRO))
task.network.load_weights(f"{out}/initial.weights.h5")
task.compile(learning_rate=LEARNING_RATE, release_hourglass_step=RELEASE_STEP)
hourglass = [np.asarray(v) for v in task.network.hourglass.weights]
unchanged = []

class Watch(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        self.model.jax_state_sync()
        unchanged.append(all(np.array_equal(a, np.asarray(b))
                             for a, b in zip(hourglass, task.network.hourglass.weights)))

history = task.fit(faces(), epochs=1, steps_per_epoch=NUM_STEPS, verbose=0, callbacks=[Watch()])
task.network.save_weights(f"{out}/final.weights.h5")
groups = {name: int(adam.iterations) for name, _, adam in task.optimizer.groups}
print(json.dumps({"backend": keras.backend.backend(), "unchanged": unchanged,
                  "iterations": groups, "loss": history.history["loss"][0]}))
"""


def _jax_env(tmp_path):
    shim = tmp_path / "shim"
    shim.mkdir(exist_ok=True)
    # `import tensorflow` raises ImportError in the subprocess, as where it is not installed.
    (shim / "sitecustomize.py").write_text("import sys\nsys.modules['tensorflow'] = None\n")
    return {"JAX_PLATFORMS": "cpu", "PYTHONPATH": f"{shim}{os.pathsep}{ROOT}",
            "JAX_COMPILATION_CACHE_DIR": str(tmp_path / "jax_cache"),
            "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}


@pytest.fixture(scope="module")
def jax_fit(tmp_path_factory):
    pytest.importorskip("jax")
    out = tmp_path_factory.mktemp("jax_training")
    initial = build_dic(MICRO)
    initial.save_weights(str(out / "initial.weights.h5"))
    env = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="3", **_jax_env(out))
    args = [str(out), str(LEARNING_RATE), str(NUM_STEPS), str(RELEASE_STEP)]
    result = subprocess.run([sys.executable, "-c", JAX_SCRIPT, *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=1500)
    assert result.returncode == 0, result.stderr[-4000:]
    return out, json.loads(result.stdout.strip().splitlines()[-1])


def test_jax_fit_keeps_the_hourglass_frozen_until_the_release(jax_fit):
    _, report = jax_fit
    assert report["backend"] == "jax"
    assert report["unchanged"] == [True] * RELEASE_STEP + [False] * (NUM_STEPS - RELEASE_STEP)
    assert report["iterations"] == {"default": NUM_STEPS, "hourglass": NUM_STEPS - RELEASE_STEP}


def test_jax_fit_gives_the_tensorflow_weights_after_20_steps(jax_fit, record_error):
    out, report = jax_fit
    task = DICTask(build_dic(MICRO))
    task.network.load_weights(str(out / "initial.weights.h5"))
    task.compile(learning_rate=LEARNING_RATE, release_hourglass_step=RELEASE_STEP)
    data = faces()
    batches = [data[i] for i in range(NUM_STEPS)]
    dataset = tf.data.Dataset.from_tensor_slices(
        {k: np.stack([b[k] for b in batches]) for k in ("lr", "hr", "heatmaps")})
    history = task.fit(dataset, epochs=1, verbose=0, shuffle=False)
    assert history.history["loss"][0] == pytest.approx(report["loss"], rel=1e-4)
    jax_trained = build_dic(MICRO)
    jax_trained.load_weights(str(out / "final.weights.h5"))
    flat = [np.concatenate([w.ravel() for w in _values(m.weights)])
            for m in (jax_trained, task.network)]
    error = float(np.linalg.norm(flat[0] - flat[1]) / np.linalg.norm(flat[1]))
    record_error("jax vs tf fit(), 20 steps: weights rel. error", error, 1e-4)
    assert error <= 1e-4


def test_kill_9_during_jax_fit_then_the_same_command_reaches_the_same_weights(
        tmp_path, tmp_path_factory):
    pytest.importorskip("jax")
    from dic_tf.data.demo import prepare_demo_data

    data = prepare_demo_data(str(tmp_path_factory.mktemp("demo")), 12, 4)
    straight, resumed = kill_9_and_resume(tmp_path, data, steps=6, kill_at=3, backend="jax",
                                          env=_jax_env(tmp_path))
    assert_same_checkpoint(straight, resumed)
