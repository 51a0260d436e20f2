"""Every Keras class of dic_tf is registered (`package="dic_tf"`) and its config round-trips;
`import dic_tf` is all a process needs to load a `.keras` DIC."""

import copy
import json
import os
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest

from dic_tf.layers import (
    AttentiveFeedbackBlock,
    AttentiveFusion,
    ConvBlock,
    DeconvBlock,
    FaceImageConverter,
    FeedbackBlock,
    FeedbackHourglass,
    GroupedResidualBlock,
    Hourglass,
    HourglassStem,
    LeakyReLU,
    Linear1x1,
    PReLU,
    ResidualBlock,
    StackedHourglass,
    TorchUniform,
)
from dic_tf.models import (
    DIC,
    FeedbackHourglassConfig,
    FeedbackHourglassModel,
    LightCNNDiscriminator,
    LightCNNFeatures,
    StackedHourglassModel,
    build_dic,
    build_feedback_hourglass,
    build_lightcnn,
    build_stacked_hourglass,
)
from dic_tf.models.dic_config import DICConfig
from dic_tf.models.lightcnn import LightCNNTrunk, MaxFeatureMap, MFMGroup
from dic_tf.training.gan import DICGANTask
from dic_tf.training.optimizer import FusedAdam, GroupedAdam
from dic_tf.training.schedule import MultiStepSchedule
from dic_tf.training.tasks import DICTask, LandmarkTask, Task

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _schedule():
    return MultiStepSchedule(1e-4, (10, 20), 0.5)


# One or more instances of every Keras class defined in dic_tf (unbuilt: the
# config, not the weights). The walk below fails on a class missing here.
EXAMPLES = {
    ConvBlock: lambda: ConvBlock(8, 3, groups=2, activation="lrelu"),
    DeconvBlock: lambda: DeconvBlock(4, 12, 8, 2, implementation="subpixel"),
    FeedbackBlock: lambda: FeedbackBlock(4, 2, remat_groups=True),
    AttentiveFeedbackBlock: lambda: AttentiveFeedbackBlock(4, 2, 1),
    AttentiveFusion: lambda: AttentiveFusion(4, 1),
    GroupedResidualBlock: lambda: GroupedResidualBlock(10, 5),
    ResidualBlock: lambda: ResidualBlock(8, use_batch_norm=True),
    Linear1x1: lambda: Linear1x1(8, use_batch_norm=True),
    Hourglass: lambda: Hourglass(2, 4),
    HourglassStem: lambda: HourglassStem(8, True),
    FeedbackHourglass: lambda: FeedbackHourglass(4, 5),
    StackedHourglass: lambda: StackedHourglass(4, 1, 5),
    PReLU: lambda: PReLU(alpha_initializer=keras.initializers.Constant(0.2), shared_axes=[1, 2, 3]),
    LeakyReLU: lambda: LeakyReLU(negative_slope=0.2),
    TorchUniform: lambda: TorchUniform(seed=3),
    FaceImageConverter: lambda: FaceImageConverter("unit"),
    MaxFeatureMap: lambda: MaxFeatureMap(8),
    MFMGroup: lambda: MFMGroup(4, 8, 5),
    LightCNNTrunk: LightCNNTrunk,
    LightCNNFeatures: LightCNNFeatures,
    LightCNNDiscriminator: LightCNNDiscriminator,
    DIC: lambda: DIC(DICConfig.tiny(), remat="blocks"),
    StackedHourglassModel: lambda: StackedHourglassModel(8, 2, 68),
    FeedbackHourglassModel: lambda: FeedbackHourglassModel(8, 68, 2),
    MultiStepSchedule: _schedule,
    FusedAdam: lambda: FusedAdam(1e-4, epsilon=1e-8),
    GroupedAdam: lambda: GroupedAdam(_schedule(), start_steps={"hourglass": 5, "d": 0},
                                     group_learning_rates={"d": _schedule()}),
    Task: lambda: Task(DIC(DICConfig.tiny()), ["pixel", "heatmap"]),
    DICTask: lambda: DICTask(DIC(DICConfig.tiny()), pixel_weight=2.0, pixel_loss_mode="final_only"),
    LandmarkTask: lambda: LandmarkTask(StackedHourglassModel(8, 2, 68), 2),
    DICGANTask: lambda: DICGANTask(DIC(DICConfig.tiny()), LightCNNDiscriminator(), LightCNNFeatures(),
                                   feature_weight=0.2, gan_weight=0.01, pixel_weight=0.5),
}

# Run in a child: the CLI programs define absl flags when imported, so each is
# imported after the flags of the previous ones are removed (not in pytest's process).
_WALK = """
import importlib, inspect, json, pkgutil
from absl import flags
import keras
import dic_tf

BASES = (keras.layers.Layer, keras.Model, keras.optimizers.Optimizer,
         keras.optimizers.schedules.LearningRateSchedule, keras.initializers.Initializer,
         keras.losses.Loss, keras.metrics.Metric)
classes, skipped = {}, {}
for info in pkgutil.walk_packages(dic_tf.__path__, "dic_tf."):
    defined = flags.FLAGS.flags_by_module_dict().items()
    programs = {flag.name for name, module in defined if name.startswith("dic_tf.") for flag in module}
    for name in programs & set(flags.FLAGS):
        delattr(flags.FLAGS, name)
    try:
        module = importlib.import_module(info.name)
    except ModuleNotFoundError as error:
        if (error.name or "dic_tf").split(".")[0] == "dic_tf":
            raise
        skipped[info.name] = error.name  # an optional dependency
        continue
    for obj in vars(module).values():
        if inspect.isclass(obj) and issubclass(obj, BASES) and obj.__module__ == info.name:
            classes[f"{obj.__module__}.{obj.__qualname__}"] = keras.saving.get_registered_name(obj)
print(json.dumps({"classes": classes, "skipped": skipped}))
"""


