"""The installable package: its public API, import cost, subpackages and commands."""

import ast
import os
import pathlib
import subprocess
import sys

import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_import_dic_tf_exposes_the_api_quietly():
    """`import dic_tf` gives the public API and hides TensorFlow's C++ start-up lines."""
    script = (
        "import dic_tf; "
        "import numpy as np; "
        "m = dic_tf.build_dic(dic_tf.DICConfig.tiny()); "
        "out = m(np.zeros((1, 16, 16, 3), 'float32') - np.asarray(dic_tf.RGB_MEAN, 'float32')); "
        "assert tuple(out['sr'][-1].shape) == (1, 128, 128, 3); "
        "assert isinstance(m, dic_tf.DIC); "
        "[getattr(dic_tf, n) for n in ('load_official_weights', 'build_stacked_hourglass', "
        "'build_feedback_hourglass', 'build_lightcnn')]; print('ok')"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "DIC_TF_TF_LOGS")}
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True, timeout=300, env=env)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-3000:]
    assert "oneDNN" not in result.stderr and "cpu_feature_guard" not in result.stderr, result.stderr


def test_import_dic_tf_on_jax_does_not_import_tensorflow():
    script = "import sys, dic_tf; assert 'tensorflow' not in sys.modules, 'tensorflow'; print('ok')"
    env = dict(os.environ, KERAS_BACKEND="jax")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True, timeout=300, env=env)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-3000:]


def test_pyproject_ships_every_subpackage_and_the_five_commands():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = project["tool"]["setuptools"]["packages"]["find"]["include"]
    assert include == ["dic_tf", "dic_tf.*"]
    assert {"tensorflow", "keras", "numpy", "pillow", "absl-py"} <= {
        d.split(">")[0].split("<")[0].split("=")[0] for d in project["project"]["dependencies"]}
    assert "torch" in project["project"]["optional-dependencies"]
    scripts = project["project"]["scripts"]
    assert sorted(scripts) == ["dic-tf-evaluate", "dic-tf-export", "dic-tf-predict",
                               "dic-tf-prepare-data", "dic-tf-train"]
    for target in scripts.values():  # each module defines flags: read, not imported together
        module, function = target.split(":")
        tree = ast.parse((ROOT / (module.replace(".", "/") + ".py")).read_text())
        assert function in {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}, target
    for name in ("train", "evaluate", "export", "predict", "prepare_data"):
        shim = (ROOT / f"{name}.py").read_text()
        assert f"from dic_tf.cli.{name} import main" in shim


def test_no_package_index_host_in_the_repository():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout
    for name in tracked.split():
        path = ROOT / name
        if path.suffix in {".py", ".txt", ".md", ".toml", ".flags", ".cfg", ""} and path.is_file():
            text = path.read_text(errors="ignore")
            # pip's index options, spelled in parts so that this file does not name them.
            for option in ("index", "extra-index"):
                assert f"--{option}-" + "url" not in text, name


def test_import_dic_tf_leaves_tensorflows_runtime_unstarted():
    """Threads and collective ops (`--inter_op_threads`, `--strategy=multi_worker`) are set after the import."""
    script = ("import dic_tf, tensorflow as tf; tf.config.threading.set_inter_op_parallelism_threads(1); "
              "tf.config.experimental.enable_op_determinism(); print('ok')")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-3000:]
