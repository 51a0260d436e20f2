"""The authors' kaiming init (`--init=kaiming`) of a fresh DIC."""

import math

import keras
import numpy as np
import pytest

from dic_tf.models import build_dic
from dic_tf.models.dic_config import DICConfig
from dic_tf.models.initialization import (
    convolution_layers,
    initialize,
    kaiming_init,
    pytorch_fan_in,
)


@pytest.fixture(scope="module")
def x8_model():
    keras.utils.set_random_seed(0)
    return build_dic(DICConfig.x8())


def _kernels(layers):
    return {layer.path: (np.array(layer.kernel), np.array(layer.bias)) for layer in layers}


def test_pytorch_fan_in_of_conv_and_transposed_conv():
    # Conv2d(48 -> 48, k=12): weight (48, 48, 12, 12), fan_in = 48 * 12 * 12; our (12, 12, 48, 48).
    # ConvTranspose2d(48 -> 16, k=12): weight (48, 16, 12, 12), PyTorch's fan_in reads dim 1:
    # 16 * 12 * 12; our Conv2DTranspose kernel is (12, 12, 16, 48).
    assert pytorch_fan_in((12, 12, 48, 48)) == 48 * 144
    assert pytorch_fan_in((12, 12, 16, 48)) == 16 * 144
    # Grouped Conv2d(60 -> 60, k=3, groups=5): weight (60, 12, 3, 3), fan_in 12 * 9.
    assert pytorch_fan_in((3, 3, 12, 60)) == 12 * 9


def test_kaiming_init_has_the_authors_statistics_and_spares_the_hourglass(x8_model):
    hourglass = {id(layer) for layer in convolution_layers(x8_model.hourglass)}
    before = _kernels(convolution_layers(x8_model.hourglass))
    count = kaiming_init(x8_model, include_hourglass=False, seed=0)
    sr_layers = [layer for layer in convolution_layers(x8_model) if id(layer) not in hourglass]
    assert count == len(sr_layers) > 20
    for layer in sr_layers:
        kernel = np.array(layer.kernel)
        expected = math.sqrt(2.0 / pytorch_fan_in(kernel.shape))
        assert abs(kernel.std() / expected - 1) < 0.05, (layer.path, kernel.std(), expected)
        assert abs(kernel.mean()) < 0.1 * expected, layer.path
        assert not np.any(np.array(layer.bias)), layer.path
    after = _kernels(convolution_layers(x8_model.hourglass))
    for path, (kernel, bias) in before.items():
        np.testing.assert_array_equal(after[path][0], kernel)
        np.testing.assert_array_equal(after[path][1], bias)


def test_kaiming_init_with_a_pretrained_hourglass_covers_every_convolution():
    keras.utils.set_random_seed(1)
    model = build_dic(DICConfig.tiny())
    count = kaiming_init(model, include_hourglass=True, seed=1)
    assert count == len(convolution_layers(model))
    for layer in convolution_layers(model.hourglass):
        assert not np.any(np.array(layer.bias)), layer.path


def test_kaiming_init_is_seeded():
    model = build_dic(DICConfig.tiny())
    kaiming_init(model, seed=3)
    first = [np.array(w) for w in model.weights]
    kaiming_init(model, seed=3)
    for a, b in zip(first, model.weights):
        np.testing.assert_array_equal(a, np.array(b))


def test_initialize_names_what_it_did_and_refuses_unknown_inits():
    model = build_dic(DICConfig.tiny())
    weights = [np.array(w) for w in model.weights]
    assert "default" in initialize(model, "torch_default", pretrained_hourglass=False)
    for a, b in zip(weights, model.weights):
        np.testing.assert_array_equal(a, np.array(b))
    assert "hourglass keeps PyTorch's default init" in initialize(model, "kaiming", False)
    with pytest.raises(ValueError, match="--init='xavier'"):
        initialize(model, "xavier", False)


def test_pytorch_default_init_is_uniform_in_its_bounds_and_follows_the_keras_seed():
    keras.utils.set_random_seed(5)
    first = build_dic(DICConfig.tiny())
    keras.utils.set_random_seed(5)
    second = build_dic(DICConfig.tiny())
    for a, b in zip(first.weights, second.weights):
        np.testing.assert_array_equal(np.array(a), np.array(b))
    for layer in convolution_layers(first):
        kernel = np.array(layer.kernel)
        limit = 1.0 / np.sqrt(pytorch_fan_in(kernel.shape))
        assert np.abs(kernel).max() <= limit, layer.path
        if kernel.size >= 1000:  # U(-l, l) has standard deviation l / sqrt(3)
            assert abs(kernel.std() / (limit / np.sqrt(3)) - 1) < 0.1, layer.path
        assert not np.any(np.array(layer.bias)), layer.path
