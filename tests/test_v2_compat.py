"""Files written by dic_tf v2 (tests/fixtures/v2) load and give the same outputs.

The same outputs to 1e-6 (absolute; SR in the model space, heatmaps in
[0, 1]), the same landmarks exactly: the expected arrays were written on one
CPU, and TensorFlow's CPU kernels round differently on another (on an AMD
EPYC without AVX-512, 35% of the SR values differ from them, by at most 6e-8).
"""

import os
import subprocess
import sys

import numpy as np
import pytest

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "v2")
EXPECTED = os.path.join(FIXTURES, "expected.npz")


@pytest.fixture(scope="module")
def expected():
    with np.load(EXPECTED) as data:
        return dict(data)


ATOL = 1e-6


def test_v2_checkpoint_gives_the_same_outputs(expected):
    from dic_tf.models.saving import load_model

    model, config = load_model(os.path.join(FIXTURES, "run"))
    assert config.num_features == 8 and config.num_steps == 3
    out = model(expected["lr"], training=False)
    for t in range(config.num_steps):
        np.testing.assert_allclose(np.asarray(out["sr"][t]), expected[f"checkpoint_sr_{t}"], rtol=0, atol=ATOL)
        np.testing.assert_allclose(np.asarray(out["heatmaps"][t]), expected[f"checkpoint_heatmap_{t}"],
                                   rtol=0, atol=ATOL)


def test_v2_checkpoint_resumes_its_optimizer_state():
    from dic_tf.models.saving import read_state

    state = read_state(os.path.join(FIXTURES, "run", "checkpoints", "ckpt-00000002"))
    assert state["step"] == 2 and state["model"] == "DIC"
    with np.load(os.path.join(FIXTURES, "run", "checkpoints", "ckpt-00000002", "optimizers.npz")) as slots:
        assert len(slots.files) > 0


_LOAD_KERAS = """
import sys
import keras
import numpy as np
import dic_tf

model = keras.saving.load_model(sys.argv[1])
with np.load(sys.argv[2]) as data:
    expected = dict(data)
out = model(expected["lr"], training=False)
for t, sr in enumerate(out["sr"]):
    np.testing.assert_allclose(np.asarray(sr), expected[f"keras_sr_{t}"], rtol=0, atol=float(sys.argv[3]))
print("same outputs", type(model).__name__)
"""


def test_v2_keras_file_loads_after_import_dic_tf_alone():
    """A process that imports only keras and dic_tf loads the v2 `.keras` file."""
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    result = subprocess.run(
        [sys.executable, "-c", _LOAD_KERAS, os.path.join(FIXTURES, "export", "dic.keras"), EXPECTED,
         str(ATOL)],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "same outputs DIC" in result.stdout


def test_v2_saved_model_gives_the_same_outputs(expected):
    import tensorflow as tf

    loaded = tf.saved_model.load(os.path.join(FIXTURES, "export"))
    out = loaded.signatures["serving_default"](tf.constant(expected["lr"]))
    for key in ("sr", "heatmaps"):
        np.testing.assert_allclose(out[key].numpy(), expected[f"saved_model_{key}"], rtol=0, atol=ATOL)
    np.testing.assert_array_equal(out["landmarks"].numpy(), expected["saved_model_landmarks"])
