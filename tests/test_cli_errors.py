"""Bad invocations of every entry point: one line on stderr, non-zero exit, nothing touched.

Each case runs the entry point as a user would (a subprocess in a scratch
tree) and checks: exit status != 0, exactly one line on stderr naming the
flag or file, no traceback, and no file of the scratch tree changed, created
or removed outside the output folder `out/` (hashed before and after). Most
cases fail before TensorFlow is imported; the rest before any model is built.
Every program takes the common flags (`--noprogress`, the thread flags) and
the same model-source flags and errors (`dic_tf.cli.common_flags`).
"""

import hashlib
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from absl import flags
from PIL import Image

from dic_tf.cli import common_flags

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCHMARK = "python -m dic_tf.benchmark"
COMMON = ["--noprogress", "--inter_op_threads=2", "--intra_op_threads=1"]

# (entry point, arguments with {s} = scratch tree, text the line must contain)
CASES = [
    ("train.py", ["--train_dir={s}/out", "--demo_data", "--batch_size=0"], "--batch_size=0"),
    ("train.py", ["--train_dir={s}/out", "--demo_data", "--val_every=0"], "--val_every=0"),
    ("train.py", ["--train_dir={s}/out", "--demo_data", "--init_checkpoint={s}/user"],
     "--init_checkpoint applies to --mode=dicgan"),
    ("train.py", ["--train_dir={s}/out", "--demo_data", "--feature_extractor={s}/user/a.txt"],
     "--feature_extractor applies to --mode=dicgan"),
    ("train.py", ["--train_dir={s}/out", "--demo_data", "--mode=dicgan",
                  "--feature_extractor={s}/user/a.txt", "--release_hourglass_step=10"],
     "--release_hourglass_step applies to --mode=dic"),
    ("train.py", ["--train_dir={s}/out", "--demo_data", "--mode=hg_eval", "--num_features=8"],
     "--num_features"),
    ("train.py", ["--demo_data"], "--train_dir"),
    ("train.py", ["--train_dir={s}/out", "--train_data={s}/missing"], "--train_data={s}/missing"),
    ("train.py", ["--train_dir={s}/out", "--demo_data", "--strategy=multi_worker"], "TF_CONFIG"),
    ("train.py", ["--train_dir={s}/out", "--demo_data", "--batch_sise=4"], "batch_sise"),
    ("train.py", ["--train_dir={s}/out", "--demo_data", "--degradation_params=jpeg_range=40:90"],
     "--degradation_params applies to --degradation=real only"),
    ("train.py", ["--train_dir={s}/out", "--demo_data", "--degradation=real",
                  "--degradation_params=jpeg_range=90:40"],
     "--degradation_params=jpeg_range=90:40: jpeg_range=90:40: expected lo:hi with JPEG qualities"),
    ("train.py", ["--train_dir={s}/out", "--demo_data", "--degradation=real",
                  "--degradation_params=jpeg=50"], "unknown field 'jpeg'"),
    ("train.py", ["--train_dir={s}/out", "--demo_data", "--mode=hg_pretrain", "--degradation=real"],
     "--degradation applies to --mode=dic/dicgan only, not --mode=hg_pretrain"),
    ("train.py", ["--train_dir={s}/out", "--demo_data", "--degradation=sharp"], "--degradation"),
    ("evaluate.py", ["--saved_model={s}/missing", "--hr_dir={s}/faces", "--output_dir={s}/out"],
     "--saved_model={s}/missing"),
    ("evaluate.py", ["--checkpoint={s}/missing", "--hr_dir={s}/faces", "--output_dir={s}/out"],
     "--checkpoint={s}/missing"),
    ("evaluate.py", ["--sr_dir={s}/faces", "--hr_dir={s}/faces", "--output_dir={s}/out",
                     "--report_dir={s}/out/r"], "--report_dir applies to model mode"),
    ("evaluate.py", ["--checkpoint={s}/ckpt", "--hr_dir={s}/faces", "--output_dir={s}/out",
                     "--report_dir={s}/user"], "not an earlier dic_tf report"),
    ("evaluate.py", ["--sr_dir={s}/faces", "--hr_dir={s}/faces", "--output_dir={s}/out",
                     "--degradation=real"], "--degradation applies to model mode"),
    ("evaluate.py", ["--sr_dir={s}/faces", "--hr_dir={s}/faces", "--output_dir={s}/out",
                     "--save_lr_dir={s}/out/lr"], "--save_lr_dir applies to model mode"),
    ("evaluate.py", ["--checkpoint={s}/ckpt", "--hr_dir={s}/faces", "--lr_dir={s}/faces",
                     "--output_dir={s}/out", "--degradation=real"],
     "--degradation describes how the LR is made from --hr_dir; with --lr_dir"),
    ("evaluate.py", ["--checkpoint={s}/ckpt", "--hr_dir={s}/faces", "--lr_dir={s}/faces",
                     "--output_dir={s}/out", "--degradation_seed=1"],
     "--degradation_seed describes how the LR is made"),
    ("evaluate.py", ["--checkpoint={s}/ckpt", "--hr_dir={s}/faces", "--lr_dir={s}/faces",
                     "--output_dir={s}/out", "--degradation_params=x"],
     "--degradation_params describes how the LR is made"),
    ("evaluate.py", ["--checkpoint={s}/ckpt", "--hr_dir={s}/faces", "--output_dir={s}/out",
                     "--degradation_seed=1"], "--degradation_seed applies to --degradation=real only"),
    ("evaluate.py", ["--checkpoint={s}/ckpt", "--hr_dir={s}/faces", "--output_dir={s}/out",
                     "--degradation=bicubic", "--degradation_params=x"],
     "--degradation_params applies to --degradation=real only"),
    ("evaluate.py", ["--checkpoint={s}/ckpt", "--hr_dir={s}/faces", "--output_dir={s}/out",
                     "--degradation=real", "--degradation_params=no_such_field=1"],
     "--degradation_params=no_such_field=1: "),
    ("evaluate.py", ["--checkpoint={s}/ckpt", "--hr_dir={s}/faces", "--output_dir={s}/out",
                     "--degradation=sharp"], "--degradation"),
    ("evaluate.py", ["--checkpoint={s}/ckpt", "--hr_dir={s}/faces", "--lr_dir={s}/faces",
                     "--output_dir={s}/out", "--save_lr_dir={s}/out/lr"],
     "--save_lr_dir saves the LR made from --hr_dir; with --lr_dir"),
    ("evaluate.py", ["--checkpoint={s}/ckpt", "--hr_dir={s}/faces", "--output_dir={s}/out",
                     "--save_lr_dir={s}/user"], "--save_lr_dir={s}/user exists and is not empty"),
    ("evaluate.py", ["--checkpoint={s}/ckpt", "--hr_dir={s}/faces", "--output_dir={s}/out",
                     "--save_lr_dir={s}/user/a.txt"], "--save_lr_dir={s}/user/a.txt exists and is not a folder"),
    ("evaluate.py", ["--checkpoint={s}/ckpt", "--hr_dir={s}/faces", "--output_dir={s}/out",
                     "--save_lr_dir={s}/out/report/lr"], "is inside the report folder"),
    ("evaluate.py", ["--checkpoint={s}/ckpt", "--hr_dir={s}/faces", "--output_dir={s}/out",
                     "--report_dir={s}/rep", "--save_lr_dir={s}/rep"], "is inside the report folder"),
    ("evaluate.py", ["--checkpoint={s}/ckpt", "--hr_dir={s}/faces", "--output_dir={s}/out",
                     "--save_lr_dir={s}/out/sr"], "--output_dir or one of its sr/"),
    ("export.py", ["--checkpoint={s}/ckpt", "--export_dir={s}/out", "--tflite=int4"], "--tflite=int4"),
    ("export.py", ["--checkpoint={s}/ckpt", "--export_dir={s}/out", "--lr_size=12"], "--lr_size=12"),
    ("export.py", ["--checkpoint={s}/missing", "--export_dir={s}/out"], "--checkpoint={s}/missing"),
    ("export.py", ["--checkpoint={s}/ckpt", "--export_dir={s}/out", "--config=tiny"], "--config"),
    ("predict.py", ["--saved_model={s}/missing", "--input={s}/faces", "--output_dir={s}/out"],
     "--saved_model={s}/missing"),
    ("predict.py", ["--checkpoint={s}/ckpt", "--input={s}/faces", "--output_dir={s}/out",
                    "--lr_size=12"], "--lr_size=12"),
    ("predict.py", ["--checkpoint={s}/ckpt", "--input={s}/faces", "--output_dir={s}/faces"],
     "would overwrite the input"),
    ("prepare_data.py", ["--images_dir={s}/missing", "--output_dir={s}/out"], "--images_dir={s}/missing"),
    ("prepare_data.py", ["--images_dir={s}/faces", "--output_dir={s}/out", "--hr_size=100"],
     "--hr_size=100"),
    (BENCHMARK, ["--batch_sizes=1,0"], "--batch_sizes=1,0: expected integers >= 1"),
    (BENCHMARK, ["--remat=blocks,sometimes"], "--remat=sometimes: expected modes among none, blocks"),
    (BENCHMARK, ["--data=sharp"], "--data=sharp: expected degradations among bicubic, real"),
    (BENCHMARK, ["--data=real", "--data_dir={s}/missing"], "--data_dir={s}/missing: no such folder"),
    (BENCHMARK, ["--repeats=0"], "--repeats=0"),
    (BENCHMARK, ["--photo={s}/missing.jpg"], "--photo={s}/missing.jpg: no such file"),
    (BENCHMARK, ["--photo_upscale=4"], "--photo_upscale applies to the photos row: give --photo"),
    # The common flags: every program takes them (the error is the one after them).
    ("train.py", ["--train_dir={s}/out", "--demo_data", *COMMON, "--batch_size=0"], "--batch_size=0"),
    ("evaluate.py", ["--saved_model={s}/missing", "--hr_dir={s}/faces", "--output_dir={s}/out", *COMMON],
     "--saved_model={s}/missing: no such folder"),
    ("predict.py", ["--saved_model={s}/missing", "--input={s}/faces", "--output_dir={s}/out", *COMMON],
     "--saved_model={s}/missing: no such folder"),
    ("export.py", ["--checkpoint={s}/missing", "--export_dir={s}/out", *COMMON],
     "--checkpoint={s}/missing: no such folder"),
    ("prepare_data.py", ["--images_dir={s}/missing", "--output_dir={s}/out", *COMMON], "--images_dir={s}/missing"),
    (BENCHMARK, [*COMMON, "--batch_sizes=x"], "--batch_sizes=x"),
    ("predict.py", ["--saved_model={s}/missing", "--input={s}/faces", "--output_dir={s}/out",
                    "--intra_op_threads=0"], "--intra_op_threads=0"),
    ("train.py", ["--train_dir={s}/out", "--demo_data", "--deterministic", "--inter_op_threads=2"],
     "--inter_op_threads=2: --deterministic runs one op at a time"),
    # The model-source flags: one definition, one check, the same errors.
    ("evaluate.py", ["--hr_dir={s}/faces", "--output_dir={s}/out"],
     "Give exactly one of --sr_dir, --checkpoint, --saved_model or --pytorch_checkpoint; got none."),
    ("evaluate.py", ["--checkpoint={s}/ckpt", "--saved_model={s}/ckpt", "--hr_dir={s}/faces",
                     "--output_dir={s}/out"], "got --checkpoint, --saved_model."),
    ("evaluate.py", ["--checkpoint={s}/missing/best", "--hr_dir={s}/faces", "--output_dir={s}/out"],
     "--checkpoint={s}/missing/best: no such folder."),
    ("evaluate.py", ["--sr_dir={s}/faces", "--hr_dir={s}/faces", "--output_dir={s}/out", "--config=tiny"],
     "--config describes an official checkpoint's architecture (--pytorch_checkpoint); --sr_dir does"),
    ("predict.py", ["--input={s}/faces", "--output_dir={s}/out"],
     "Give exactly one of --checkpoint, --saved_model or --pytorch_checkpoint; got none."),
    ("predict.py", ["--pytorch_checkpoint={s}/missing.pth", "--input={s}/faces", "--output_dir={s}/out"],
     "--pytorch_checkpoint={s}/missing.pth: no such file."),
    ("predict.py", ["--checkpoint={s}/ckpt", "--num_steps=2", "--input={s}/faces", "--output_dir={s}/out"],
     "--num_steps describes an official checkpoint's architecture (--pytorch_checkpoint); --checkpoint"),
    ("predict.py", ["--checkpoint={s}/ckpt/best", "--input={s}/faces", "--output_dir={s}/out"],
     "{s}/ckpt' has no best checkpoint (checkpoints/best.json)."),
    ("export.py", ["--checkpoint={s}/ckpt", "--pytorch_checkpoint={s}/user/a.txt", "--export_dir={s}/out"],
     "Give exactly one of --checkpoint or --pytorch_checkpoint; got --checkpoint, --pytorch_checkpoint."),
    ("export.py", ["--saved_model={s}/ckpt", "--export_dir={s}/out"], "saved_model"),
    ("export.py", ["--checkpoint={s}/ckpt/best", "--export_dir={s}/out"],
     "{s}/ckpt' has no best checkpoint (checkpoints/best.json)."),
    ("export.py", ["--pytorch_checkpoint={s}/user/a.txt", "--num_keypoints=5", "--export_dir={s}/out"],
     "DICConfig.num_keypoints=5"),
]


