"""Exports: SavedModel signatures, REST bodies, warm-up file, TFLite, atomicity."""

import base64
import io
import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf
from absl import flags
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from PIL import Image

from dic_tf.cli.common_flags import config_from_flags, define_config_flags
from dic_tf.convert import load_official_weights
from dic_tf.export import exporter, rest, serving, tflite, warmup
from dic_tf.inference import SavedModelPredictor
from dic_tf.metrics import landmarks as landmark_metrics
from dic_tf.metrics.scoring import score_batch
from dic_tf.models import build_dic
from dic_tf.models.dic_config import DICConfig
from dic_tf.utils.image_space import RGB_MEAN
from tests import reference

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VALIDATION = {"step": 250, "psnr": 24.1, "bicubic_psnr": 23.7, "num_images": 100}


# One xdist worker runs the whole module, so that the fixture model and its export are made once.
pytestmark = pytest.mark.xdist_group("export")


@pytest.fixture(scope="module")
def fixture_model():
    """Tiny DIC with the dic_tiny reference weights, and the fixture arrays."""
    arrays, meta = reference.load("dic_tiny")
    model = build_dic(reference.dic_config(meta), lr_size=meta["config"]["lr_size"])
    load_official_weights(model, reference.state_dict(arrays, meta["spec"]))
    return model, arrays


@pytest.fixture(scope="module")
def exported(fixture_model, tmp_path_factory):
    """One export (no TFLite) of the fixture-weighted tiny model."""
    model, _ = fixture_model
    base = tmp_path_factory.mktemp("saved_models") / "dic"
    report = exporter.export(model, str(base), source="dic_tiny fixture", validation=VALIDATION)
    return model, report


def _run_fresh_process(script, tmp_path, **arrays):
    """Runs `script` in a new Python process with `arrays` in inputs.npz; returns outputs.npz."""
    np.savez(tmp_path / "inputs.npz", **arrays)
    code = textwrap.dedent(
        """
        import os, sys
        import numpy as np
        import tensorflow as tf
        inputs = np.load(sys.argv[1], allow_pickle=True)
        out_path = sys.argv[2]
        """
    ) + textwrap.dedent(script)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=ROOT)
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "inputs.npz"), str(tmp_path / "outputs.npz")],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return np.load(tmp_path / "outputs.npz", allow_pickle=True)


_SERVE_IN_FRESH_PROCESS = """
loaded = tf.saved_model.load(str(inputs["path"]))
outputs = loaded.signatures["serving_default"](lr=tf.constant(inputs["lr"]))
np.savez(out_path, **{k: v.numpy() for k, v in outputs.items()})
"""


def test_config_flags_apply_preset_then_overrides():
    values = flags.FlagValues()
    define_config_flags(values)
    values(["prog", "--config=tiny", "--num_steps=2", "--detach_attention"])
    expected = DICConfig.tiny()
    expected.num_steps, expected.detach_attention = 2, True
    assert config_from_flags(values) == expected
    defaults = flags.FlagValues()
    define_config_flags(defaults)
    defaults(["prog"])
    assert config_from_flags(defaults) == DICConfig.x8()


def test_serving_default_round_trip_in_fresh_process(exported, tmp_path, record_error):
    model, report = exported
    lr = np.random.default_rng(1).uniform(size=(2, 16, 24, 3)).astype(np.float32)
    module = serving.DICServingModule(model)
    expected = {k: v.numpy() for k, v in module.serve(lr).items()}
    got = _run_fresh_process(_SERVE_IN_FRESH_PROCESS, tmp_path, path=report["path"], lr=lr)
    assert got["sr"].shape == (2, 128, 192, 3)
    assert got["landmarks"].shape == (2, 68, 2)
    assert got["heatmaps"].shape == (2, 32, 48, 68)
    for key in ("sr", "heatmaps", "landmarks"):
        error = float(np.max(np.abs(got[key] - expected[key])))
        record_error(f"export/serving_default/{key} vs keras (max abs)", error, 1e-5)
        assert error <= 1e-5, key
    raw = model(lr - np.asarray(RGB_MEAN, np.float32))
    np.testing.assert_allclose(
        got["sr"], np.clip(np.asarray(raw["sr"][-1]) + RGB_MEAN, 0, 1), atol=1e-5
    )
    np.testing.assert_array_equal(
        got["landmarks"],
        landmark_metrics.peaks_to_image(landmark_metrics.heatmap_peaks(got["heatmaps"])),
    )


