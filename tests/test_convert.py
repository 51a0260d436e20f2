"""Official-checkpoint conversion: wrappers, strictness, atomicity, .pth reading."""

import sys

import numpy as np
import pytest

from dic_tf.convert import CheckpointMismatchError, load_official_weights, normalize_state_dict
from dic_tf.models import build_dic, build_lightcnn
from dic_tf.models.dic_config import DICConfig
from tests import reference


@pytest.fixture(scope="module")
def tiny_state():
    arrays, meta = reference.load("dic_tiny")
    return reference.state_dict(arrays, meta["spec"])


@pytest.fixture
def tiny_model():
    return build_dic(DICConfig.tiny())


def _weights(model):
    return [np.array(w) for w in model.weights]


@pytest.mark.parametrize(
    "wrap",
    [
        lambda s: s,
        lambda s: {"state_dict": s, "step": 10},
        lambda s: {"netG": s, "netD": {}},
        lambda s: {f"module.{k}": v for k, v in s.items()},
    ],
    ids=["plain", "state_dict", "netG", "dataparallel"],
)
def test_accepts_the_authors_checkpoint_layouts(wrap, tiny_state, tiny_model):
    report = load_official_weights(tiny_model, wrap(tiny_state))
    assert report == {"loaded": len(tiny_state), "ignored": []}
    kernel = np.array(tiny_model.conv_out.kernel)
    np.testing.assert_allclose(
        kernel, np.transpose(tiny_state["conv_out.0.weight"], (2, 3, 1, 0)), rtol=1e-6
    )


def test_rejects_every_problem_by_name_and_loads_nothing(tiny_state, tiny_model):
    broken = dict(tiny_state)
    del broken["block.fusion_block.conv_in.0.bias"]
    broken["conv_out.0.weight"] = np.zeros((3, 8, 5, 5))
    broken["extra.layer.weight"] = np.zeros(3)
    before = _weights(tiny_model)
    with pytest.raises(CheckpointMismatchError) as error:
        load_official_weights(tiny_model, broken)
    message = str(error.value)
    assert "block.fusion_block.conv_in.0.bias" in message
    assert "conv_out.0.weight: checkpoint shape (3, 8, 5, 5)" in message
    assert "extra.layer.weight" in message
    assert "nothing was loaded" in message
    for old, new in zip(before, _weights(tiny_model)):
        np.testing.assert_array_equal(old, new)


def test_feedback_hourglass_alone_from_a_dic_checkpoint(tiny_state, tiny_model):
    hg_state = {k: v for k, v in tiny_state.items() if k.startswith("HG.")}
    report = load_official_weights(tiny_model.hourglass, hg_state)
    assert report["loaded"] == len(hg_state)
    plain = {k[len("HG."):]: v for k, v in hg_state.items()}
    other = build_dic(DICConfig.tiny())
    assert load_official_weights(other.hourglass, plain)["loaded"] == len(plain)
    for a, b in zip(tiny_model.hourglass.weights, other.hourglass.weights):
        np.testing.assert_array_equal(np.array(a), np.array(b))


def test_lightcnn_features_ignore_the_classifier_head():
    arrays, meta = reference.load("lightcnn")
    state = reference.state_dict(arrays, meta["discriminator"]["spec"])
    report = load_official_weights(build_lightcnn("features"), state)
    assert report["loaded"] == 18
    assert report["ignored"] == sorted(k for k in state if k.startswith("classifier."))


def test_num_batches_tracked_buffers_are_ignored():
    state = normalize_state_dict({"a.weight": np.ones(2), "bn.num_batches_tracked": np.array(3)})
    assert list(state) == ["a.weight"]


def test_missing_torch_is_explained(tmp_path, monkeypatch):
    path = tmp_path / "DIC_CelebA.pth"
    path.write_bytes(b"not really")
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match="pip install torch"):
        load_official_weights(build_dic(DICConfig.tiny()), str(path))


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        load_official_weights(build_dic(DICConfig.tiny()), str(tmp_path / "nope.pth"))


def test_reads_a_real_pth_file(tmp_path, tiny_state, record_error):
    torch = pytest.importorskip("torch")
    path = tmp_path / "DIC_tiny.pth"
    torch.save({"state_dict": {k: torch.from_numpy(v) for k, v in tiny_state.items()}}, path)
    model = build_dic(DICConfig.tiny())
    load_official_weights(model, str(path))
    arrays, _ = reference.load("dic_tiny")
    error = reference.relative_error(model(arrays["input"])["heatmaps"][-1], arrays["heatmap_2"])
    record_error("pth/dic_tiny/heatmap_2", error, reference.PARITY_TOLERANCE)
    assert error <= reference.PARITY_TOLERANCE
