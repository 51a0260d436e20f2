"""Training through `fit()` on TensorFlow: the paper's step, the hourglass release,
the non-finite guard (also on JAX), loss scaling, resume (also after kill -9) and
distribution."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from dic_tf.data.degradation import RealDegradation
from dic_tf.data.demo import prepare_demo_data
from dic_tf.models import DIC, build_dic, saving
from dic_tf.training import checkpoints
from dic_tf.training.callbacks import DivergenceError
from dic_tf.training.losses import dic_losses
from dic_tf.training.optimizer import FusedAdam, GroupedAdam, guarded_optimizer
from dic_tf.training.run import RunConfig, TrainConfig, TrainingRun
from dic_tf.training.schedule import MultiStepSchedule, multistep_learning_rate
from dic_tf.training.tasks import DICTask, paper_optimizer
from tests.fit_data import MICRO, MICRO_FLAGS

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _batch(seed=0, size=2):
    rng = np.random.default_rng(seed)
    return {
        "lr": rng.normal(0, 0.2, (size, 16, 16, 3)).astype("float32"),
        "hr": rng.normal(0, 0.2, (size, 128, 128, 3)).astype("float32"),
        "heatmaps": rng.uniform(0, 1, (size, 32, 32, 68)).astype("float32"),
    }


def _values(variables):
    return [ops.convert_to_numpy(v).copy() for v in variables]


def _max_relative_error(a, b):
    """Largest ||a_i - b_i|| / ||b_i|| over weight tensors (tensors of zeros compared exactly)."""
    errors = [np.linalg.norm(x - y) / np.linalg.norm(y) if np.linalg.norm(y) else
              float(np.abs(x).max()) for x, y in zip(a, b)]
    return float(max(errors))


def _fit(task, batches):
    """One epoch of `fit()` on `batches`, in order (numpy arrays: any backend)."""
    data = {k: np.concatenate([b[k] for b in batches]) for k in batches[0]}
    return task.fit(data, batch_size=len(batches[0]["lr"]), epochs=1, verbose=0, shuffle=False)


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory):
    return prepare_demo_data(str(tmp_path_factory.mktemp("demo")), 12, 4)


def test_multistep_schedule_is_pytorch_multisteplr():
    rates = [multistep_learning_rate(s, 1e-4, (10, 20), 0.5) for s in (0, 9, 10, 19, 20, 99)]
    assert rates == [1e-4, 1e-4, 5e-5, 5e-5, 2.5e-5, 2.5e-5]
    schedule = keras.optimizers.schedules.deserialize(
        keras.optimizers.schedules.serialize(MultiStepSchedule(1e-4, (10, 20), 0.5)))
    assert [float(schedule(s)) for s in (0, 9, 10, 19, 20, 99)] == pytest.approx(rates, rel=1e-6)
    optimizer = GroupedAdam.from_config(paper_optimizer(start_steps={"hourglass": 7}).get_config())
    assert optimizer.start_steps == {"hourglass": 7} and optimizer.epsilon == 1e-8


def test_fused_adam_follows_keras_adam():
    """FusedAdam's one-kernel TensorFlow update follows Keras' Adam for several steps."""
    rng = np.random.default_rng(0)
    start = [rng.normal(0, 1, shape).astype("float32") for shape in ((3, 3, 4, 5), (5,))]
    grads = [[rng.normal(0, 1e-2, w.shape).astype("float32") for w in start] for _ in range(3)]
    results, fused_adam = [], FusedAdam(1e-3, epsilon=1e-8)
    for adam in (keras.optimizers.Adam(1e-3, epsilon=1e-8), fused_adam):
        variables = [keras.Variable(w) for w in start]
        for step_grads in grads:
            adam.apply(step_grads, variables)
        results.append(_values(variables + adam.variables))
    keras_adam, fused = results
    assert _max_relative_error(fused[:2], keras_adam[:2]) <= 1e-6  # the weights
    # The kernel computes 1 - beta_2 in float32 (0.00099998713; Keras and PyTorch: 0.001).
    assert _max_relative_error(fused[2:], keras_adam[2:]) <= 2e-5  # the moments
    assert int(fused_adam.iterations) == 3


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


def test_one_fit_step_equals_a_gradient_tape_step(record_error):
    """fit() with compile()'s defaults = the paper's loss + PyTorch's Adam, by hand."""
    keras.utils.set_random_seed(0)
    task = DICTask(build_dic(MICRO))
    task.compile(release_hourglass_step=0)
    reference = build_dic(MICRO)
    for target, source in zip(reference.weights, task.network.weights):
        target.assign(source)
    batch = _batch()
    history = _fit(task, [batch])

    adam = keras.optimizers.Adam(1e-4, beta_1=0.9, beta_2=0.999, epsilon=1e-8)
    with tf.GradientTape() as tape:
        loss, terms = dic_losses(reference(batch["lr"]), batch["hr"], batch["heatmaps"])
    adam.apply(tape.gradient(loss, reference.trainable_variables), reference.trainable_variables)
    error = _max_relative_error(_values(task.network.weights), _values(reference.weights))
    record_error("fit() step vs GradientTape step: weights rel. error", error, 1e-5)
    assert error <= 1e-5
    logs = {k: v[0] for k, v in history.history.items()}
    assert logs["loss"] == pytest.approx(float(loss), rel=1e-6)
    for name in ("pixel", "heatmap", "pixel_0", "pixel_1", "heatmap_0", "heatmap_1"):
        assert logs[name] == pytest.approx(float(terms[name]), rel=1e-6), name


