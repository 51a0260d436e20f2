"""Layer behaviour: configs, input checks, exact reformulations, explicit recurrence."""

import keras
import numpy as np
import pytest
from keras import ops

from dic_tf.layers import (
    AttentiveFeedbackBlock,
    AttentiveFusion,
    ConvBlock,
    DeconvBlock,
    FeedbackBlock,
    FeedbackHourglass,
    GroupedResidualBlock,
    Hourglass,
    HourglassStem,
    Linear1x1,
    ResidualBlock,
    StackedHourglass,
    bilinear_upsample,
    pixel_shuffle,
)
from dic_tf.layers.activations import LeakyReLU, PReLU
from dic_tf.layers.components import component_matrix
from dic_tf.layers.conv_blocks import pads_like_same
from dic_tf.layers.preprocessing import FaceImageConverter
from dic_tf.models import DIC, build_dic
from dic_tf.models.dic_config import DICConfig
from tests.layer_test_case import run_layer_test


def _x(*shape, dtype="float32"):
    return np.random.default_rng(0).uniform(0, 1, shape).astype(dtype)


# (layer class, constructor arguments, inputs, output shape): every layer of dic_tf.layers.
LAYER_CASES = [
    (ConvBlock, dict(filters=8, kernel_size=3, groups=2), _x(2, 4, 4, 4), (2, 4, 4, 8)),
    (DeconvBlock, dict(filters=4, kernel_size=12, strides=8, padding=2), _x(2, 2, 2, 3),
     (2, 16, 16, 4)),
    (FeedbackBlock, dict(num_features=4, num_groups=2), _x(2, 2, 2, 4), (2, 2, 2, 4)),
    (AttentiveFeedbackBlock, dict(num_features=4, num_groups=2, num_fusion_blocks=1),
     (_x(2, 2, 2, 4), _x(2, 2, 2, 4), _x(2, 2, 2, 5)), (2, 2, 2, 4)),
    (AttentiveFusion, dict(num_features=4, num_blocks=1), (_x(2, 4, 4, 4), _x(2, 4, 4, 5)),
     (2, 4, 4, 4)),
    (GroupedResidualBlock, dict(channels=10, groups=5), _x(2, 4, 4, 10), (2, 4, 4, 10)),
    (ResidualBlock, dict(filters=8, use_batch_norm=True), _x(2, 4, 4, 3), (2, 4, 4, 8)),
    (Linear1x1, dict(filters=8), _x(2, 4, 4, 3), (2, 4, 4, 8)),
    (Hourglass, dict(depth=2, filters=4), _x(2, 4, 4, 4), (2, 4, 4, 4)),
    (HourglassStem, dict(filters=8, use_batch_norm=True), _x(2, 16, 16, 3), (2, 4, 4, 8)),
    (FeedbackHourglass, dict(num_features=4, num_keypoints=5), _x(2, 64, 64, 3),
     ((2, 16, 16, 5), (2, 16, 16, 4))),
    (StackedHourglass, dict(num_features=4, num_stacks=1, num_keypoints=5), _x(2, 64, 64, 3),
     (2, 16, 16, 5)),
    (FaceImageConverter, dict(value_range="pixels"), (_x(2, 4, 4, 3) * 255).astype("uint8"),
     (2, 4, 4, 3)),
    (PReLU, dict(alpha_initializer=keras.initializers.Constant(0.2), shared_axes=[1, 2]),
     _x(2, 4, 4, 3) - 0.5, (2, 4, 4, 3)),
    (LeakyReLU, dict(negative_slope=0.2), _x(2, 4, 4, 3) - 0.5, (2, 4, 4, 3)),
]


@pytest.mark.parametrize("layer_cls, kwargs, inputs, expected", LAYER_CASES,
                         ids=[case[0].__name__ for case in LAYER_CASES])
def test_standard_layer_checks(layer_cls, kwargs, inputs, expected, tmp_path):
    run_layer_test(layer_cls, kwargs, inputs, expected, tmp_path)


@pytest.fixture(scope="module")
def tiny_dic():
    """One tiny DIC shared by the model-level tests (building one costs seconds)."""
    return build_dic(DICConfig.tiny())


def test_dic_config_round_trip_and_keras_file(tiny_dic, tmp_path):
    model = tiny_dic
    lr = np.random.default_rng(0).normal(size=(1, 16, 16, 3)).astype("float32")
    path = tmp_path / "dic.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, DIC) and loaded.config == model.config
    np.testing.assert_allclose(loaded(lr)["sr"][-1], model(lr)["sr"][-1], atol=1e-6)


@pytest.mark.parametrize("size", [(12, 16), (16, 20), (17, 17)])
def test_lr_size_not_multiple_of_8_is_named(tiny_dic, size):
    with pytest.raises(ValueError, match=f"LR size {size[0]}x{size[1]}"):
        tiny_dic(np.zeros((1, *size, 3), "float32"))


def test_non_rgb_input_is_rejected(tiny_dic):
    with pytest.raises(ValueError, match=r"expected \[B, H, W, 3\]"):
        tiny_dic(np.zeros((1, 16, 16, 1), "float32"))