def test_official_mapping_export_matches_reference_vectors(exported, fixture_model, tmp_path, record_error):
    _, report = exported
    _, arrays = fixture_model
    lr = (arrays["input"] + np.asarray(RGB_MEAN)).astype(np.float32)
    got = _run_fresh_process(_SERVE_IN_FRESH_PROCESS, tmp_path, path=report["path"], lr=lr)
    last = max(int(k.split("_")[1]) for k in arrays.files if k.startswith("sr_"))
    expected_sr = np.clip(arrays[f"sr_{last}"] + np.asarray(RGB_MEAN), 0.0, 1.0)
    sr_error = float(np.max(np.abs(got["sr"] - expected_sr)))
    heatmap_error = float(np.max(np.abs(got["heatmaps"] - arrays[f"heatmap_{last}"])))
    record_error("export/official mapping sr vs reference (max abs, clipped)", sr_error, 1e-4)
    record_error("export/official mapping heatmaps vs reference (max abs)", heatmap_error, 1e-4)
    assert sr_error <= 1e-4 and heatmap_error <= 1e-4


def test_export_cli_from_official_pth_matches_reference_vectors(fixture_model, tmp_path, record_error):
    torch = pytest.importorskip("torch")
    _, arrays = fixture_model
    _, meta = reference.load("dic_tiny")
    state = reference.state_dict(arrays, meta["spec"])
    pth = tmp_path / "dic_tiny.pth"
    torch.save({k: torch.from_numpy(np.asarray(v, np.float32)) for k, v in state.items()}, pth)
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "export.py"), f"--pytorch_checkpoint={pth}",
         "--config=tiny", f"--export_dir={tmp_path / 'dic'}", "--version=7"],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "SavedModel vs Keras" in result.stdout
    loaded = tf.saved_model.load(str(tmp_path / "dic" / "7"))
    lr = (arrays["input"] + np.asarray(RGB_MEAN)).astype(np.float32)
    got = loaded.signatures["serving_default"](lr=tf.constant(lr))["sr"].numpy()
    last = meta["config"]["num_steps"] - 1
    expected_sr = np.clip(arrays[f"sr_{last}"] + np.asarray(RGB_MEAN), 0.0, 1.0)
    error = float(np.max(np.abs(got - expected_sr)))
    record_error("export.py --pytorch_checkpoint sr vs reference (max abs, clipped)", error, 1e-4)
    assert error <= 1e-4


def test_training_checkpoint_source_loads_the_same_model(tmp_path):
    from dic_tf.inference.loading import load_dic
    from dic_tf.training import checkpoints

    model = build_dic(DICConfig.tiny())
    path = checkpoints.save_checkpoint(
        str(tmp_path / "checkpoints"), 10, model, {},
        {"config": DICConfig.tiny().to_dict(), "model": "DIC"},
    )
    loaded, source = load_dic(checkpoint=path)
    assert loaded.config == DICConfig.tiny() and source["kind"] == "checkpoint" and source["validation"] is None
    with open(tmp_path / "metrics.jsonl", "w") as f:
        f.write(json.dumps(dict(VALIDATION, step=10, ssim=0.7)) + "\n")
    assert load_dic(checkpoint=str(tmp_path))[1]["validation"] == dict(VALIDATION, step=10)
    lr = exporter.evaluation_inputs(16, count=1)
    np.testing.assert_array_equal(np.asarray(loaded(lr)["sr"][-1]), np.asarray(model(lr)["sr"][-1]))


