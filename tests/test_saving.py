"""`dic_tf.models.saving`: which checkpoint a run folder, `<run>/best` or a checkpoint names, and its validation."""

import json
import os
import pathlib
import shutil

import pytest

from dic_tf.models import saving

RUN = pathlib.Path(__file__).resolve().parent / "fixtures" / "v2" / "run"


@pytest.fixture
def run(tmp_path):
    """The v2 run with a second, newer checkpoint: best (step 2) and latest (step 3) differ."""
    copy = tmp_path / "run"
    shutil.copytree(RUN, copy)
    checkpoints = copy / "checkpoints"
    shutil.copytree(checkpoints / "ckpt-00000002", checkpoints / "ckpt-00000003")
    return copy


def test_run_folder_is_its_latest_and_best_its_best(run):
    checkpoints = run / "checkpoints"
    assert saving.resolve(str(run)) == str(checkpoints / "ckpt-00000003")
    assert saving.resolve(str(checkpoints)) == str(checkpoints / "ckpt-00000003")
    assert saving.resolve(str(run / "best")) == str(checkpoints / "ckpt-00000002")
    assert saving.resolve(str(run / "best") + os.sep) == str(checkpoints / "ckpt-00000002")
    assert saving.resolve(str(checkpoints / "ckpt-00000003"), which="best") == str(checkpoints / "ckpt-00000003")


def test_best_of_a_run_without_best_json_is_one_clear_error(run):
    os.remove(run / "checkpoints" / saving.BEST_FILE)
    with pytest.raises(FileNotFoundError, match=r"run' has no best checkpoint \(checkpoints/best\.json\)"):
        saving.resolve(str(run / "best"))


def test_a_real_folder_named_best_keeps_its_meaning(run):
    best = run / "best"
    shutil.copytree(run / "checkpoints" / "ckpt-00000003", best)
    assert saving.split_best(str(best)) == (str(best), False)
    assert saving.resolve(str(best)) == str(best)
    assert saving.split_best("runs/dic/best") == ("runs/dic", True)


def _validations(run, *entries):
    with open(run / saving.METRICS_FILE, "w") as f:
        for step, psnr, bicubic in entries:
            f.write(json.dumps({"step": step, "psnr": psnr, "bicubic_psnr": bicubic, "num_images": 100}) + "\n")


def test_a_checkpoint_carries_the_validation_of_its_own_step(run, tmp_path):
    """The line of its step in the run's metrics.jsonl; none for an unvalidated or copied-out checkpoint."""
    checkpoints = run / "checkpoints"
    state_file = checkpoints / "ckpt-00000003" / saving.STATE_FILE
    state_file.write_text(json.dumps(dict(json.loads(state_file.read_text()), step=3)))
    assert saving.checkpoint_validation(str(run)) is None  # v2 runs wrote no metrics.jsonl here
    _validations(run, (2, 29.23, 29.64), (4, 30.0, 29.64))
    assert saving.checkpoint_validation(str(run / "best")) == {
        "step": 2, "psnr": 29.23, "bicubic_psnr": 29.64, "num_images": 100}
    assert saving.checkpoint_validation(str(run)) is None  # step 3 was checkpointed, not validated
    _validations(run, (2, 29.0, 29.64), (2, 29.9, 29.64))
    with open(run / saving.METRICS_FILE, "a") as f:
        f.write('{"step": 3, "psnr": 2')  # a run killed while appending
    assert saving.checkpoint_validation(str(run / "best"))["psnr"] == 29.9  # the newest line of the step
    copied = tmp_path / "elsewhere" / "ckpt-00000002"
    shutil.copytree(checkpoints / "ckpt-00000002", copied)
    assert saving.checkpoint_validation(str(copied)) is None


def test_read_metrics_passes_over_a_torn_last_line_and_names_a_bad_one_before_it(tmp_path):
    """A run killed while appending leaves a cut last line: the records before it are read."""
    path = tmp_path / saving.METRICS_FILE
    assert saving.read_metrics(str(path)) == []
    path.write_text('{"step": 2, "psnr": 29.0}\n\n{"step": 4, "psnr": 30.0}\n{"step": 6, "ps')
    assert saving.read_metrics(str(path)) == [{"step": 2, "psnr": 29.0}, {"step": 4, "psnr": 30.0}]
    path.write_text('{"step": 2, "psnr": 29.0}\n{"step": 4, "ps\n{"step": 6, "psnr": 31.0}\n')
    with pytest.raises(ValueError, match=r"metrics\.jsonl, line 2: not a JSON validation record"):
        saving.read_metrics(str(path))