def test_any_multiple_of_8_works(tiny_dic):
    out = tiny_dic(np.zeros((2, 8, 24, 3), "float32"))
    assert [tuple(s.shape) for s in out["sr"]] == [(2, 64, 192, 3)] * 3
    assert [tuple(h.shape) for h in out["heatmaps"]] == [(2, 16, 48, 68)] * 3
    assert [tuple(c.shape) for c in out["components"]] == [(2, 16, 48, 5)] * 2


def test_same_input_same_output_no_hidden_state(tiny_dic):
    model = tiny_dic
    rng = np.random.default_rng(1)
    a, b = (rng.normal(size=(1, 16, 16, 3)).astype("float32") for _ in range(2))
    first = np.array(model(a)["sr"][-1])
    model(b)
    np.testing.assert_array_equal(first, np.array(model(a)["sr"][-1]))


def test_subpixel_deconvolution_equals_transposed_convolution():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 5, 7, 6)).astype("float32")
    # k - s = 2p: 'transpose' crops inside the kernel ('same'); (7, 2, 2): by slicing.
    for kernel, stride, pad in [(12, 8, 2), (8, 4, 2), (6, 2, 2), (7, 3, 2), (7, 2, 2)]:
        sub = DeconvBlock(4, kernel, stride, pad, activation=None, implementation="subpixel")
        ref = DeconvBlock(4, kernel, stride, pad, activation=None, implementation="transpose")
        sub.build(x.shape)
        ref.build(x.shape)
        ref.set_weights(sub.get_weights())
        expected = ref(x)
        assert expected.shape == ((2, 4 * stride + kernel - 2 * pad, 6 * stride + kernel - 2 * pad, 4))
        np.testing.assert_allclose(sub(x), expected, atol=1e-5)


@pytest.mark.parametrize("kernel_size, strides, padding", [(1, 1, 0), (3, 2, 1)])
def test_conv_block_on_a_list_equals_the_block_on_the_concatenation(kernel_size, strides, padding):
    parts = [_x(2, 8, 8, 3), 2 * _x(2, 8, 8, 5) - 1]
    on_parts = ConvBlock(4, kernel_size, strides, padding)
    on_parts(parts)
    on_whole = ConvBlock(4, kernel_size, strides, padding)
    on_whole(np.concatenate(parts, -1))
    assert [w.shape for w in on_whole.weights] == [w.shape for w in on_parts.weights]
    on_whole.set_weights(on_parts.get_weights())
    expected = ops.convert_to_numpy(on_whole(np.concatenate(parts, -1)))
    np.testing.assert_allclose(ops.convert_to_numpy(on_parts(parts)), expected, atol=1e-6)
    assert on_parts.compute_output_shape([p.shape for p in parts]) == expected.shape


@pytest.mark.parametrize("kernel_size, strides, padding, side", [
    (12, 8, 2, 32), (12, 8, 2, 30), (8, 4, 2, 16), (7, 2, 3, 16), (3, 1, 1, 5), (4, 2, 1, 8)])
def test_conv_block_pads_like_pytorch(kernel_size, strides, padding, side):
    """'same' where it gives PyTorch's windows, an explicit pad elsewhere: the same sums."""
    x = 2 * _x(2, side, side, 3) - 1
    block = ConvBlock(4, kernel_size, strides, padding, activation=None)
    y = ops.convert_to_numpy(block(x))
    padded = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    expected = ops.convert_to_numpy(ops.conv(padded, block.kernel, strides) + block.bias)
    assert y.shape == expected.shape == block.compute_output_shape(x.shape)
    np.testing.assert_allclose(y, expected, atol=1e-5)


def test_pads_like_same_only_where_the_windows_agree():
    assert pads_like_same((256, 256), 12, 8, 2) and pads_like_same((16, 16), 3, 1, 1)
    assert not pads_like_same((128, 128), 7, 2, 3)  # 'same' pads 2 before
    assert not pads_like_same((30, 32), 12, 8, 2)  # 30: 'same' pads 3 in all
    assert not pads_like_same((None, 32), 12, 8, 2)


def _output_and_gradients(layer, x, upstream):
    """layer(x) and the gradients of sum(upstream * layer(x)) for x and the layer's weights."""
    if keras.backend.backend() == "jax":
        import jax

        def loss(x, weights):
            y, _ = layer.stateless_call(weights, [], x)
            return (y * upstream).sum(), y

        (grad_x, grad_weights), y = jax.grad(loss, argnums=(0, 1), has_aux=True)(
            x, [w.value for w in layer.trainable_weights])
        return [np.asarray(v) for v in (y, grad_x, *grad_weights)]
    import tensorflow as tf

    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
        loss = tf.reduce_sum(y * upstream)
    grads = tape.gradient(loss, [x, *[w.value for w in layer.trainable_weights]])
    return [np.asarray(v) for v in (y, *grads)]


class _SelectPReLU(keras.layers.PReLU):
    """The select PReLU with the gradient automatic differentiation gives it."""

    def call(self, inputs):
        return ops.where(inputs >= 0, inputs, self.alpha * inputs)


