"""Bad invocations of every entry point: one line on stderr, non-zero exit, nothing touched.

Each case runs the entry point as a user would (a subprocess in a scratch
tree) and checks: exit status != 0, exactly one line on stderr naming the
flag or file, no traceback, and no file of the scratch tree changed, created
or removed outside the output folder `out/` (hashed before and after). Most
cases fail before TensorFlow is imported; the rest before any model is built.
"""

import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

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
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CONFIG", "DIC_TF_TF_LOGS")}
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, script), *(a.format(s=scratch) for a in args)],
        capture_output=True, text=True, timeout=600, cwd=scratch, env=env,
    )
    lines = result.stderr.splitlines()
    assert result.returncode != 0
    assert len(lines) == 1, result.stderr[-3000:]
    assert lines[0].startswith(f"{script}: error: ") and expected.format(s=scratch) in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert _hashes(scratch) == before