def _child(script, *args):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-c", script, *args], cwd=ROOT, capture_output=True,
                            text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_a_walk_over_the_package_finds_no_unregistered_keras_class():
    walk = json.loads(_child(_WALK).strip().splitlines()[-1])
    classes = walk["classes"]
    assert len(classes) >= len(EXAMPLES), classes
    unregistered = {path: name for path, name in classes.items()
                    if name != "dic_tf>" + path.rsplit(".", 1)[-1]}
    assert not unregistered, f"not registered under dic_tf>ClassName: {unregistered}"
    examples = {f"{cls.__module__}.{cls.__qualname__}" for cls in EXAMPLES}
    assert set(classes) == examples, (
        f"without a config round-trip case in EXAMPLES: {sorted(set(classes) - examples)}; "
        f"not found by the walk: {sorted(examples - set(classes))}; skipped: {walk['skipped']}")


@pytest.mark.parametrize("cls", list(EXAMPLES), ids=[cls.__name__ for cls in EXAMPLES])
def test_config_round_trips_through_json_without_custom_objects(cls):
    if cls is DICGANTask and keras.backend.backend() != "tensorflow":
        pytest.skip("DICGANTask trains on TensorFlow only.")
    obj = EXAMPLES[cls]()
    assert keras.saving.get_registered_name(cls) == f"dic_tf>{cls.__name__}"
    serialized = _as_stored(obj)
    assert serialized["registered_name"] == f"dic_tf>{cls.__name__}"
    rebuilt = keras.saving.deserialize_keras_object(copy.deepcopy(serialized))  # it edits its input
    assert type(rebuilt) is cls
    assert _as_stored(rebuilt) == serialized


def _as_stored(obj):
    """`obj`'s serialization as a `.keras` file stores it (JSON: tuples become lists)."""
    return json.loads(json.dumps(keras.saving.serialize_keras_object(obj)))


_LOAD = """
import sys
import keras
import numpy as np
import dic_tf

assert sorted(m for m in sys.modules if m.startswith("dic_tf.cli")) == [], "imported a program"
model = keras.saving.load_model(sys.argv[1])
with np.load(sys.argv[2]) as data:
    lr = data["lr"]
out = model(lr)
np.savez(sys.argv[3], **{f"sr_{t}": np.asarray(sr) for t, sr in enumerate(out["sr"])},
         **{f"heatmaps_{t}": np.asarray(h) for t, h in enumerate(out["heatmaps"])})
print(type(model).__name__, model.config == dic_tf.DICConfig.tiny())
"""


def test_keras_file_loads_in_a_process_that_imports_only_keras_and_dic_tf(tmp_path):
    keras.utils.set_random_seed(4)
    model = build_dic(DICConfig.tiny())
    lr = np.random.default_rng(4).normal(0, 0.2, (2, 16, 16, 3)).astype("float32")
    model.save(tmp_path / "dic.keras")
    np.savez(tmp_path / "lr.npz", lr=lr)
    printed = _child(_LOAD, str(tmp_path / "dic.keras"), str(tmp_path / "lr.npz"),
                     str(tmp_path / "out.npz"))
    assert printed.strip().splitlines()[-1] == "DIC True"
    out = model(lr)
    with np.load(tmp_path / "out.npz") as loaded:
        for t in range(model.config.num_steps):
            np.testing.assert_array_equal(loaded[f"sr_{t}"], np.asarray(out["sr"][t]))
            np.testing.assert_array_equal(loaded[f"heatmaps_{t}"], np.asarray(out["heatmaps"][t]))


@pytest.mark.parametrize("build", [
    lambda: build_dic(DICConfig.tiny()),
    lambda: build_feedback_hourglass(FeedbackHourglassConfig(num_features=16, num_steps=2)),
    lambda: build_stacked_hourglass(16, 1, 68),
    lambda: build_lightcnn("features"),
], ids=["dic", "feedback_hourglass", "stacked_hourglass", "lightcnn"])
def test_a_model_is_built_by_one_trace_of_its_call_and_loads_the_same_way(build, tmp_path, monkeypatch):
    """`SymbolicBuild`: `model(KerasTensor)` traced `call` twice (build-by-run, then the symbolic call)."""
    traces = []
    for cls in (DIC, FeedbackHourglassModel, StackedHourglassModel, LightCNNFeatures):
        def counted(self, *args, _call=cls.call, **kwargs):
            traces.append(type(self).__name__)
            return _call(self, *args, **kwargs)
        monkeypatch.setattr(cls, "call", counted)
    model = build()
    assert len(traces) == 1 and model.built and model.weights
    model.save(tmp_path / "model.keras")
    traces.clear()
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert len(traces) == 1
    for a, b in zip(model.weights, loaded.weights, strict=True):
        assert a.path == b.path
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
