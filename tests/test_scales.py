"""DIC at x4 and x2: 32x32 and 64x64 LR -> the same 128x128 HR and 32x32 heatmaps.

x8 stays the paper's network (tests/test_model_parity.py); here: the x4 and x2
networks' shapes, config and `.keras` round trips, `fit()` on both backends,
the x4 export and the LR the data pipeline makes for each scale.
"""

import dataclasses

import keras
import numpy as np
import pytest

from dic_tf.data import pipeline
from dic_tf.data.demo import prepare_demo_data
from dic_tf.data.pydataset import ArraySource, FacePyDataset
from dic_tf.models import build_dic
from dic_tf.models.dic import DIC, check_lr_shape
from dic_tf.models.dic_config import DICConfig
from dic_tf.training.tasks import DICTask
from tests.fit_data import MICRO

SCALES = (4, 2)


def _tiny(scale):
    return dataclasses.replace(DICConfig.tiny(), scale=scale)


def _lr(config, batch=1, seed=0):
    size = config.lr_size
    return np.random.default_rng(seed).normal(0, 0.2, (batch, size, size, 3)).astype("float32")


@pytest.mark.parametrize("scale", SCALES)
def test_output_shapes(scale):
    config = _tiny(scale)
    assert config.lr_size == 128 // scale
    model = build_dic(config)
    outputs = model(_lr(config, batch=2))
    features = max(config.lr_size, 32)  # the heatmaps' side at x4, the LR side at x2
    assert [tuple(s.shape) for s in outputs["sr"]] == [(2, 128, 128, 3)] * config.num_steps
    assert [tuple(h.shape) for h in outputs["heatmaps"]] == [(2, 32, 32, 68)] * config.num_steps
    assert [tuple(c.shape) for c in outputs["components"]] == [(2, features, features, 5)] * (
        config.num_steps - 1)
    assert model.conv_in.filters == config.num_features  # no pixel shuffle below x8
    assert model.first_block.scale == model.block.scale == scale
    assert model.out.strides == min(scale, 4)


def test_presets_and_lr_sizes():
    assert [c.scale for c in (DICConfig.x8(), DICConfig.x4(), DICConfig.x2())] == [8, 4, 2]
    assert [c.lr_size_multiple for c in (DICConfig.x8(), DICConfig.x4(), DICConfig.x2())] == [8, 16, 32]
    with pytest.raises(ValueError, match="DICConfig.scale=3"):
        DICConfig(scale=3)
    check_lr_shape((1, 48, 32, 3), scale=4)
    with pytest.raises(ValueError, match="multiples of 32"):
        check_lr_shape((1, 48, 48, 3), scale=2)


def test_x8_parameter_count_is_the_papers():
    assert build_dic(DICConfig.x8()).count_params() == 21_803_849


@pytest.mark.parametrize("scale", SCALES)
def test_config_and_keras_file_round_trip(scale, tmp_path):
    config = _tiny(scale)
    model = build_dic(config)
    clone = DIC.from_config(model.get_config())
    assert clone.config == config
    lr = _lr(config)
    path = str(tmp_path / "dic.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.config == config
    for key in ("sr", "heatmaps"):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(loaded(lr)[key][-1]), keras.ops.convert_to_numpy(model(lr)[key][-1]),
            err_msg=key,
        )


@pytest.mark.parametrize("scale", SCALES)
def test_fit_steps_at_scale(backend, scale):
    """Three `fit()` steps on the scale's LR of in-memory faces; the weights move, the losses are finite."""
    rng = np.random.default_rng(0)
    source = ArraySource(rng.integers(0, 256, (4, 128, 128, 3), dtype=np.uint8),
                         rng.uniform(30, 98, (4, 68, 2)).astype("float32"), list("abcd"))
    data = FacePyDataset(source, batch_size=2, training=True, with_names=False, repeat=True, scale=scale)
    task = DICTask(build_dic(dataclasses.replace(MICRO, scale=scale)))
    task.compile(release_hourglass_step=0)
    before = [keras.ops.convert_to_numpy(v).copy() for v in task.network.trainable_weights]
    history = task.fit(data, epochs=1, steps_per_epoch=3, verbose=0)
    assert np.isfinite(history.history["loss"][-1])
    after = [keras.ops.convert_to_numpy(v) for v in task.network.trainable_weights]
    assert not all(np.array_equal(a, b) for a, b in zip(before, after))


def test_export_at_x4_matches_keras(tmp_path):
    """SavedModel and TFLite fp32 of an x4 model give the Keras model's SR at 32x32 -> 128x128."""
    from dic_tf.export import exporter, serving, tflite

    model = build_dic(dataclasses.replace(MICRO, scale=4))
    report = exporter.export(model, str(tmp_path / "dic"), tflite_variants=("fp32",))
    assert report["lr_size"] == 32 and report["config"]["scale"] == 4
    assert report["saved_model"]["max_abs_diff_vs_keras"] <= 1e-5
    assert report["keras"]["reload_max_abs_diff"] == 0.0
    assert report["tflite"][0]["max_abs_diff_vs_keras"] <= 1e-4
    lr = exporter.evaluation_inputs(32, count=1)
    sr = serving.DICServingModule(model).sr_only(lr).numpy()
    assert sr.shape == (1, 128, 128, 3)
    got = tflite.run_tflite(f"{report['path']}/dic_fp32.tflite", lr)
    assert float(np.max(np.abs(got - sr))) <= 1e-4


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """Four prepared synthetic 128x128 faces (the manifest says x8)."""
    return prepare_demo_data(str(tmp_path_factory.mktemp("demo")), 4, 2)[0]


@pytest.mark.parametrize("scale", SCALES)
def test_pipelines_make_the_scales_lr_from_the_same_hr(prepared, scale):
    kwargs = dict(batch_size=2, training=False)
    x8 = next(iter(pipeline.make_dataset(prepared, **kwargs)))
    tf_batch = next(iter(pipeline.make_dataset(prepared, scale=scale, **kwargs)))
    py_batch = FacePyDataset(prepared, scale=scale, **kwargs)[0]
    assert tuple(tf_batch["lr"].shape) == (2, 128 // scale, 128 // scale, 3)
    assert tuple(x8["lr"].shape) == (2, 16, 16, 3)
    np.testing.assert_array_equal(tf_batch["hr"].numpy(), x8["hr"].numpy())
    for key in ("lr", "hr"):
        np.testing.assert_array_equal(tf_batch[key].numpy(), py_batch[key], err_msg=key)
