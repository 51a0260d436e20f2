"""`dic_tf.models.saving.resolve`: which checkpoint a run folder, `<run>/best` or a checkpoint names."""

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
