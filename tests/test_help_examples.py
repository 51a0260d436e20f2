"""Every command example of every program's `--help` runs when pasted, on the README's demo paths.

The examples are read from the programs' module docstrings (what `--help`
prints first, `dic_tf.cli.runner`), backslash continuations joined. Each runs
in a workspace laid out like a checkout after the README's demo (train.py,
configs/, scripts/, docs/ linked; runs/demo_test written by
scripts/make_demo_data.py), after the examples whose outputs it reads
(runs/demo, saved_models/demo, ...), with tiny sizes appended where a flag
allows (`TINY`). An example that cannot run here is listed in `SKIPPED` with
its reason; a new example runs unless it is listed there.
"""

import ast
import os
import shlex
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROGRAMS = ("train", "prepare_data", "export", "predict", "evaluate", "benchmark")
"""In an order where an example's inputs come from earlier programs' examples."""

LINKED = ("train.py", "evaluate.py", "predict.py", "export.py", "prepare_data.py", "configs", "scripts", "docs",
          "tests")
OUTPUT_FLAGS = ("output_dir", "export_dir", "save_lr_dir", "json_out")
DEMO_RUN = "runs/demo"
"""The train_dir of configs/demo.flags."""

_PAPER_DATA = "needs CelebA prepared by prepare_data.py into data/celeba (its images, the authors' annotations)"
SKIPPED = {
    "--flagfile=configs/hg_pretrain.flags": _PAPER_DATA,
    "--flagfile=configs/x8.flags": _PAPER_DATA + " and the authors' models/FB_HG_68_CelebA.pth",
    "--flagfile=configs/x8_gan.flags": _PAPER_DATA + ", a DIC run and the authors' models/LightCNN_feature.pth",
    "--flagfile=configs/hg_eval.flags": _PAPER_DATA,
    "--annotations=new_val_info_list.pkl --output_dir": "needs the CelebA images and the authors' annotations",
    "--annotations=test_info_list_68.pkl": "needs the Helen images and the authors' annotations",
    "evaluate.py --pytorch_checkpoint=models/DIC_CelebA.pth": "needs the authors' DIC_CelebA.pth, PyTorch and "
                                                              "CelebA's test folders",
    "export.py --pytorch_checkpoint=models/DIC_CelebA.pth": "needs the authors' DIC_CelebA.pth and PyTorch",
    "predict.py --pytorch_checkpoint=models/DIC_CelebA.pth": "needs the authors' DIC_CelebA.pth and PyTorch",
}
"""A substring naming exactly one example -> why it is not run here."""

_TINY_BENCHMARK = ["--config=tiny", "--batch_sizes=1", "--repeats=1", "--noprogress"]
TINY = {
    "--flagfile=configs/demo.flags": ["--demo_train_faces=16", "--demo_val_faces=4", "--num_train_steps=2",
                                      "--val_every=2", "--checkpoint_every=2", "--noprogress"],
    "--backend=tensorflow": [*_TINY_BENCHMARK, "--train_batch_sizes="],
    "--backend=jax": [*_TINY_BENCHMARK, "--train_batch_sizes="],
}
"""A substring naming exactly one example -> flags appended (later flags win)."""


def help_text(program):
    """The docstring `python <program>.py --help` prints first (as Python evaluates it)."""
    with open(os.path.join(REPO, "dic_tf", "cli", f"{program}.py"), encoding="utf-8") as f:
        return ast.get_docstring(ast.parse(f.read()), clean=False)


def examples(text):
    """The command lines of a help text, continuations joined, comments kept."""
    commands, pending = [], None
    for line in text.splitlines():
        stripped = line.strip()
        if pending is not None:
            pending += " " + stripped.rstrip("\\").strip()
        elif stripped.startswith("python ") or (stripped.split(" ")[0].count("=") == 1
                                                and " python " in stripped and stripped[0].isupper()):
            pending = stripped.rstrip("\\").strip()
        else:
            continue
        if not stripped.endswith("\\"):
            commands.append(pending)
            pending = None
    assert pending is None, f"a continuation runs off the end of the help text: {pending!r}"
    return commands


ALL = [(program, command) for program in PROGRAMS for command in examples(help_text(program))]


def _one(table, command):
    keys = [key for key in table if key in command]
    assert len(keys) <= 1, f"{command!r} matches several keys: {keys}"
    return keys[0] if keys else None