def _hashes(tree):
    """{relative path: sha256} of every file under `tree` except the output folder."""
    found = {}
    for folder, dirs, names in os.walk(tree):
        if os.path.relpath(folder, tree) == ".":
            dirs[:] = [d for d in dirs if d != "out"]
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                found[os.path.relpath(path, tree)] = hashlib.sha256(f.read()).hexdigest()
    return found


def _run(script, args, cwd, **env):
    """`script` (a top-level script, or `BENCHMARK`) with `args`, as a user runs it."""
    command = ["-m", script.split()[-1]] if script == BENCHMARK else [os.path.join(ROOT, script)]
    environment = {k: v for k, v in os.environ.items() if k not in ("TF_CONFIG", "DIC_TF_TF_LOGS")}
    environment.update(PYTHONPATH=ROOT, **env)
    return subprocess.run([sys.executable, *command, *args], capture_output=True, text=True, timeout=600,
                          cwd=cwd, env=environment)


@pytest.fixture
def scratch(tmp_path):
    """faces/a.png, ckpt/ (an empty folder), user/a.txt (a user's files)."""
    (tmp_path / "faces").mkdir()
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tmp_path / "faces" / "a.png")
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / "a.txt").write_text("the user's")
    return tmp_path


@pytest.mark.parametrize("script, args, expected", CASES,
                         ids=[f"{c[0]}:{' '.join(a for a in c[1] if '{s}' not in a) or c[2]}"
                              for c in CASES])
