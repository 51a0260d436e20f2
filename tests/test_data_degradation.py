"""The real-world degradation of the training LR (`dic_tf.data.degradation`) and its wiring
into both input pipelines."""

import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from dic_tf.data import augment, degradation, preparation, pydataset, sample
from dic_tf.data.degradation import RealDegradation, degradation_rng
from dic_tf.data.demo import prepare_demo_data
from dic_tf.utils.resize import resize_bicubic

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DRAWS = 300
# libjpeg's standard luminance quantisation table (ITU-T T.81 Annex K), natural order.
LUMINANCE = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
])


def _face(seed=0):
    """A smooth random 128x128 face-sized image (uint8)."""
    noise = np.random.default_rng(seed).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    return resize_bicubic(noise, 128)


@pytest.fixture(scope="module")
def draws():
    """`DRAWS` degradations of one face with the default config: [(lr, record)]."""
    hr, config = _face(), RealDegradation()
    return [degradation.degrade(hr, 8, config, degradation_rng(0, 0, i)) for i in range(DRAWS)]


def _within(value, bounds):
    return bounds[0] <= value <= bounds[1]


def _check_kernel(kernel, size):
    assert kernel.shape == (size, size) and size % 2 == 1
    assert abs(kernel.sum() - 1) <= 1e-6
    np.testing.assert_allclose(kernel, kernel[::-1, ::-1], atol=1e-12)  # centred support
    assert kernel[size // 2, size // 2] == kernel.max()


def test_drawn_parameters_stay_in_their_ranges(draws):
    c = RealDegradation()
    seen = {"kernel_type": set(), "noise": set(), "mode": set(), "direction": set(), "shuffled": set(),
            "final": set()}
    for lr, record in draws:
        assert lr.dtype == np.uint8 and lr.shape == (16, 16, 3)
        ops = [(r["op"], r["round"]) for r in record]
        assert [op for op in ops if op[0] == "jpeg"] == [("jpeg", "first"), ("jpeg", "final")]
        assert sorted(op for op in ops if op[1] != "final") == sorted(
            [("blur", "first"), ("resize", "first"), ("noise", "first"), ("jpeg", "first"),
             ("resize", "second"), ("noise", "second")] + [("blur", "second")] * (("blur", "second") in ops))
        final = [op[0] for op in ops if op[1] == "final"]
        assert ops[-len(final):] == [(op, "final") for op in final]  # the final step comes last
        assert final in (["resize", "jpeg"], ["resize", "sinc", "jpeg"], ["jpeg", "resize"],
                         ["jpeg", "resize", "sinc"])
        seen["final"].add(final[0])
        rounds = [op for op in ops if op[1] != "final"]
        assert rounds.index(("jpeg", "first")) in ((3,) if ("blur", "second") in rounds else (2, 3))
        seen["shuffled"].add(rounds[:3] != [("blur", "first"), ("resize", "first"), ("noise", "first")])
        for r in record:
            second = r["round"] == "second"
            if r["op"] == "blur":
                _check_kernel(r["kernel"], r["size"])
                assert _within(r["size"], c.kernel_range)
                seen["kernel_type"].add(r["kernel_type"])
                if r["kernel_type"] == "sinc":
                    bounds = c.sinc_cutoff_range if r["size"] < c.sinc_large_kernel else c.sinc_cutoff_range_large
                    assert _within(r["cutoff"], bounds)
                    continue
                assert (r["kernel"] >= 0).all()
                sigma = c.blur_sigma2 if second else c.blur_sigma
                assert _within(r["sigma_x"], sigma) and _within(r["sigma_y"], sigma)
                assert _within(r["theta"], c.rotation_range)
                if r["kernel_type"].endswith("_iso") or r["kernel_type"] == "iso":
                    assert r["sigma_x"] == r["sigma_y"] and r["theta"] == 0
                beta = {"generalized": c.betag_range2 if second else c.betag_range,
                        "plateau": c.betap_range2 if second else c.betap_range}.get(r["kernel_type"].split("_")[0])
                assert _within(r["beta"], beta) if beta else r["beta"] == 1
            elif r["op"] == "resize" and r["round"] == "final":
                assert r["size"] == 16 and r["mode"] in degradation.RESIZE_MODES
            elif r["op"] == "resize":
                lo, hi = c.resize_range2 if second else c.resize_range
                bounds = {"up": (1, hi), "down": (lo, 1), "keep": (1, 1)}[r["direction"]]
                assert _within(r["factor"], bounds)
                assert r["size"] == max(c.min_side, int((16 if second else 128) * r["factor"]))
                seen["direction"].add(r["direction"])
                seen["mode"].add(r["mode"])
            elif r["op"] == "noise":
                seen["noise"].add((r["kind"], r["gray"]))
                if r["kind"] == "gaussian":
                    assert _within(r["sigma"], c.noise_range2 if second else c.noise_range)
                else:
                    assert _within(r["scale"], c.poisson_scale_range2 if second else c.poisson_scale_range)
            elif r["op"] == "jpeg":
                assert isinstance(r["quality"], int)
                assert _within(r["quality"], c.jpeg_range2 if r["round"] == "final" else c.jpeg_range)
            else:
                assert r["op"] == "sinc" and r["round"] == "final"
                _check_kernel(r["kernel"], r["size"])
                assert _within(r["size"], c.final_sinc_kernel_range)
                assert _within(r["cutoff"], c.final_sinc_cutoff_range)
    assert seen["kernel_type"] == set(degradation.KERNEL_TYPES) | {"sinc"}
    assert seen["noise"] == {(k, g) for k in ("gaussian", "poisson") for g in (False, True)}
    assert seen["mode"] == set(degradation.RESIZE_MODES) and seen["direction"] == {"up", "down", "keep"}
    assert seen["shuffled"] == {False, True} and seen["final"] == {"resize", "jpeg"}


def _quality_table(quality):
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return np.clip((LUMINANCE * scale + 50) // 100, 1, 255)


def test_jpeg_quality_read_back_from_the_bytes(monkeypatch):
    encoded = []

    def encode(image, quality):
        encoded.append(degradation_encode(image, quality))
        return encoded[-1]

    degradation_encode = degradation.encode_jpeg
    monkeypatch.setattr(degradation.operations, "encode_jpeg", encode)
    hr, config, drawn = _face(1), RealDegradation(), []
    for i in range(60):
        drawn += [r["quality"] for r in degradation.degrade(hr, 8, config, degradation_rng(0, 0, i))[1]
                  if r["op"] == "jpeg"]
    assert len(encoded) == len(drawn) == 120 and len(set(drawn)) > 30
    for data, quality in zip(encoded, drawn):
        tables = Image.open(io.BytesIO(data)).quantization
        np.testing.assert_array_equal(tables[0], _quality_table(quality), err_msg=f"quality {quality}")


def test_gaussian_noise_has_the_drawn_sigma_on_flat_grey(draws):
    noises = [r for _, record in draws for r in record if r["op"] == "noise" and r["kind"] == "gaussian"]
    assert len(noises) > 100
    flat = np.full((128, 128, 3), 0.5, np.float32)
    for index, r in enumerate(noises[:60]):
        noisy = degradation.add_gaussian_noise(flat, r["sigma"], r["gray"], np.random.default_rng(index))
        measured = (noisy - flat).std() * 255
        assert abs(measured - r["sigma"]) <= 0.03 * r["sigma"], (measured, r)
        if r["gray"]:
            np.testing.assert_array_equal(noisy[..., 0], noisy[..., 2])


def test_narrow_overrides_are_honoured():
    config = RealDegradation.from_overrides(
        "jpeg_range=50:50, jpeg_range2=50:50, gaussian_noise_prob=1, gaussian_noise_prob2=1,"
        "noise_range=10:10, noise_range2=7:7, resize_prob=0:1:0, resize_range=0.5:1.5,"
        "resize_prob2=0:1:0, resize_range2=0.01:1, kernel_prob=1:0:0:0:0:0, sinc_prob=0,"
        "second_blur_prob=0, final_sinc_prob=0, shuffle_prob=1, kernel_range=3:5, min_side=6,"
        "resize_mode_prob=0:0:1")
    hr, orders = _face(2), set()
    for i in range(30):
        lr, record = degradation.degrade(hr, 8, config, degradation_rng(1, 2, i))
        assert lr.shape == (16, 16, 3)
        orders.add(tuple(r["op"] for r in record[:3]))
        for r in record:
            assert r["op"] != "sinc" and not (r["op"] == "blur" and r["round"] == "second")
            if r["op"] == "jpeg":
                assert r["quality"] == 50
            if r["op"] == "noise":
                assert r["kind"] == "gaussian" and r["sigma"] == (7 if r["round"] == "second" else 10)
            if r["op"] == "blur":
                assert r["kernel_type"] == "iso" and r["size"] in (3, 5)
            if r["op"] == "resize":
                assert r["mode"] == "bicubic"
                assert r["round"] == "final" or r["direction"] == "down" and r["size"] >= 6
    assert len(orders) > 3  # shuffle_prob=1: BSRGAN's random order


def test_same_draws_give_the_same_bytes_and_others_differ():
    hr, config = _face(3), RealDegradation()
    lr = degradation.make_lr(hr, 8, config, degradation_rng(0, 4, 5))
    np.testing.assert_array_equal(lr, degradation.make_lr(hr, 8, config, degradation_rng(0, 4, 5)))
    for seed, epoch, position in ((0, 4, 6), (0, 5, 5), (1, 4, 5)):
        assert not np.array_equal(lr, degradation.make_lr(hr, 8, config, degradation_rng(seed, epoch, position)))
    np.testing.assert_array_equal(lr, degradation.make_lr(hr, 8, "real", degradation_rng(0, 4, 5)))


def test_clean_prob_mixes_in_the_clean_lr_and_keeps_the_degraded_draws():
    """Each sample is either the official LR or, byte for byte, the clean_prob=0 draw of the same rng."""
    hr = _face(6)
    clean, mixed, pure = preparation.make_lr(hr, 8), RealDegradation(clean_prob=0.3), RealDegradation()
    kept = 0
    for i in range(DRAWS):
        lr, record = degradation.degrade(hr, 8, mixed, degradation_rng(0, 1, i))
        degraded, degraded_record = degradation.degrade(hr, 8, pure, degradation_rng(0, 1, i))
        if record == [{"op": "bicubic", "round": "clean"}]:
            np.testing.assert_array_equal(lr, clean)
            kept += 1
        else:
            np.testing.assert_array_equal(lr, degraded)
            assert [r["op"] for r in record] == [r["op"] for r in degraded_record]
    assert abs(kept - 0.3 * DRAWS) <= 4 * (0.3 * 0.7 * DRAWS) ** 0.5, kept  # binomial, 4 sigma
    for i in range(10):
        np.testing.assert_array_equal(
            degradation.make_lr(hr, 8, RealDegradation(clean_prob=1.0), degradation_rng(2, 0, i)), clean)
    assert RealDegradation.from_overrides("clean_prob=0.25") == RealDegradation(clean_prob=0.25)


def test_bicubic_is_the_official_lr():
    hr, landmarks = _face(4), np.random.default_rng(0).uniform(20, 100, (68, 2))
    expected = preparation.make_lr(hr, 8)
    for choice in (None, "bicubic"):
        np.testing.assert_array_equal(degradation.make_lr(hr, 8, choice), expected)
        np.testing.assert_array_equal(sample.make_sample(hr, landmarks, degradation=choice)[1], expected)
    assert degradation.resolve("bicubic") is None and degradation.resolve("real") == RealDegradation()


@pytest.mark.parametrize("text, expected", [
    ("no_such_field=1", "unknown field 'no_such_field'"),
    ("jpeg_range=90:40", "jpeg_range=90:40: expected lo:hi with JPEG qualities 1 <= lo <= hi <= 100"),
    ("jpeg_range=0:50", "jpeg_range=0:50: expected lo:hi with JPEG qualities"),
    ("jpeg_range2=30:101", "jpeg_range2=30:101: expected"),
    ("jpeg_range=40.5:90", "jpeg_range=40.5:90: expected lo:hi with JPEG qualities"),
    ("gaussian_noise_prob=1.5", "gaussian_noise_prob=1.5: expected a probability in [0, 1]"),
    ("shuffle_prob=-0.1", "shuffle_prob=-0.1: expected a probability in [0, 1]"),
    ("resize_prob=0.5:0.5:0.5", "resize_prob=0.5:0.5:0.5: expected 3 probabilities up:down:keep in [0, 1] "
                                "summing to 1"),
    ("kernel_prob=1:0", "kernel_prob=1:0: expected 6 probabilities iso:aniso:"),
    ("kernel_range=12:21", "kernel_range=12:21: expected lo:hi with odd sizes"),
    ("final_sinc_kernel_range=9:7", "final_sinc_kernel_range=9:7: expected lo:hi with odd sizes"),
    ("blur_sigma=0:1", "blur_sigma=0:1: expected lo:hi with 0 < lo <= hi"),
    ("resize_range=1.1:1.5", "resize_range=1.1:1.5: expected lo:hi with 0 < lo <= 1 <= hi"),
    ("noise_range=abc", "noise_range=abc: expected lo:hi with 0 <= lo <= hi"),
    ("noise_range=1:inf", "noise_range=1:inf: expected"),
    ("noise_range=5", "noise_range=5: expected lo:hi"),
    ("sinc_prob=0.1:0.2", "sinc_prob=0.1:0.2: expected a probability in [0, 1]"),
    ("final_sinc_cutoff_range=1:4", "final_sinc_cutoff_range=1:4: expected lo:hi with 0 < lo <= hi <= pi"),
    ("min_side=0", "min_side=0: expected an integer >= 1"),
    ("clean_prob=1.2", "clean_prob=1.2: expected a probability in [0, 1]"),
])
def test_override_parser_refuses_bad_values(text, expected):
    with pytest.raises(ValueError) as error:
        RealDegradation.from_overrides(text)
    assert expected in str(error.value) and "\n" not in str(error.value)


def test_override_parser_and_to_dict():
    config = RealDegradation.from_overrides(" jpeg_range=40:90 , gaussian_noise_prob=0.3,kernel_range=7:21")
    assert config == RealDegradation(jpeg_range=(40, 90), gaussian_noise_prob=0.3, kernel_range=(7, 21))
    assert RealDegradation.from_overrides("") == RealDegradation.from_overrides(None) == RealDegradation()
    values = json.loads(json.dumps(config.to_dict()))
    assert values["jpeg_range"] == [40, 90] and values["shuffle_prob"] == 0.5
    assert RealDegradation.from_dict(values) == config
    del values["clean_prob"]  # stored before the field existed: its default
    assert RealDegradation.from_dict(values) == config
    with pytest.raises(ValueError, match=r"^unknown degradation field\(s\) blurr; expected some of: "):
        RealDegradation.from_dict({"blurr": 1})
    with pytest.raises(ValueError, match=r"^jpeg_range=90:40: expected"):
        RealDegradation.from_dict({"jpeg_range": [90, 40]})
    with pytest.raises(ValueError, match=r"^sinc_prob=2: expected a probability"):
        RealDegradation(sinc_prob=2)


def test_bessel_j1():
    known = {0.0: 0.0, 1.0: 0.4400505857449335, 5.0: -0.3275791375914652, 10.0: 0.04347274616886144,
             -3.0: -0.33905895852593644, 30.0: -0.11875106261662294}
    for x, value in known.items():
        assert abs(degradation.bessel_j1(x) - value) < 1e-7, x
    special = pytest.importorskip("scipy.special")
    x = np.linspace(-100, 100, 20001)
    np.testing.assert_allclose(degradation.bessel_j1(x), special.j1(x), rtol=0, atol=1e-7)


def test_train_flag_lists_every_degradation():
    script = "import train; from absl import flags; print(flags.FLAGS['degradation'].parser.enum_values)"
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == str(list(degradation.DEGRADATIONS))


def _degradation_flag_values(*argv):
    from absl import flags

    values = flags.FlagValues()
    flags.DEFINE_enum("degradation", "bicubic", list(degradation.DEGRADATIONS), "", flag_values=values)
    flags.DEFINE_string("degradation_params", None, "", flag_values=values)
    values(["prog", *argv])
    return values


def test_degradation_from_flags():
    """train.py's and evaluate.py's one reading of --degradation and --degradation_params."""
    from absl import app

    from dic_tf.cli.common_flags import degradation_from_flags

    assert degradation_from_flags(_degradation_flag_values()) is None
    assert degradation_from_flags(_degradation_flag_values("--degradation=real")) == RealDegradation()
    got = degradation_from_flags(_degradation_flag_values(
        "--degradation=real", "--degradation_params=jpeg_range=40:90,shuffle_prob=0"))
    assert got == RealDegradation(jpeg_range=(40, 90), shuffle_prob=0.0)
    with pytest.raises(app.UsageError, match=r"^--degradation_params applies to --degradation=real only\.$"):
        degradation_from_flags(_degradation_flag_values("--degradation_params=shuffle_prob=0"))
    with pytest.raises(app.UsageError, match=r"^--degradation_params=shuffle_prob=2: shuffle_prob=2: expected"):
        degradation_from_flags(_degradation_flag_values("--degradation=real", "--degradation_params=shuffle_prob=2"))


# ----------------------------------------------------------------- both pipelines


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory):
    return prepare_demo_data(str(tmp_path_factory.mktemp("demo")), 6, 3)


def _numpy(batch):
    return {k: v.numpy() for k, v in batch.items()}


def test_bicubic_batches_are_unchanged(demo_data):
    pytest.importorskip("tensorflow")
    from dic_tf.data import pipeline
    from tests.test_data_pipeline import _assert_batches_equal

    kwargs = dict(batch_size=2, training=True, augment=augment.HELEN, seed=3, epoch=1, repeat=False)
    today = list(pipeline.make_dataset(demo_data[0], **kwargs))
    for choice in (None, "bicubic"):
        for got, expected in zip(pipeline.make_dataset(demo_data[0], degradation=choice, **kwargs), today):
            _assert_batches_equal(got, _numpy(expected))
    py = pydataset.FacePyDataset(demo_data[0], degradation="bicubic", **kwargs)
    for index, expected in enumerate(today):
        _assert_batches_equal(expected, py[index])


def test_tf_data_and_pydataset_give_the_same_degraded_lr(demo_data):
    pytest.importorskip("tensorflow")
    from dic_tf.data import pipeline
    from tests.test_data_pipeline import _assert_batches_equal

    train, val = demo_data
    config = RealDegradation()
    kwargs = dict(batch_size=2, training=True, augment=augment.HELEN, seed=3, epoch=1)
    tf_batches = list(pipeline.make_dataset(train, degradation=config, repeat=False, **kwargs))
    py = pydataset.FacePyDataset(train, degradation=config, **kwargs)
    bicubic = pydataset.FacePyDataset(train, **kwargs)
    assert len(tf_batches) == len(py) == 3
    for index, tf_batch in enumerate(tf_batches):
        _assert_batches_equal(tf_batch, py[index])
        np.testing.assert_array_equal(tf_batch["hr"].numpy(), bicubic[index]["hr"])  # augmentation unchanged
        assert not np.array_equal(tf_batch["lr"].numpy(), bicubic[index]["lr"])
    resumed = next(iter(pipeline.make_dataset(train, degradation=config, skip_batches=1, **kwargs)))
    _assert_batches_equal(resumed, py[1])
    endless = pydataset.FacePyDataset(train, degradation=config, repeat=True, **kwargs)
    np.testing.assert_array_equal(endless[3]["lr"], pydataset.FacePyDataset(
        train, degradation=config, **{**kwargs, "epoch": 2})[0]["lr"])
    # Validation sets: degraded with the same rule, the same bytes at every validation.
    val_kwargs = dict(batch_size=3, training=False, degradation="real")
    first = pydataset.FacePyDataset(val, **val_kwargs)[0]
    _assert_batches_equal(next(iter(pipeline.make_dataset(val, **val_kwargs))), first)
    np.testing.assert_array_equal(pydataset.FacePyDataset(val, **val_kwargs)[0]["lr"], first["lr"])
    assert not np.array_equal(pydataset.FacePyDataset(val, batch_size=3, training=False)[0]["lr"], first["lr"])

