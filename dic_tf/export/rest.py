"""TF Serving REST `:predict` bodies, and a stand-in server for the tests.

TF Serving (https://www.tensorflow.org/tfx/serving/api_rest) accepts two
request layouts and answers each with its own key:

* row format, `{"signature_name": ..., "instances": [...]}`: one entry per
  example, either `{input name: value}` or, for a one-input signature, the
  bare value. Answered with `{"predictions": [...]}`: a list of
  `{output name: value}`, or of bare values when the signature has a single
  output.
* columnar format, `{"signature_name": ..., "inputs": ...}`: `{input name:
  batched value}` or, for one input, the batched value. Answered with
  `{"outputs": ...}`: `{output name: batched value}`, or the batched value
  for a single output.

Binary strings travel as `{"b64": <base64>}`. Requests may use it for any
string input; responses use it for outputs whose name ends in `_bytes`.

`request_body` and `parse_response` are client helpers; `handle_request`
feeds a body to a loaded SavedModel signature exactly as TF Serving does.
"""

import base64
import json

import numpy as np
import tensorflow as tf

FORMATS = ("row", "columnar")
DEFAULT_SIGNATURE = "serving_default"


def _is_b64(value):
    return isinstance(value, dict) and set(value) == {"b64"}


def _to_json_value(value):
    """Nested lists with bytes as `{"b64": ...}`."""
    if isinstance(value, (bytes, np.bytes_)):
        return {"b64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, np.ndarray):
        if value.dtype == object or value.dtype.kind == "S":
            return [_to_json_value(v) for v in value]
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_to_json_value(v) for v in value]
    return value


def _from_json_value(value):
    """Inverse of `_to_json_value`: `{"b64": ...}` back to bytes."""
    if _is_b64(value):
        return base64.b64decode(value["b64"])
    if isinstance(value, list):
        return [_from_json_value(v) for v in value]
    return value


def request_body(inputs, signature_name=DEFAULT_SIGNATURE, format="row"):
    """A `:predict` request body (a JSON-serialisable dict).

    Args:
        inputs: {input name: batched numpy array or list of bytes}; every
            input must have the same batch size for the row format.
        signature_name: signature to run.
        format: "row" (`instances`) or "columnar" (`inputs`).

    Example:
        body = request_body({"lr": lr})  # TF Serving REST JSON
    """
    if format not in FORMATS:
        raise ValueError(f"Unknown REST format {format!r}; expected one of {FORMATS}.")
    if format == "columnar":
        return {
            "signature_name": signature_name,
            "inputs": {name: _to_json_value(value) for name, value in inputs.items()},
        }
    sizes = {name: len(value) for name, value in inputs.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"Row format needs one batch size for all inputs, got {sizes}.")
    count = next(iter(sizes.values()))
    instances = [
        {name: _to_json_value(value[i]) for name, value in inputs.items()} for i in range(count)
    ]
    return {"signature_name": signature_name, "instances": instances}


def parse_response(body, output_names=None):
    """{output name: numpy array} of a `:predict` response body (dict or JSON string).

    Args:
        body: the response.
        output_names: names of the signature's outputs; needed only to name a
            single-output response, where TF Serving omits the name.

    Example:
        outputs = parse_response(body, ["sr", "landmarks"])
    """
    if isinstance(body, (str, bytes)):
        body = json.loads(body)
    if "error" in body:
        raise RuntimeError(f"TF Serving error: {body['error']}")
    if "predictions" in body:
        rows = body["predictions"]
        if rows and isinstance(rows[0], dict) and not _is_b64(rows[0]):
            columns = {name: [row[name] for row in rows] for name in rows[0]}
        else:
            columns = {_single_name(output_names): rows}
    elif "outputs" in body:
        outputs = body["outputs"]
        if isinstance(outputs, dict) and not _is_b64(outputs):
            columns = outputs
        else:
            columns = {_single_name(output_names): outputs}
    else:
        raise ValueError(f"Response has neither `predictions` nor `outputs`: keys {sorted(body)}.")
    return {name: _as_array(_from_json_value(value)) for name, value in columns.items()}