# One fit() step of the micro DIC (its attentive fusion included) with TensorFlow's
# C++ log on, in a child process: Grappler reports a failed optimizer there.
_LOGGED_STEP = """
import numpy as np
from dic_tf.benchmark.rows import random_batch
from dic_tf.benchmark.runners import fit_step
from dic_tf.models import build_dic
from tests.fit_data import MICRO
fit_step(build_dic(MICRO), random_batch(MICRO, 2, np.random.default_rng(0)), jit=False)()
print("STEP DONE")
"""


def test_grappler_optimizes_the_training_step_without_failing():
    """The remapper failed on every DIC training graph with Keras' LeakyReLU
    ("remapper failed: ... LeakyReluGrad exist for missing node") and then kept
    none of its fusions; `dic_tf.layers.activations.LeakyReLU` avoids it."""
    result = subprocess.run([sys.executable, "-c", _LOGGED_STEP], capture_output=True,
                            text=True, cwd=ROOT, timeout=600,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="0"))
    assert "STEP DONE" in result.stdout, result.stderr[-3000:]
    failures = [line for line in result.stderr.splitlines() if "optimizer" in line and
                "failed" in line]
    assert not failures, "\n".join(failures)


def test_frozen_hourglass_passes_gradients_and_its_adam_starts_at_release():
    keras.utils.set_random_seed(0)
    task = DICTask(build_dic(MICRO))
    task.compile(release_hourglass_step=2)
    hourglass = task.network.hourglass
    optimizer = task.optimizer
    batches = [_batch(seed) for seed in range(3)]
    before = _values(hourglass.weights)
    _fit(task, batches[:2])
    groups = {name: adam for name, _, adam in optimizer.groups}
    assert all(np.array_equal(a, b) for a, b in zip(before, _values(hourglass.weights)))
    assert int(groups["hourglass"].iterations) == 0 and int(groups["default"].iterations) == 2
    assert all(not np.any(ops.convert_to_numpy(m)) for m in groups["hourglass"]._momentums)

    # The frozen hourglass still passes the heatmap loss's gradient to the SR branch.
    sr_ids = {id(v) for v in task.network.trainable_variables} - {
        id(v) for v in hourglass.trainable_variables}
    with tf.GradientTape() as tape:
        _, terms = dic_losses(task.network(batches[2]["lr"]), batches[2]["hr"],
                              batches[2]["heatmaps"])
        heatmap_loss = terms["heatmap"]
    sr = [v for v in task.network.trainable_variables if id(v) in sr_ids]
    assert sum(float(tf.reduce_sum(tf.abs(g))) for g in tape.gradient(heatmap_loss, sr)) > 0
    with tf.GradientTape() as tape:
        loss, _ = dic_losses(task.network(batches[2]["lr"]), batches[2]["hr"],
                             batches[2]["heatmaps"])
    grads = tape.gradient(loss, hourglass.trainable_variables)

    _fit(task, batches[2:])
    assert any(not np.array_equal(a, b) for a, b in zip(before, _values(hourglass.weights)))
    assert int(groups["hourglass"].iterations) == 1 and int(optimizer.iterations) == 3
    # First hourglass step: m = (1 - beta_1) g, as a fresh PyTorch Adam at the release.
    moments = np.concatenate([ops.convert_to_numpy(m).ravel() for m in groups["hourglass"]._momentums])
    expected = 0.1 * np.concatenate([ops.convert_to_numpy(g).ravel() for g in grads])
    assert np.linalg.norm(moments - expected) <= 1e-5 * np.linalg.norm(expected)