def test_bad_invocation_is_one_line_and_touches_nothing(scratch, script, args, expected):
    before = _hashes(scratch)
    result = _run(script, [a.format(s=scratch) for a in args], scratch)
    lines = result.stderr.splitlines()
    assert result.returncode != 0
    assert len(lines) == 1, result.stderr[-3000:]
    assert lines[0].startswith(f"{script}: error: ") and expected.format(s=scratch) in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert _hashes(scratch) == before


def test_thread_flags_are_refused_on_jax(scratch):
    """The thread flags size TensorFlow's pools: the JAX backend refuses them in one line."""
    pytest.importorskip("jax")
    before = _hashes(scratch)
    result = _run("predict.py", ["--saved_model=" + str(scratch / "ckpt"), f"--input={scratch}/faces",
                                 f"--output_dir={scratch}/out", "--intra_op_threads=1"], scratch, KERAS_BACKEND="jax")
    assert result.returncode == 1 and result.stderr.splitlines() == [
        "predict.py: error: --intra_op_threads (the size of TensorFlow's thread pools) needs the tensorflow "
        "Keras backend, but Keras runs on jax: run with KERAS_BACKEND=tensorflow."], result.stderr[-3000:]
    assert _hashes(scratch) == before


def test_thread_flags_reach_tensorflow_and_the_processes_it_starts(monkeypatch):
    """`apply_thread_flags` sets the variables TensorFlow reads at its first op (also in the benchmark's rows)."""
    values = flags.FlagValues()
    common_flags.define_common_flags(values)
    values(["prog", "--inter_op_threads=3"])
    for env in common_flags.THREAD_ENV.values():
        monkeypatch.delenv(env, raising=False)
    common_flags.apply_thread_flags(values)
    assert os.environ["TF_NUM_INTEROP_THREADS"] == "3" and "TF_NUM_INTRAOP_THREADS" not in os.environ
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(ValueError, match=r"^--inter_op_threads \(the size of TensorFlow's thread pools\) needs the "):
        common_flags.apply_thread_flags(values)