@pytest.mark.parametrize("shared_axes", [[1, 2, 3], [1, 2], None])
def test_prelu_gradient_equals_automatic_differentiation(shared_axes, backend):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 6, 5, 4)).astype("float32")
    x[0, 0, 0] = 0.0
    upstream = rng.normal(size=x.shape).astype("float32")
    ours, autodiff = (cls(alpha_initializer=keras.initializers.Constant(0.2),
                          shared_axes=shared_axes) for cls in (PReLU, _SelectPReLU))
    for layer in (ours, autodiff):
        layer.build(x.shape)
    for got, expected in zip(_output_and_gradients(ours, x, upstream),
                             _output_and_gradients(autodiff, x, upstream)):
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


def test_leaky_relu_gradient_equals_keras(backend):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, 6, 5, 4)).astype("float32")
    upstream = rng.normal(size=x.shape).astype("float32")
    for got, expected in zip(
            _output_and_gradients(LeakyReLU(negative_slope=0.2), x, upstream),
            _output_and_gradients(keras.layers.LeakyReLU(negative_slope=0.2), x, upstream)):
        np.testing.assert_array_equal(got, expected)
    # At exactly 0 the slope, as TensorFlow's LeakyReluGrad (JAX's own gives 1).
    zero = np.zeros((1, 2), "float32")
    _, grad_at_zero = _output_and_gradients(LeakyReLU(negative_slope=0.2), zero, zero + 1)
    np.testing.assert_allclose(grad_at_zero, 0.2)


def test_conv_block_on_a_list_needs_one_group():
    with pytest.raises(ValueError, match="list of inputs needs groups=1"):
        ConvBlock(4, 1, groups=2)([_x(1, 4, 4, 2), _x(1, 4, 4, 2)])


@pytest.mark.parametrize("alpha", [0.2, -0.3])
def test_prelu_select_equals_keras_prelu(alpha):
    x = 2 * _x(2, 4, 4, 3) - 1
    ours, keras_prelu = (cls(alpha_initializer=keras.initializers.Constant(alpha),
                             shared_axes=[1, 2, 3]) for cls in (PReLU, keras.layers.PReLU))
    np.testing.assert_array_equal(ops.convert_to_numpy(ours(x)),
                                  ops.convert_to_numpy(keras_prelu(x)))


def test_pixel_shuffle_matches_depth_to_space_order():
    x = np.arange(2 * 3 * 3 * 8, dtype="float32").reshape(2, 3, 3, 8)
    y = np.array(pixel_shuffle(x, 2))
    # Output pixel (2h + i, 2w + j), channel c is input channel (i * 2 + j) * C + c.
    assert y[1, 2 * 2 + 1, 2 * 1 + 0, 1] == x[1, 2, 1, (1 * 2 + 0) * 2 + 1]


def test_bilinear_matches_closed_form():
    x = np.arange(4, dtype="float32").reshape(1, 4, 1, 1) * np.ones((1, 1, 4, 1), "float32")
    corners = np.array(bilinear_upsample(x, 2, align_corners=True))[0, :, 0, 0]
    np.testing.assert_allclose(corners, np.arange(8) * 3 / 7, rtol=1e-6)
    half = np.array(bilinear_upsample(x, 2, align_corners=False))[0, :, 0, 0]
    np.testing.assert_allclose(half, [0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3], rtol=1e-6)


@pytest.mark.parametrize("align_corners", [True, False])
def test_static_and_dynamic_lengths_give_the_same_source_positions(align_corners):
    """The numpy positions of a static length are the bytes the traced ops compute."""
    from dic_tf.layers import resize

    for size in (1, 2, 4, 8, 16, 32, 64):
        for factor in (2, 4, 8):
            static = resize._source_coordinates(size, factor, align_corners)
            dynamic = resize._source_coordinates(ops.convert_to_tensor(size), factor,
                                                 align_corners)
            for a, b in zip(static, dynamic):
                b = ops.convert_to_numpy(b)
                assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), (size, factor)


def test_component_matrices_cover_the_documented_ranges():
    m68 = component_matrix(68)
    assert m68.sum(axis=0).tolist() == [6, 6, 9, 20, 27]
    assert m68.sum(axis=1).max() == 1
    m194 = component_matrix(194)
    assert m194.sum(axis=0).tolist() == [38, 38, 16, 55, 40]
    with pytest.raises(ValueError, match="expected 68"):
        component_matrix(98)


def test_detach_attention_stops_the_gradient():
    import tensorflow as tf

    lr = tf.constant(np.random.default_rng(3).normal(size=(1, 16, 16, 3)).astype("float32"))
    grads = {}
    for detach in (False, True):
        keras.utils.set_random_seed(0)
        model = build_dic(DICConfig(**{**DICConfig.tiny().to_dict(), "detach_attention": detach}))
        with tf.GradientTape() as tape:
            loss = ops.sum(model(lr)["sr"][-1])
        grad = tape.gradient(loss, model.hourglass.trainable_variables)
        grads[detach] = sum(float(ops.sum(ops.abs(g))) for g in grad if g is not None)
    assert grads[False] > 0
    assert grads[True] == 0
