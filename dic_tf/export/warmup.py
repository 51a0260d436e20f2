"""TF Serving warm-up requests (`assets.extra/tf_serving_warmup_requests`).

The file is a TFRecord of `tensorflow.serving.PredictionLog` protos. The
tensorflow_serving Python package is not a dependency, so the few messages
needed are written directly in the protobuf wire format; the tensors inside
are real `tensorflow.TensorProto`s (`tf.make_tensor_proto`). Field numbers,
from tensorflow_serving/apis/{prediction_log,predict,model}.proto:

    PredictionLog   predict_log    = 6  (PredictLog)
    PredictLog      request        = 1  (PredictRequest)
    PredictRequest  model_spec     = 1  (ModelSpec)
                    inputs         = 2  (map<string, TensorProto>: entries
                                         with key = 1, value = 2)
    ModelSpec       name           = 1  (string)
                    signature_name = 3  (string)
"""

import os

import numpy as np
import tensorflow as tf

from dic_tf.data.shards import length_delimited as _field

WARMUP_DIR = "assets.extra"
WARMUP_FILE = "tf_serving_warmup_requests"
# TF Serving reads at most this many warm-up records.
MAX_RECORDS = 1000

_VARINT, _LEN = 0, 2
PREDICTION_LOG_PREDICT_LOG = 6
PREDICT_LOG_REQUEST = 1
PREDICT_REQUEST_MODEL_SPEC = 1
PREDICT_REQUEST_INPUTS = 2
MAP_KEY, MAP_VALUE = 1, 2
MODEL_SPEC_NAME = 1
MODEL_SPEC_SIGNATURE_NAME = 3


def prediction_log(model_name, signature_name, inputs):
    """Serialized `PredictionLog` holding one `PredictRequest`.

    Args:
        model_name: the TF Serving model name (`--model_name`).
        signature_name: signature the request runs.
        inputs: {input name: numpy array / bytes list}, batched.

    Returns:
        bytes.
    """
    spec = _field(MODEL_SPEC_NAME, model_name) + _field(MODEL_SPEC_SIGNATURE_NAME, signature_name)
    request = _field(PREDICT_REQUEST_MODEL_SPEC, spec)
    for name in sorted(inputs):
        tensor = tf.make_tensor_proto(inputs[name]).SerializeToString()
        request += _field(PREDICT_REQUEST_INPUTS, _field(MAP_KEY, name) + _field(MAP_VALUE, tensor))
    return _field(PREDICTION_LOG_PREDICT_LOG, _field(PREDICT_LOG_REQUEST, request))


def _read_varint(data, pos):
    value, shift = 0, 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _fields(data):
    """{field number: [payload bytes or int]} of one serialized message."""
    fields, pos = {}, 0
    while pos < len(data):
        tag, pos = _read_varint(data, pos)
        number, wire_type = tag >> 3, tag & 7
        if wire_type == _VARINT:
            value, pos = _read_varint(data, pos)
        elif wire_type == _LEN:
            length, pos = _read_varint(data, pos)
            value, pos = data[pos : pos + length], pos + length
        else:
            raise ValueError(f"Unexpected protobuf wire type {wire_type} for field {number}.")
        fields.setdefault(number, []).append(value)
    return fields


def parse_prediction_log(data):
    """Inverse of `prediction_log`: (model name, signature name, {name: array})."""
    log = _fields(data)
    if PREDICTION_LOG_PREDICT_LOG not in log:
        raise ValueError("PredictionLog record has no predict_log (field 6).")
    request = _fields(_fields(log[PREDICTION_LOG_PREDICT_LOG][0])[PREDICT_LOG_REQUEST][0])
    spec = _fields(request[PREDICT_REQUEST_MODEL_SPEC][0])
    inputs = {}
    for entry in request.get(PREDICT_REQUEST_INPUTS, []):
        entry = _fields(entry)
        proto = tf.make_tensor_proto(0)
        proto.ParseFromString(bytes(entry[MAP_VALUE][0]))
        inputs[bytes(entry[MAP_KEY][0]).decode("utf-8")] = tf.make_ndarray(proto)
    return (
        bytes(spec[MODEL_SPEC_NAME][0]).decode("utf-8"),
        bytes(spec.get(MODEL_SPEC_SIGNATURE_NAME, [b""])[0]).decode("utf-8"),
        inputs,
    )


def warmup_requests(model_name, lr_size):
    """One representative request per signature, as serialized `PredictionLog`s.

    `serving_default` gets a mid-grey [1, lr_size, lr_size, 3] float image;
    `super_resolve_image` a 128x128 PNG (resized to the LR size in the graph).
    """
    lr = np.full((1, lr_size, lr_size, 3), 0.5, np.float32)
    png = tf.io.encode_png(np.full((128, 128, 3), 128, np.uint8)).numpy()
    return [
        prediction_log(model_name, "serving_default", {"lr": lr}),
        prediction_log(model_name, "super_resolve_image", {"image_bytes": np.array([png], object)}),
    ]


def write_warmup_file(saved_model_dir, records):
    """Writes `records` to `<saved_model_dir>/assets.extra/tf_serving_warmup_requests`.

    Returns:
        The file path.
    """
    if not 0 < len(records) <= MAX_RECORDS:
        raise ValueError(f"TF Serving takes 1 to {MAX_RECORDS} warm-up records, got {len(records)}.")
    folder = os.path.join(saved_model_dir, WARMUP_DIR)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, WARMUP_FILE)
    with tf.io.TFRecordWriter(path) as writer:
        for record in records:
            writer.write(record)
    return path


def read_warmup_file(path):
    """[(model name, signature name, {input name: array})] of a warm-up file."""
    return [parse_prediction_log(record.numpy()) for record in tf.data.TFRecordDataset(path)]
