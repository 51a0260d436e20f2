"""The README's first commands are what CI runs and what the demo uses."""

import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _first_commands():
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", text, re.S).group(1)
    return [line.strip() for line in block.splitlines() if line.strip()]


def test_readme_starts_with_the_demo_and_the_test_command():
    demo, tests = _first_commands()[:2]
    assert demo.endswith("python train.py --flagfile=configs/demo.flags")
    assert "pip install -r requirements.txt -r requirements-dev.txt" in demo
    assert tests == 'python -m pytest -q -n 2 --dist loadgroup -m "not slow" tests'


def test_ci_runs_the_readme_test_command_and_fails_on_no_tests():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert _first_commands()[1] in ci
    assert any("requirements.txt" in line and "requirements-dev.txt" in line for line in ci)
    assert any('"$status" -eq 5' in line for line in ci)


@pytest.mark.parametrize("flagfile", sorted(p.name for p in (ROOT / "configs").glob("*.flags")))
def test_flagfiles_parse(flagfile):
    """Every flagfile names existing train.py flags with valid values (its degradation too)."""
    script = (
        "import sys, train; from absl import flags; from dic_tf.cli.common_flags import degradation_from_flags; "
        f"flags.FLAGS(['train.py', '--flagfile=configs/{flagfile}']); "
        "degradation_from_flags(flags.FLAGS); print('ok')"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-2000:]


def test_train_from_python_example_runs(tmp_path, monkeypatch):
    """The README's compile/fit example, on a small demo set and fewer steps."""
    from dic_tf.data.demo import prepare_demo_data
    from dic_tf.models import build_dic
    from dic_tf.models.dic_config import DICConfig

    text = (ROOT / "README.md").read_text()
    section = text[text.index("### Train from Python"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    train, _ = prepare_demo_data(str(tmp_path / "demo_data"), 16, 2)
    for old, new in (('"runs/demo/demo_data/train"', repr(train)), ("epochs=4", "epochs=2"),
                     ("steps_per_epoch=100", "steps_per_epoch=3")):
        assert old in code, old
        code = code.replace(old, new)
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)
    history = namespace["task"].history.history
    assert len(history["loss"]) == 2 and all(np.isfinite(history["loss"]))
    assert {"pixel", "heatmap", "pixel_0", "heatmap_0"} <= set(history)
    assert int(namespace["task"].optimizer.iterations) == 6
    loaded = build_dic(DICConfig.tiny())
    loaded.load_weights(str(tmp_path / "dic.weights.h5"))
    assert (tmp_path / "runs" / "notebook" / "logs").is_dir()