def test_non_finite_step_updates_nothing_and_is_counted(backend):
    task = DICTask(build_dic(MICRO))
    task.compile(release_hourglass_step=0)
    _fit(task, [_batch()])
    bad = _batch(1)
    bad["hr"][0, 0, 0, 0] = np.nan
    optimizer = task.optimizer
    kept = [v for v in optimizer.variables if v.name not in ("iteration", "nonfinite_steps",
                                                             "skipped_steps")]
    before = _values(task.weights + kept)
    _fit(task, [bad, bad])
    assert all(np.array_equal(a, b) for a, b in zip(before, _values(task.weights + kept)))
    assert int(optimizer.nonfinite_steps) == 2 and int(optimizer.skipped_steps) == 2
    assert int(optimizer.iterations) == 3
    _fit(task, [_batch(2)])
    assert int(optimizer.nonfinite_steps) == 0 and int(optimizer.skipped_steps) == 2


@pytest.mark.parametrize("policy", ["mixed_bfloat16", pytest.param("mixed_float16", marks=pytest.mark.slow)])
def test_mixed_precision_steps_are_finite(policy):
    keras.mixed_precision.set_global_policy(policy)
    try:
        task = DICTask(build_dic(MICRO))
        task.compile(release_hourglass_step=0)
        before = _values(task.network.trainable_variables)
        logs = _fit(task, [_batch()]).history
        assert np.isfinite(logs["loss"][0])
        assert int(guarded_optimizer(task.optimizer).skipped_steps) == 0
        assert all(v.dtype == "float32" for v in task.network.trainable_variables)
        assert any(not np.array_equal(a, b)
                   for a, b in zip(before, _values(task.network.trainable_variables)))
        assert task.network(_batch()["lr"])["sr"][-1].dtype == policy.split("_")[1]
        if policy == "mixed_float16":
            assert isinstance(task.optimizer, keras.optimizers.LossScaleOptimizer)
            # An overflowing loss scale skips the step in LossScaleOptimizer: not divergence.
            scaled = DICTask(build_dic(MICRO))
            scaled.compile(optimizer=keras.optimizers.LossScaleOptimizer(
                paper_optimizer(start_steps={"hourglass": 0}), initial_scale=2.0**60))
            weights = _values(scaled.network.weights)
            _fit(scaled, [_batch()])
            assert all(np.array_equal(a, b) for a, b in zip(weights, _values(scaled.network.weights)))
            assert float(scaled.optimizer.dynamic_scale) == 2.0**59
            assert int(scaled.optimizer.inner_optimizer.skipped_steps) == 0
    finally:
        keras.mixed_precision.set_global_policy("float32")


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
    (tmp_path / "resumed").mkdir()
    (tmp_path / "resumed" / "metrics.jsonl").write_text('{"step": 3, "psnr": 2')  # killed before a checkpoint
    first = _run(tmp_path / "resumed", demo_data, 5)
    first.train()
    with open(tmp_path / "resumed" / "metrics.jsonl", "a") as f:
        f.write('{"step": 6, "psnr": 2')  # killed while appending step 6's validation
    resumed = _run(tmp_path / "resumed", demo_data, 8)
    assert resumed.step == 5
    resumed.train()
    for a, b in zip(_values(straight.model.weights), _values(resumed.model.weights)):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(_values(straight.task.optimizer.variables),
                    _values(resumed.task.optimizer.variables)):
        np.testing.assert_array_equal(a, b)
    lines = [json.loads(x) for x in open(tmp_path / "resumed" / "metrics.jsonl")]
    assert [m["step"] for m in lines] == [3, 5, 6, 8]
    for key in ("psnr", "ssim", "psnr_steps", "bicubic_psnr"):
        assert key in lines[-1]
    assert len(lines[-1]["psnr_steps"]) == MICRO.num_steps
    ckpt_dir = tmp_path / "resumed" / "checkpoints"
    assert saving.best_checkpoint(str(ckpt_dir)) is not None
    assert len(saving.list_checkpoints(str(ckpt_dir))) <= 4
    assert list((tmp_path / "resumed" / "logs" / "val").iterdir())


