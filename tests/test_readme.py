"""The README's first commands are what CI runs and what the demo uses."""

import pathlib
import re
import subprocess
import sys

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
    assert tests == "python -m pytest -q tests"


def test_ci_runs_the_readme_test_command_and_fails_on_no_tests():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert _first_commands()[1] in ci
    assert any("requirements.txt" in line and "requirements-dev.txt" in line for line in ci)
    assert any('"$status" -eq 5' in line for line in ci)


@pytest.mark.parametrize("flagfile", sorted(p.name for p in (ROOT / "configs").glob("*.flags")))
def test_flagfiles_parse(flagfile):
    """Every flagfile names existing train.py flags with valid values."""
    script = (
        "import sys, train; from absl import flags; "
        f"flags.FLAGS(['train.py', '--flagfile=configs/{flagfile}']); print('ok')"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-2000:]
