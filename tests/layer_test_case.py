"""`run_layer_test`: the standard checks every dic_tf layer passes.

In the spirit of keras-hub's `TestCase.run_layer_test`: round-trip
`get_config`, build the layer on `keras.Input`s (symbolic shapes, batch
unknown), run it on real inputs (output shapes) and save/load a `.keras`
model around it with identical outputs, without `custom_objects`: the layer
must be registered (`package="dic_tf"`). Use tiny shapes: the whole check should take
well under a second per layer on a 2-core CPU.

Example:
    def test_conv_block(tmp_path):
        run_layer_test(ConvBlock, {"filters": 8, "kernel_size": 3},
                       np.zeros((2, 4, 4, 4), "float32"), (2, 4, 4, 8), tmp_path)
"""

import keras
import numpy as np


def run_layer_test(layer_cls, init_kwargs, inputs, expected_output_shape, tmp_path, atol=1e-6):
    """Runs the standard layer checks.

    Args:
        layer_cls: the layer class.
        init_kwargs: its constructor arguments.
        inputs: one array, or a tuple of arrays passed positionally.
        expected_output_shape: shape tuple, or a tuple of them for a layer
            returning a tuple.
        tmp_path: folder for the `.keras` file.
        atol: tolerance of the reloaded model's outputs.
    """
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    config = layer_cls(**init_kwargs).get_config()
    layer = layer_cls.from_config(config)
    assert layer.get_config() == config

    symbolic_inputs = tuple(keras.Input(x.shape[1:], dtype=str(x.dtype)) for x in inputs)
    symbolic = layer(*symbolic_inputs)
    assert _shapes(symbolic) == _unbatched(expected_output_shape), _shapes(symbolic)

    single = len(inputs) == 1
    model = keras.Model(symbolic_inputs[0] if single else list(symbolic_inputs), symbolic)
    data = inputs[0] if single else list(inputs)
    outputs = model(data)
    assert _shapes(outputs) == expected_output_shape, (_shapes(outputs), expected_output_shape)

    path = tmp_path / f"{layer_cls.__name__}.keras"
    model.save(path)
    loaded = keras.models.load_model(path)  # registered: no custom_objects
    for got, want in zip(_flat(loaded(data)), _flat(outputs)):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(got),
                                   keras.ops.convert_to_numpy(want), atol=atol)


def _flat(outputs):
    return tuple(outputs) if isinstance(outputs, (tuple, list)) else (outputs,)


def _shapes(outputs):
    if isinstance(outputs, (tuple, list)):
        return tuple(tuple(x.shape) for x in outputs)
    return tuple(outputs.shape)


def _unbatched(shape):
    if shape and isinstance(shape[0], tuple):
        return tuple((None, *s[1:]) for s in shape)
    return (None, *shape[1:])