def test_resume_refuses_another_degradation(tmp_path, demo_data):
    from dic_tf.data.degradation import RealDegradation

    _run(tmp_path / "run", demo_data, 2, degradation=RealDegradation()).train()
    with pytest.raises(ValueError, match=r"trained with real LR, but this run asks for bicubic"):
        _run(tmp_path / "run", demo_data, 4)
    with pytest.raises(ValueError, match=r"asks for real \(jpeg_range=\[40, 90\]\)"):
        _run(tmp_path / "run", demo_data, 4, degradation=RealDegradation(jpeg_range=(40, 90)))
    assert _run(tmp_path / "run", demo_data, 4, degradation=RealDegradation()).step == 2
    # A checkpoint from before the clean_prob field (its state has no clean_prob) resumes as clean_prob=0.
    latest = saving.latest_checkpoint(str(tmp_path / "run" / "checkpoints"))
    state_path = os.path.join(latest, saving.STATE_FILE)
    with open(state_path) as f:
        state = json.load(f)
    del state["degradation"]["clean_prob"]
    with open(state_path, "w") as f:
        json.dump(state, f)
    assert _run(tmp_path / "run", demo_data, 4, degradation=RealDegradation()).step == 2
    with pytest.raises(ValueError, match=r"asks for real \(clean_prob=0.5\)"):
        _run(tmp_path / "run", demo_data, 4, degradation=RealDegradation(clean_prob=0.5))


def test_divergence_stops_with_a_clear_message(tmp_path, demo_data, monkeypatch):
    from dic_tf.training import tasks

    def nan_losses(*args, **kwargs):
        total, terms = dic_losses(*args, **kwargs)
        return total * float("nan"), terms

    monkeypatch.setattr(tasks, "dic_losses", nan_losses)
    run = _run(tmp_path / "nan", demo_data, 6, max_nonfinite_steps=2)
    with pytest.raises(DivergenceError, match="2 consecutive .*max_nonfinite_steps=2"):
        run.train()
    assert int(run.task.optimizer.skipped_steps) == 2


def _train_py(train_dir, data, *flags, backend="tensorflow", env=None, wait=True):
    command = [sys.executable, "train.py", f"--train_dir={train_dir}", f"--train_data={data[0]}",
               "--config=tiny", *MICRO_FLAGS, "--batch_size=2", "--release_hourglass_step=2",
               "--log_every=1", "--noprogress", "--deterministic", *flags]
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3", **(env or {}))
    if not wait:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)


