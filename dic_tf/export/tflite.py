"""TFLite conversion of DIC's SR path and its accuracy against the Keras model.

Every variant takes one LR face float32 [1, lr_size, lr_size, 3], RGB in
[0, 1], and returns the final-step SR float32 [1, s lr_size, s lr_size, 3]
in [0, 1] (s: the model's scale; mean subtraction and clipping inside, as in
`serving_default`).

Variants:
    fp32: float weights and activations.
    fp16: float16 weights (dequantized to float32 by the CPU kernels).
    dynamic_int8: int8 weights, float activations (dynamic-range quantization).

The graph is frozen (variables folded into constants) before conversion: the
converter otherwise keeps the Keras variables as TFLite resource variables,
which the interpreter does not initialise.
"""

import numpy as np
import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

VARIANTS = ("fp32", "fp16", "dynamic_int8")


def parse_variants(text):
    """`"fp32,fp16"` -> ("fp32", "fp16"); empty text -> ().

    Example:
        parse_variants("fp32,fp16")  # ["fp32", "fp16"]
    """
    variants = tuple(v.strip() for v in text.split(",") if v.strip())
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ValueError(f"Unknown TFLite variant(s) {unknown}; expected some of {VARIANTS}.")
    return variants


def frozen_sr_function(module, lr_size):
    """Concrete function [1, lr_size, lr_size, 3] -> SR with the weights as constants.

    Example:
        frozen = frozen_sr_function(module, 16)
    """
    spec = tf.TensorSpec([1, lr_size, lr_size, 3], tf.float32, name="lr")
    function = tf.function(module.sr_only, input_signature=[spec]).get_concrete_function()
    return convert_variables_to_constants_v2(function)


def convert(frozen_function, variant):
    """TFLite flatbuffer bytes of a frozen function for one variant.

    Example:
        flatbuffer = convert(frozen, "fp16")
    """
    if variant not in VARIANTS:
        raise ValueError(f"Unknown TFLite variant {variant!r}; expected one of {VARIANTS}.")
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen_function], tf.Module())
    if variant != "fp32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if variant == "fp16":
        converter.target_spec.supported_types = [tf.float16]
    return converter.convert()


def run_tflite(model, lr):
    """Runs a DIC TFLite model with ai_edge_litert on each image of a batch.

    Args:
        model: `.tflite` path or flatbuffer bytes.
        lr: float32 [N, h, w, 3], RGB in [0, 1], h and w the model's input size.

    Returns:
        float32 [N, 8h, 8w, 3].

    Example:
        sr = run_tflite(flatbuffer, lr)
    """
    from ai_edge_litert.interpreter import Interpreter

    if isinstance(model, bytes):
        interpreter = Interpreter(model_content=model)
    else:
        interpreter = Interpreter(model_path=str(model))
    interpreter.allocate_tensors()
    (input_detail,) = interpreter.get_input_details()
    (output_detail,) = interpreter.get_output_details()
    lr = np.asarray(lr, np.float32)
    expected = tuple(input_detail["shape"][1:])
    if lr.ndim != 4 or lr.shape[1:] != expected:
        raise ValueError(f"TFLite DIC takes LR images [N, {expected[0]}, {expected[1]}, 3], got {lr.shape}.")
    outputs = []
    for image in lr:
        interpreter.set_tensor(input_detail["index"], image[None])
        interpreter.invoke()
        outputs.append(interpreter.get_tensor(output_detail["index"])[0].copy())
    return np.stack(outputs)


def psnr(a, b, peak=1.0):
    """PSNR (dB) between two float arrays in [0, peak] over all pixels and channels.

    Example:
        psnr(a, b)  # dB, peak 1
    """
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(peak * peak / mse)