def test_non_multiple_of_8_size_fails_with_named_size(exported):
    _, report = exported
    loaded = tf.saved_model.load(report["path"])
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"multiples of 8") as info:
        loaded.signatures["serving_default"](lr=tf.zeros((1, 12, 16, 3)))
    assert "[12] [16]" in str(info.value)


def test_layout_versions_and_keras_files(exported, tmp_path):
    model, report = exported
    path = report["path"]
    assert os.path.basename(path) == "1"
    for name in ("saved_model.pb", "variables", "assets.extra/tf_serving_warmup_requests",
                 "dic.keras", "dic.weights.h5", "export_report.json"):
        assert os.path.exists(os.path.join(path, name)), name
    assert exporter.next_version(os.path.dirname(path)) == 2
    assert [n for n in os.listdir(os.path.dirname(path)) if n.startswith(".tmp")] == []
    with pytest.raises(FileExistsError, match="already exists"):
        exporter.export(model, os.path.dirname(path), version=1)
    with open(os.path.join(path, "export_report.json")) as f:
        saved = json.load(f)
    assert saved["saved_model"]["max_abs_diff_vs_keras"] <= 1e-5
    assert saved["keras"]["reload_max_abs_diff"] <= 1e-6
    assert saved["validation"] == VALIDATION == SavedModelPredictor(path).validation  # for dic_tf.photos
    reloaded = keras.models.load_model(os.path.join(path, "dic.keras"))
    lr = exporter.evaluation_inputs(16)
    np.testing.assert_allclose(
        np.asarray(reloaded(lr)["sr"][-1]), np.asarray(model(lr)["sr"][-1]), atol=1e-6
    )


def test_saved_model_cli_shows_both_signatures(exported):
    _, report = exported
    result = subprocess.run(
        [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli", "show", "--all",
         "--dir", report["path"]],
        capture_output=True, text=True, timeout=120, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    text = result.stdout
    assert "signature_def['serving_default']" in text
    assert "signature_def['super_resolve_image']" in text
    for line in ("shape: (-1, -1, -1, 3)", "name: serving_default_lr:0",
                 "name: super_resolve_image_image_bytes:0", "outputs['sr_png_bytes']",
                 "outputs['landmarks']", "shape: (-1, 68, 2)"):
        assert line in text, line


def _png(image):
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def _jpeg(image):
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", rest.FORMATS)
def test_rest_bodies_for_serving_default(exported, fmt):
    model, report = exported
    loaded = tf.saved_model.load(report["path"])
    lr = exporter.evaluation_inputs(16, count=2)
    body = json.dumps(rest.request_body({"lr": lr}, "serving_default", fmt))
    response = json.loads(json.dumps(rest.handle_request(loaded, body)))
    assert set(response) == {"predictions" if fmt == "row" else "outputs"}
    if fmt == "row":
        assert len(response["predictions"]) == 2
        assert set(response["predictions"][0]) == {"sr", "landmarks", "heatmaps"}
    outputs = rest.parse_response(response)
    expected = serving.DICServingModule(model).serve(lr)
    for key in ("sr", "landmarks", "heatmaps"):
        np.testing.assert_allclose(outputs[key], expected[key].numpy(), atol=1e-5)


@pytest.mark.parametrize("fmt", rest.FORMATS)
def test_rest_bodies_for_super_resolve_image(exported, fmt):
    model, report = exported
    loaded = tf.saved_model.load(report["path"])
    rng = np.random.default_rng(3)
    faces = [rng.integers(0, 256, (16, 16, 3), dtype=np.uint8),
             rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)]
    encoded = [_png(faces[0]), _jpeg(faces[1])]
    body = rest.request_body({"image_bytes": encoded}, "super_resolve_image", fmt)
    wire = json.dumps(body)
    assert '{"b64": "' in wire
    response = json.loads(json.dumps(rest.handle_request(loaded, wire)))
    key = "predictions" if fmt == "row" else "outputs"
    assert set(response) == {key}
    assert all(set(item) == {"b64"} for item in response[key])
    outputs = rest.parse_response(response, output_names=["sr_png_bytes"])["sr_png_bytes"]
    srs = [np.asarray(Image.open(io.BytesIO(data))) for data in outputs]
    assert [sr.shape for sr in srs] == [(128, 128, 3), (128, 128, 3)]
    # A 16x16 PNG goes through unresized: the PNG is the 8-bit serving_default SR.
    expected = serving.DICServingModule(model).serve(faces[0][None].astype(np.float32) / 255.0)
    expected = np.round(expected["sr"].numpy()[0] * 255).astype(np.uint8)
    assert np.max(np.abs(srs[0].astype(int) - expected.astype(int))) <= 1