def kill_9_and_resume(tmp_path, data, steps, kill_at, backend="tensorflow", env=None, extra_flags=()):
    """Runs train.py for `steps`, kills a second run with SIGKILL once checkpoint `kill_at`
    exists, runs the same command again; returns both final checkpoints."""
    flags = [f"--num_train_steps={steps}", "--checkpoint_every=1", f"--val_every={steps}", *extra_flags]
    straight = _train_py(tmp_path / "straight", data, *flags, backend=backend, env=env)
    assert straight.returncode == 0, straight.stderr[-3000:]
    killed = tmp_path / "killed"
    process = _train_py(killed, data, *flags, backend=backend, env=env, wait=False)
    marker = killed / "checkpoints" / f"ckpt-{kill_at:08d}"
    deadline = time.time() + 1200
    while not marker.is_dir() and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL, process.stderr.read()[-3000:]
    assert saving.latest_checkpoint(str(killed / "checkpoints")) is not None
    again = _train_py(killed, data, *flags, backend=backend, env=env)
    assert again.returncode == 0, again.stderr[-3000:]
    return (saving.latest_checkpoint(str(tmp_path / "straight" / "checkpoints")),
            saving.latest_checkpoint(str(killed / "checkpoints")))


def assert_same_checkpoint(a, b):
    assert os.path.basename(a) == os.path.basename(b)
    model_a, _ = saving.load_model(a)
    model_b, _ = saving.load_model(b)
    for x, y in zip(_values(model_a.weights), _values(model_b.weights)):
        np.testing.assert_array_equal(x, y)
    with np.load(os.path.join(a, saving.OPTIMIZERS_FILE)) as x, \
            np.load(os.path.join(b, saving.OPTIMIZERS_FILE)) as y:
        assert x.files == y.files
        for key in x.files:
            np.testing.assert_array_equal(x[key], y[key])


@pytest.mark.slow
@pytest.mark.parametrize("degradation", ["bicubic", "real"])
def test_kill_9_during_fit_then_the_same_command_reaches_the_same_weights(tmp_path, demo_data,
                                                                          degradation):
    """Also with --degradation=real: the resumed run draws the same degraded LR."""
    straight, resumed = kill_9_and_resume(tmp_path, demo_data, steps=8, kill_at=3,
                                          extra_flags=[f"--degradation={degradation}"])
    assert_same_checkpoint(straight, resumed)
    run = json.loads((tmp_path / "killed" / "run.json").read_text())["run"]
    assert run["degradation"] == (RealDegradation().to_dict() if degradation == "real" else None)


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    task = DICTask(build_dic(MICRO))
    task.compile()
    optimizers = {"optimizer": task.optimizer}
    directory = str(tmp_path / "ckpts")
    good = checkpoints.save_checkpoint(directory, 1, task.network, optimizers, {"config": {}})

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(checkpoints.np, "savez", explode)
    with pytest.raises(OSError):
        checkpoints.save_checkpoint(directory, 2, task.network, optimizers, {"config": {}})
    assert saving.latest_checkpoint(directory) == good
    assert sorted(os.listdir(directory)) == ["ckpt-00000001"]


def test_load_model_of_a_checkpoint(tmp_path):
    model = build_dic(MICRO)
    checkpoints.save_checkpoint(str(tmp_path / "checkpoints"), 3, model, {},
                               {"model": "DIC", "config": MICRO.to_dict()})
    loaded, config = saving.load_model(str(tmp_path))
    assert config == MICRO
    lr = _batch()["lr"]
    np.testing.assert_array_equal(ops.convert_to_numpy(loaded(lr)["sr"][-1]),
                                  ops.convert_to_numpy(model(lr)["sr"][-1]))
    with pytest.raises(FileNotFoundError, match="No dic_tf checkpoint"):
        saving.load_model(str(tmp_path / "elsewhere"))