def _single_name(output_names):
    if not output_names or len(output_names) != 1:
        raise ValueError(
            "A single-output response carries no output name; pass output_names=[name]."
        )
    return output_names[0]


def _as_array(value):
    if isinstance(value, list) and value and isinstance(value[0], bytes):
        return np.array(value, dtype=object)
    return np.asarray(value)


def handle_request(loaded, body):
    """Answers a `:predict` body with a loaded SavedModel, as TF Serving would.

    Args:
        loaded: `tf.saved_model.load(...)` of an export.
        body: request dict or JSON string.

    Returns:
        The response body (dict): `{"predictions": ...}` for the row format,
        `{"outputs": ...}` for the columnar one.

    Example:
        response = handle_request(tf.saved_model.load(path), body)
    """
    if isinstance(body, (str, bytes)):
        body = json.loads(body)
    name = body.get("signature_name", DEFAULT_SIGNATURE)
    if name not in loaded.signatures:
        raise KeyError(f"Signature {name!r} not in the SavedModel; it has {sorted(loaded.signatures)}.")
    signature = loaded.signatures[name]
    specs = signature.structured_input_signature[1]
    if ("instances" in body) == ("inputs" in body):
        raise ValueError("A predict body needs exactly one of `instances` (row) or `inputs` (columnar).")
    if "instances" in body:
        columns = _row_columns(body["instances"], specs)
    else:
        columns = _columnar_columns(body["inputs"], specs)
    tensors = {key: _to_tensor(columns[key], spec, key) for key, spec in specs.items()}
    outputs = {key: value.numpy() for key, value in signature(**tensors).items()}
    encoded = {key: _encode_output(key, value) for key, value in outputs.items()}
    if "instances" in body:
        count = len(next(iter(encoded.values())))
        if len(encoded) == 1:
            return {"predictions": next(iter(encoded.values()))}
        return {"predictions": [{key: value[i] for key, value in encoded.items()} for i in range(count)]}
    if len(encoded) == 1:
        return {"outputs": next(iter(encoded.values()))}
    return {"outputs": encoded}


def _named(value, specs):
    """True when `value` is `{input name: ...}` rather than a bare input value."""
    return isinstance(value, dict) and not _is_b64(value) and set(value) <= set(specs) | {"b64"}


def _row_columns(instances, specs):
    if not isinstance(instances, list) or not instances:
        raise ValueError("`instances` must be a non-empty list.")
    if all(_named(instance, specs) for instance in instances):
        missing = [key for key in specs if any(key not in instance for instance in instances)]
        if missing:
            raise ValueError(f"Row-format instances lack input(s) {missing}.")
        return {key: [instance[key] for instance in instances] for key in specs}
    if len(specs) != 1:
        raise ValueError(f"Bare instances need a one-input signature; it takes {sorted(specs)}.")
    return {next(iter(specs)): instances}


def _columnar_columns(inputs, specs):
    if _named(inputs, specs):
        missing = sorted(set(specs) - set(inputs))
        if missing:
            raise ValueError(f"Columnar `inputs` lack input(s) {missing}.")
        return inputs
    if len(specs) != 1:
        raise ValueError(f"A bare `inputs` value needs a one-input signature; it takes {sorted(specs)}.")
    return {next(iter(specs)): inputs}


def _to_tensor(value, spec, name):
    value = _from_json_value(value)
    if spec.dtype == tf.string:
        array = np.array(value, dtype=object)
    else:
        array = np.asarray(value, dtype=spec.dtype.as_numpy_dtype)
    if not spec.shape.is_compatible_with(array.shape):
        raise ValueError(f"Input {name!r} has shape {array.shape}; the signature expects {spec.shape}.")
    return tf.constant(array, dtype=spec.dtype)


def _encode_output(name, value):
    """Nested lists; strings as `{"b64": ...}` for `*_bytes` outputs, else UTF-8 text."""
    if value.dtype != object:
        return value.tolist()
    binary = name.endswith("_bytes")

    def encode(item):
        if isinstance(item, list):
            return [encode(v) for v in item]
        return _to_json_value(item) if binary else item.decode("utf-8")

    return encode(value.tolist())