def test_rest_bare_row_instances_for_one_input_signature(exported):
    _, report = exported
    loaded = tf.saved_model.load(report["path"])
    data = _png(np.full((16, 16, 3), 100, np.uint8))
    body = {"signature_name": "super_resolve_image",
            "instances": [{"b64": base64.b64encode(data).decode()}]}
    response = rest.handle_request(loaded, body)
    assert len(response["predictions"]) == 1 and "b64" in response["predictions"][0]


def _serving_protos():
    """Message classes for PredictionLog & co., built from the .proto field numbers
    (an independent decoder for the hand-written wire format)."""
    from tensorflow.core.framework import tensor_pb2

    pool = descriptor_pool.DescriptorPool()
    for dependency in (tensor_pb2.DESCRIPTOR,):
        _add_with_dependencies(pool, dependency)
    proto = descriptor_pb2.FileDescriptorProto(
        name="serving_subset.proto", package="tensorflow.serving", syntax="proto3",
        dependency=[tensor_pb2.DESCRIPTOR.name],
    )
    msg = descriptor_pb2.FieldDescriptorProto
    spec = proto.message_type.add(name="ModelSpec")
    spec.field.add(name="name", number=1, type=msg.TYPE_STRING, label=msg.LABEL_OPTIONAL)
    spec.field.add(name="signature_name", number=3, type=msg.TYPE_STRING, label=msg.LABEL_OPTIONAL)
    request = proto.message_type.add(name="PredictRequest")
    request.field.add(name="model_spec", number=1, type=msg.TYPE_MESSAGE, label=msg.LABEL_OPTIONAL,
                      type_name=".tensorflow.serving.ModelSpec")
    entry = request.nested_type.add(name="InputsEntry")
    entry.options.map_entry = True
    entry.field.add(name="key", number=1, type=msg.TYPE_STRING, label=msg.LABEL_OPTIONAL)
    entry.field.add(name="value", number=2, type=msg.TYPE_MESSAGE, label=msg.LABEL_OPTIONAL,
                    type_name=".tensorflow.TensorProto")
    request.field.add(name="inputs", number=2, type=msg.TYPE_MESSAGE, label=msg.LABEL_REPEATED,
                      type_name=".tensorflow.serving.PredictRequest.InputsEntry")
    predict_log = proto.message_type.add(name="PredictLog")
    predict_log.field.add(name="request", number=1, type=msg.TYPE_MESSAGE, label=msg.LABEL_OPTIONAL,
                          type_name=".tensorflow.serving.PredictRequest")
    log = proto.message_type.add(name="PredictionLog")
    log.field.add(name="predict_log", number=6, type=msg.TYPE_MESSAGE, label=msg.LABEL_OPTIONAL,
                  type_name=".tensorflow.serving.PredictLog")
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("tensorflow.serving.PredictionLog"))


def _add_with_dependencies(pool, file_descriptor):
    for dependency in file_descriptor.dependencies:
        _add_with_dependencies(pool, dependency)
    try:
        pool.FindFileByName(file_descriptor.name)
    except KeyError:
        proto = descriptor_pb2.FileDescriptorProto()
        file_descriptor.CopyToProto(proto)
        pool.Add(proto)


