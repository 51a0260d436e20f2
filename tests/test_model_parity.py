"""The Keras model computes what the authors' PyTorch model computes, on TensorFlow and JAX.

The parity tests take the `backend` parameter (`tests/backend_param.py`): the
JAX cases run in one child pytest with `KERAS_BACKEND=jax`.
"""

import numpy as np
import pytest

from dic_tf.models import build_dic, build_lightcnn, build_stacked_hourglass
from dic_tf.models.dic_config import DICConfig
from tests import reference


def _trainable_count(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


@pytest.mark.parametrize(
    "build, expected",
    [
        pytest.param(lambda: build_dic(DICConfig.x8()), 21_803_849, marks=pytest.mark.large),
        (lambda: build_dic(DICConfig.tiny()), 284_337),
        pytest.param(lambda: build_stacked_hourglass(256, 4, 68), 12_952_848,
                     marks=pytest.mark.large),
        (lambda: build_lightcnn("discriminator"), 5_485_921),
        (lambda: build_lightcnn("features"), 1_290_848),
    ],
    ids=["dic_x8", "dic_tiny", "stacked_hourglass", "lightcnn_discriminator", "lightcnn_features"],
)
def test_parameter_counts_equal_the_authors(build, expected):
    # PyTorch counts parameters, not BatchNorm running statistics.
    assert _trainable_count(build()) == expected


def test_reference_param_counts_are_the_fixtures():
    for name in reference.DIC_FIXTURES:
        _, meta = reference.load(name)
        model = build_dic(reference.dic_config(meta), lr_size=meta["config"]["lr_size"])
        assert _trainable_count(model) == meta["params"]


def _fixtures(names):
    """Fixture names as parameters, the x8 ones marked `large`."""
    return [pytest.param(name, marks=pytest.mark.large) if name.endswith("x8") else name
            for name in names]


@pytest.mark.parametrize("name", _fixtures(reference.DIC_FIXTURES))
def test_dic_every_step_matches_reference(name, backend, record_error):
    errors = reference.dic_errors(name)
    _, meta = reference.load(name)
    steps = meta["config"]["num_steps"]
    expected_keys = {f"sr_{t}" for t in range(steps)} | {f"heatmap_{t}" for t in range(steps)}
    expected_keys |= {f"merged_{t}" for t in range(1, steps)}
    assert set(errors) == expected_keys
    for key, value in errors.items():
        record_error(f"{name}/{key}", value, reference.PARITY_TOLERANCE)
    assert max(errors.values()) <= reference.PARITY_TOLERANCE, errors


@pytest.mark.parametrize("name", _fixtures(reference.HOURGLASS_FIXTURES))
def test_stacked_hourglass_matches_reference(name, backend, record_error):
    error = reference.hourglass_errors(name)["heatmap"]
    record_error(f"{name}/heatmap", error, reference.PARITY_TOLERANCE)
    assert error <= reference.PARITY_TOLERANCE


def test_lightcnn_matches_reference(backend, record_error):
    errors = reference.lightcnn_errors()
    for kind, value in errors.items():
        record_error(f"lightcnn/{kind}", value, reference.PARITY_TOLERANCE)
    assert max(errors.values()) <= reference.PARITY_TOLERANCE, errors


def test_component_merges_match_reference(backend, record_error):
    errors = reference.merge_errors()
    for key, value in errors.items():
        record_error(f"data/{key}", value, 1e-6)
    assert max(errors.values()) <= 1e-6, errors