def _arguments(command):
    """(environment variables, argv) of a pasted command."""
    words = shlex.split(command, comments=True)
    env = {}
    while "=" in words[0] and not words[0].startswith("-"):
        name, value = words.pop(0).split("=", 1)
        env[name] = value
    assert words[0] == "python", command
    key = _one(TINY, command)
    return env, [sys.executable, *words[1:], *(TINY[key] if key else [])]


def _flag_paths(command):
    """{flag name: value} of the --flag=value words of a command."""
    words = shlex.split(command, comments=True)
    return dict(word[2:].split("=", 1) for word in words if word.startswith("--") and "=" in word)


def _outputs(command):
    paths = [value for name, value in _flag_paths(command).items() if name in OUTPUT_FLAGS]
    return paths + ([DEMO_RUN] if "--flagfile=configs/demo.flags" in command else [])


def _inside(path, folder):
    return os.path.normpath(path).split(os.sep)[: len(folder.split("/"))] == folder.split("/")


def _producers(command):
    """The examples writing a runs/ or saved_models/ path that `command` reads."""
    own = _outputs(command)
    reads = [value for name, value in _flag_paths(command).items()
             if name not in OUTPUT_FLAGS and value.startswith(("runs/", "saved_models/"))]
    if "--flagfile=configs/demo.flags" not in command and any(_inside(p, DEMO_RUN) for p in reads):
        reads.append(DEMO_RUN)
    found = []
    for _, other in ALL:
        if other != command and any(_inside(path, out) for path in reads for out in _outputs(other)
                                    if out not in own):
            found.append(other)
    return found


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A folder laid out like a checkout after `python scripts/make_demo_data.py --output_dir=runs/demo_test`."""
    root = tmp_path_factory.mktemp("checkout")
    for name in LINKED:
        os.symlink(os.path.join(REPO, name), root / name)
    result = subprocess.run([sys.executable, "scripts/make_demo_data.py", "--output_dir=runs/demo_test",
                             "--num_faces=3"], cwd=root, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return {"root": root, "results": {}}


def run_example(workspace, command):
    """Runs `command` (once) in the workspace, after the examples it reads from."""
    results = workspace["results"]
    if command not in results:
        for producer in _producers(command):
            previous = run_example(workspace, producer)
            assert previous.returncode == 0, f"{producer!r} failed:\n{previous.stderr[-3000:]}"
        env, argv = _arguments(command)
        environment = dict(os.environ, PYTHONPATH=REPO, **env)
        results[command] = subprocess.run(argv, cwd=workspace["root"], env=environment, capture_output=True,
                                          text=True, timeout=600)
    return results[command]


# One xdist worker runs the module: the examples share one workspace.
pytestmark = pytest.mark.xdist_group("help_examples")


def test_every_program_has_examples_and_no_collapsed_continuation():
    for program in PROGRAMS:
        commands = examples(help_text(program))
        assert commands, f"{program}.py --help shows no example"
        for command in commands:
            pasted = command.split("#")[0].rstrip()
            assert "   " not in pasted, f"{program}.py --help: collapsed continuation in {command!r}"
            assert "runs/dic/" not in command and "[--" not in command, command
    assert any("--photos" in command for program, command in ALL if program == "predict")


def test_skip_and_tiny_keys_name_one_example_each():
    for table in (SKIPPED, TINY):
        for key in table:
            matching = [command for _, command in ALL if key in command]
            assert len(matching) == 1, f"{key!r} names {len(matching)} examples: {matching}"


def test_the_photos_extra_has_one_install_line():
    for program in PROGRAMS:
        text = help_text(program)
        assert "pip install mtcnn" not in text
        if "pip install" in text:
            assert 'pip install ".[photos]"' in text


@pytest.mark.parametrize("program, command", ALL, ids=[f"{p}-{i}" for i, (p, _) in enumerate(ALL)])
def test_example_runs(workspace, program, command):
    skipped = _one(SKIPPED, command)
    if skipped:
        pytest.skip(f"{program}.py example not run: {SKIPPED[skipped]}")
    result = run_example(workspace, command)
    assert result.returncode == 0, f"{command}\n{result.stderr[-3000:]}"
    for output in _outputs(command):
        assert os.path.exists(workspace["root"] / output), f"{command} wrote no {output}"