def test_warmup_records_parse_as_prediction_logs_and_run(exported):
    _, report = exported
    path = os.path.join(report["path"], warmup.WARMUP_DIR, warmup.WARMUP_FILE)
    prediction_log_class = _serving_protos()
    loaded = tf.saved_model.load(report["path"])
    records = [r.numpy() for r in tf.data.TFRecordDataset(path)]
    assert len(records) == 2
    seen = set()
    for record, (name, signature, inputs) in zip(records, warmup.read_warmup_file(path)):
        log = prediction_log_class.FromString(record)
        request = log.predict_log.request
        assert request.model_spec.name == name == "dic"
        assert request.model_spec.signature_name == signature
        assert sorted(request.inputs) == sorted(inputs)
        tensors = {}
        for key, proto in request.inputs.items():
            array = tf.make_ndarray(tensor_proto_from(proto))
            if array.dtype != object:
                np.testing.assert_array_equal(array, inputs[key])
            tensors[key] = tf.constant(array)
        loaded.signatures[signature](**tensors)
        seen.add(signature)
    assert seen == set(serving.SIGNATURE_NAMES)


def tensor_proto_from(message):
    """A dynamic-pool TensorProto as tensorflow's own TensorProto class."""
    from tensorflow.core.framework import tensor_pb2

    return tensor_pb2.TensorProto.FromString(message.SerializeToString())


def test_failed_export_leaves_no_version_directory(monkeypatch, tmp_path):
    model = build_dic(DICConfig.tiny())
    base = tmp_path / "dic"

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(warmup, "write_warmup_file", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        exporter.export(model, str(base))
    assert os.listdir(base) == []
    assert exporter.next_version(str(base)) == 1


def test_tflite_variants_against_keras(fixture_model, tmp_path, record_error):
    model, _ = fixture_model
    module = serving.DICServingModule(model)
    lr = exporter.evaluation_inputs(16, count=2)
    expected = module.sr_only(lr).numpy()
    frozen = tflite.frozen_sr_function(module, 16)
    outputs, sizes = {}, {}
    for variant in tflite.VARIANTS:
        content = tflite.convert(frozen, variant)
        sizes[variant] = len(content)
        path = tmp_path / f"dic_{variant}.tflite"
        path.write_bytes(content)
        outputs[variant] = tflite.run_tflite(str(path), lr)
        assert outputs[variant].shape == (2, 128, 128, 3)
    fp32_error = float(np.max(np.abs(outputs["fp32"] - expected)))
    fp16_psnr = tflite.psnr(outputs["fp16"], outputs["fp32"])
    int8_psnr = tflite.psnr(outputs["dynamic_int8"], outputs["fp32"])
    bicubic_psnr = tflite.psnr(exporter.bicubic_baseline(lr, 8), outputs["fp32"])
    record_error("tflite/fp32 vs keras (max abs)", fp32_error, 1e-4)
    print(f"sizes {sizes}; PSNR vs fp32: fp16 {fp16_psnr:.2f} dB, dynamic_int8 "
          f"{int8_psnr:.2f} dB, bicubic {bicubic_psnr:.2f} dB")
    assert fp32_error <= 1e-4
    assert fp16_psnr >= 45.0
    assert np.isfinite(int8_psnr) and int8_psnr > bicubic_psnr
    assert sizes["fp16"] < sizes["fp32"] and sizes["dynamic_int8"] < sizes["fp16"]


def test_bicubic_baseline_is_evaluate_pys():
    """The report's "bicubic" is what evaluate.py and validation score: Pillow bicubic of the 8-bit LR."""
    lr = exporter.evaluation_inputs(16, count=2)
    pixels = np.round(lr * 255.0).astype(np.uint8)
    hr = np.zeros((2, 128, 128, 3), np.uint8)
    scored = score_batch([hr], hr, pixels).bicubic
    np.testing.assert_array_equal(exporter.bicubic_baseline(lr, 8), scored.astype(np.float32) / 255.0)


def test_tflite_variant_names_are_checked():
    assert tflite.parse_variants("fp32, fp16") == ("fp32", "fp16")
    assert tflite.parse_variants("") == ()
    with pytest.raises(ValueError, match="int4"):
        tflite.parse_variants("fp32,int4")