MIRRORED_SCRIPT = """
import json
import numpy as np
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
from dic_tf.models import build_dic
from dic_tf.training.tasks import DICTask
from tests.test_training import MICRO, _batch
batches = [_batch(seed, size=4) for seed in range(2)]
data = tf.data.Dataset.from_tensor_slices({k: np.stack([b[k] for b in batches]) for k in batches[0]})
result = {}
for name in ("single", "mirrored"):
    strategy = (tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]) if name == "mirrored"
                else tf.distribute.get_strategy())
    keras.utils.set_random_seed(0)
    with strategy.scope():
        task = DICTask(build_dic(MICRO))
        task.compile(release_hourglass_step=1)
    history = task.fit(data, epochs=1, verbose=0, shuffle=False)
    groups = {g: adam for g, _, adam in task.optimizer.groups}
    result[name] = {
        "weights": [keras.ops.convert_to_numpy(v) for v in task.network.trainable_variables],
        "m": np.concatenate([keras.ops.convert_to_numpy(m).ravel()
                             for m in groups["default"]._momentums]),
        "loss": history.history["loss"][0],
        "iterations": [int(keras.ops.convert_to_numpy(task.optimizer.iterations)),
                       int(keras.ops.convert_to_numpy(groups["hourglass"].iterations))],
    }
s, m = result["single"], result["mirrored"]
diffs = np.concatenate([np.abs(a - b).ravel() for a, b in zip(s["weights"], m["weights"])])
print(json.dumps({
    "moment_error": float(np.linalg.norm(s["m"] - m["m"]) / np.linalg.norm(s["m"])),
    "max_weight_diff": float(diffs.max()),
    "fraction_weights_differing": float(np.mean(diffs > 1e-6)),
    "loss": [s["loss"], m["loss"]],
    "iterations": [s["iterations"], m["iterations"]],
}))
"""


@pytest.mark.slow
def test_mirrored_fit_equals_single_device_fit(record_error):
    result = subprocess.run(
        [sys.executable, "-c", MIRRORED_SCRIPT], cwd=ROOT, capture_output=True, text=True,
        timeout=600, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    single_loss, mirrored_loss = report["loss"]
    assert mirrored_loss == pytest.approx(single_loss, rel=1e-6)
    assert report["iterations"] == [[2, 1], [2, 1]]
    # Adam's first moment is a running mean of the global-batch gradients: the
    # all-reduced replica gradients equal the single-device gradient.
    record_error("mirrored vs single fit(): first-moment rel. error", report["moment_error"], 1e-4)
    assert report["moment_error"] <= 1e-4
    # Adam moves a weight by ~lr * sign(g); only weights whose gradient is at
    # rounding level can flip sign, so almost all agree.
    assert report["max_weight_diff"] <= 5e-4
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


class _Resolver:
    def __init__(self, task_type, task_id, cluster):
        self.task_type, self.task_id, self._cluster = task_type, task_id, cluster

    def cluster_spec(self):
        return tf.train.ClusterSpec(self._cluster)


class _Strategy:
    def __init__(self, resolver):
        self.cluster_resolver = resolver


def test_only_the_chief_writes(tmp_path, demo_data, monkeypatch):
    from dic_tf.training import distribution

    workers = {"worker": ["a:1", "b:2"]}
    with_chief = dict(workers, chief=["c:3"])
    assert distribution.is_chief(None) and distribution.is_chief(tf.distribute.get_strategy())
    assert distribution.is_chief(_Strategy(_Resolver("worker", 0, workers)))
    assert not distribution.is_chief(_Strategy(_Resolver("worker", 1, workers)))
    assert not distribution.is_chief(_Strategy(_Resolver("worker", 0, with_chief)))
    assert distribution.is_chief(_Strategy(_Resolver("chief", 0, with_chief)))

    monkeypatch.setattr(distribution, "is_chief", lambda strategy: False)
    worker = _run(tmp_path / "worker", demo_data, 2)
    worker.train()
    assert worker.step == 2
    assert sorted(os.listdir(tmp_path / "worker")) == []


def test_compile_defaults_use_pytorch_adam_epsilon():
    task = DICTask(build_dic(MICRO))
    task.compile()  # builds the optimizer eagerly, not inside the first traced step
    assert task.optimizer.built and int(task.optimizer.iterations) == 0
    unbuilt = DICTask(DIC(MICRO))  # no variables yet: Keras builds it at the first step
    unbuilt.compile()
    assert not unbuilt.optimizer.built
    assert [adam.epsilon for _, _, adam in task.optimizer.groups] == [1e-8, 1e-8]


@pytest.mark.slow
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
