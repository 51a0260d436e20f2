"""prepare_data.py end to end, then both input pipelines over its shards."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from dic_tf.data import annotations, augment, preparation, pydataset, sample, shards, synthetic
from dic_tf.utils.image_files import read_rgb
from dic_tf.utils.image_space import RGB_MEAN

tf = pytest.importorskip("tensorflow")
from dic_tf.data import pipeline  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NUM_GOOD = 6


def _prepare(*flags):
    return subprocess.run(
        [sys.executable, os.path.join(ROOT, "prepare_data.py"), *flags], cwd=ROOT, capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """Six good synthetic faces and three broken records; returns (images_dir, info, output_dir, runs)."""
    images_dir = str(tmp_path_factory.mktemp("faces"))
    faces = synthetic.generate_faces(NUM_GOOD + 2, seed=7)
    synthetic.write_faces(faces, images_dir)
    info = {name: faces.info[name] for name in faces.names[:NUM_GOOD]}
    good = faces.info[faces.names[0]]
    info["missing.png"] = good
    info[faces.names[NUM_GOOD]] = {"landmark": good["landmark"][:67], "bbox": good["bbox"]}
    info[faces.names[NUM_GOOD + 1]] = {"landmark": good["landmark"], "bbox": [100, 100, 200, 200]}
    info_path = os.path.join(images_dir, "info.json")
    annotations.write_info_json(info, info_path)
    output_dir = str(tmp_path_factory.mktemp("prepared"))
    common = [f"--images_dir={images_dir}", f"--annotations={info_path}", f"--output_dir={output_dir}"]
    failed = _prepare(*common)
    manifest_after_failure = os.path.exists(os.path.join(output_dir, shards.MANIFEST_NAME))
    skipped = _prepare(*common, "--num_shards=2", "--skip_bad")
    return {
        "images_dir": images_dir,
        "info": info,
        "names": faces.names,
        "output_dir": output_dir,
        "failed": failed,
        "manifest_after_failure": manifest_after_failure,
        "skipped": skipped,
    }


def test_prepare_fails_listing_every_bad_record(prepared):
    failed, names = prepared["failed"], prepared["names"]
    assert failed.returncode != 0
    assert "3 bad record(s)" in failed.stderr
    assert "'missing.png': image not found" in failed.stderr
    assert f"'{names[NUM_GOOD]}': landmark has shape (67, 2), expected (68, 2)" in failed.stderr
    assert f"'{names[NUM_GOOD + 1]}': bbox [100, 100, 200, 200] is outside the 160x160 image" in failed.stderr
    assert not prepared["manifest_after_failure"]


def test_prepare_skip_bad_reports_the_count(prepared):
    skipped = prepared["skipped"]
    assert skipped.returncode == 0, skipped.stderr
    assert f"wrote {NUM_GOOD} records in 2 shard(s)" in skipped.stdout
    assert "skipped 3 bad record(s)" in skipped.stdout
    with open(os.path.join(prepared["output_dir"], shards.MANIFEST_NAME)) as f:
        manifest = json.load(f)
    assert manifest["num_examples"] == NUM_GOOD and manifest["num_skipped"] == 3
    assert {item["name"] for item in manifest["skipped"]} == {"missing.png", *prepared["names"][NUM_GOOD:]}
    assert [shard["num_examples"] for shard in manifest["shards"]] == [3, 3]
    assert (manifest["hr_size"], manifest["scale"], manifest["num_keypoints"]) == (128, 8, 68)
    assert manifest["source"]["format"] == "json"
    assert not [f for f in os.listdir(prepared["output_dir"]) if ".tmp-" in f]


def _reference(prepared, name):
    image = read_rgb(os.path.join(prepared["images_dir"], name))
    entry = prepared["info"][name]
    return preparation.prepare_example(image, entry["landmark"], tuple(entry["bbox"]))


def test_make_dataset_equals_numpy_preparation(prepared):
    batches = list(pipeline.make_dataset(prepared["output_dir"], batch_size=4, training=False))
    assert [int(b["hr"].shape[0]) for b in batches] == [4, 2]
    batch = batches[0]
    assert batch["lr"].shape == (4, 16, 16, 3) and batch["lr"].dtype == tf.float32
    assert batch["hr"].shape == (4, 128, 128, 3) and batch["hr"].dtype == tf.float32
    assert batch["heatmaps"].shape == (4, 32, 32, 68) and batch["landmarks"].shape == (4, 68, 2)
    names = [n.decode() for b in batches for n in b["name"].numpy()]
    assert names == prepared["names"][:NUM_GOOD]
    mean = np.asarray(RGB_MEAN, np.float32)
    for index, name in enumerate(names):
        batch, row = batches[index // 4], index % 4
        expected = _reference(prepared, name)
        np.testing.assert_array_equal(
            batch["hr"].numpy()[row], expected["hr"].astype(np.float32) / np.float32(255) - mean
        )
        np.testing.assert_array_equal(
            batch["lr"].numpy()[row], expected["lr"].astype(np.float32) / np.float32(255) - mean
        )
        lr_uint8 = np.round((batch["lr"].numpy()[row] + mean) * 255).astype(np.uint8)
        np.testing.assert_array_equal(lr_uint8, preparation.make_lr(expected["hr"]))
        np.testing.assert_array_equal(batch["landmarks"].numpy()[row], expected["landmarks"].astype(np.float32))
        np.testing.assert_allclose(batch["heatmaps"].numpy()[row], expected["heatmaps"], rtol=0, atol=1e-6)


def _assert_batches_equal(tf_batch, np_batch):
    for key in ("lr", "hr", "landmarks"):
        np.testing.assert_array_equal(tf_batch[key].numpy(), np_batch[key], err_msg=key)
    np.testing.assert_allclose(tf_batch["heatmaps"].numpy(), np_batch["heatmaps"], rtol=0, atol=1e-30)
    assert list(tf_batch["name"].numpy()) == list(np_batch["name"])


def test_pydataset_equals_make_dataset_with_augmentation(prepared):
    kwargs = dict(batch_size=2, training=True, augment=augment.HELEN, seed=3, epoch=1)
    tf_batches = list(pipeline.make_dataset(prepared["output_dir"], repeat=False, **kwargs))
    py = pydataset.FacePyDataset(prepared["output_dir"], **kwargs)
    assert len(py) == len(tf_batches) == NUM_GOOD // 2
    for tf_batch, index in zip(tf_batches, range(len(py))):
        _assert_batches_equal(tf_batch, py[index])


def test_order_is_deterministic_per_seed_and_epoch(prepared):
    def names(**kwargs):
        dataset = pipeline.make_dataset(prepared["output_dir"], batch_size=1, training=True, repeat=False, **kwargs)
        return [b["name"].numpy()[0] for b in dataset]

    first = names(seed=0, epoch=0)
    assert first == names(seed=0, epoch=0)
    assert sorted(first) == sorted(n.encode() for n in prepared["names"][:NUM_GOOD])
    assert first != names(seed=0, epoch=1)
    assert first != names(seed=1, epoch=0)


def test_resume_skips_batches_and_repeats_epochs(prepared):
    kwargs = dict(batch_size=2, training=True, augment=augment.HELEN, seed=5)
    epoch0 = list(pipeline.make_dataset(prepared["output_dir"], epoch=0, repeat=False, **kwargs))
    epoch1 = list(pipeline.make_dataset(prepared["output_dir"], epoch=1, repeat=False, **kwargs))
    resumed = list(pipeline.make_dataset(prepared["output_dir"], epoch=0, skip_batches=1, **kwargs).take(5))
    for got, expected in zip(resumed, epoch0[1:] + epoch1):
        _assert_batches_equal(got, {k: v.numpy() for k, v in expected.items()})
    assert sample.resume_position(7, 3) == (2, 1)
    py = pydataset.FacePyDataset(prepared["output_dir"], epoch=0, skip_batches=1, **kwargs)
    assert len(py) == 2
    _assert_batches_equal(epoch0[1], py[0])
    py.on_epoch_end()
    assert len(py) == 3
    _assert_batches_equal(epoch1[0], py[0])


def test_pydataset_from_arrays_equals_records(prepared):
    source = pydataset.ManifestSource(prepared["output_dir"])
    hr, landmarks, names = zip(*(source.get(i) for i in range(len(source))))
    arrays = pydataset.ArraySource(np.stack(hr), np.stack(landmarks), list(names))
    kwargs = dict(batch_size=3, training=True, augment=augment.HELEN, seed=9)
    from_arrays = pydataset.FacePyDataset(arrays, **kwargs)
    from_records = pydataset.FacePyDataset(prepared["output_dir"], **kwargs)
    for index in range(len(from_records)):
        for key, value in from_records[index].items():
            np.testing.assert_array_equal(from_arrays[index][key], value, err_msg=key)


def test_make_dataset_rejects_bad_skip(prepared):
    with pytest.raises(ValueError, match=r"skip_batches=3 must be in \[0, 3\)"):
        pipeline.make_dataset(prepared["output_dir"], batch_size=2, training=True, skip_batches=3)


def test_pydataset_works_without_tensorflow(prepared):
    script = (
        "import sys; sys.modules['tensorflow'] = None\n"
        "from dic_tf.data import augment, pydataset\n"
        f"data = pydataset.FacePyDataset({prepared['output_dir']!r}, 2, True, augment=augment.HELEN)\n"
        "print(sorted((k, v.shape) for k, v in data[0].items()))\n"
    )
    env = dict(os.environ, KERAS_BACKEND="numpy")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "('heatmaps', (2, 32, 32, 68))" in result.stdout and "('lr', (2, 16, 16, 3))" in result.stdout


def test_training_batches_are_tf_data_here_and_the_pydataset_without_tensorflow(prepared, tmp_path):
    """`inputs.training_batches` picks by backend; both inputs give the same batches across epochs."""
    from dic_tf.data import inputs

    kwargs = dict(augment=augment.HELEN, seed=5, epoch=0, skip_batches=1)
    batches = inputs.training_batches(prepared["output_dir"], 2, keys=("lr", "hr", "heatmaps"), **kwargs)
    assert isinstance(batches, tf.data.Dataset)
    here = [{k: v.numpy() for k, v in b.items()} for b in batches.take(4)]
    assert all(sorted(b) == ["heatmaps", "hr", "lr"] for b in here)
    script = (
        "import sys; sys.modules['tensorflow'] = None\n"
        "import numpy as np\n"
        "from dic_tf.data import augment, inputs\n"
        f"data = inputs.training_batches({prepared['output_dir']!r}, 2, augment=augment.HELEN, seed=5, "
        "epoch=0, skip_batches=1)\n"
        "print(type(data).__name__)\n"
        "batches = iter(data)\n"
        f"np.savez({str(tmp_path / 'py.npz')!r}, "
        "**{f'{k}{i}': v for i in range(4) for k, v in next(batches).items()})\n"
    )
    env = dict(os.environ, KERAS_BACKEND="numpy")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["FacePyDataset"]
    there = np.load(tmp_path / "py.npz")
    assert sorted(there.files) == sorted(f"{k}{i}" for i in range(4) for k in ("heatmaps", "hr", "landmarks", "lr"))
    for i, batch in enumerate(here):  # batches 1, 2 of epoch 0, then 0, 1 of epoch 1
        for key in ("lr", "hr"):
            np.testing.assert_array_equal(batch[key], there[f"{key}{i}"], err_msg=f"{key} {i}")
        np.testing.assert_allclose(batch["heatmaps"], there[f"heatmaps{i}"], rtol=0, atol=1e-30)


def test_records_written_without_tensorflow_read_in_tensorflow(tmp_path):
    """`shards.RecordWriter` + `encode_example` (no TensorFlow): TF verifies the checksums and parses."""
    from dic_tf.data import dataset_builder

    hr = np.random.default_rng(0).integers(0, 256, (128, 128, 3), dtype=np.uint8)
    landmarks = np.arange(136, dtype=np.float32).reshape(68, 2)
    path = str(tmp_path / "python.tfrecord")
    with shards.RecordWriter(path) as writer:
        for name in ("a", "bé"):
            writer.write(dataset_builder.encode_record(hr, landmarks, name))
    spec = {shards.HR_KEY: tf.io.FixedLenFeature([], tf.string),
            shards.LANDMARKS_KEY: tf.io.FixedLenFeature([136], tf.float32),
            shards.NAME_KEY: tf.io.FixedLenFeature([], tf.string)}
    options = tf.data.Options()
    parsed = [tf.io.parse_single_example(r, spec) for r in tf.data.TFRecordDataset(path).with_options(options)]
    assert [p[shards.NAME_KEY].numpy().decode() for p in parsed] == ["a", "bé"]
    np.testing.assert_array_equal(tf.io.decode_png(parsed[1][shards.HR_KEY]).numpy(), hr)
    np.testing.assert_array_equal(parsed[0][shards.LANDMARKS_KEY].numpy(), landmarks.ravel())
    assert shards.decode_record(shards.RecordIndex([path]).read(1), 68)[2] == "bé"
