"""The package's shape: packages only at the top, small modules, each job in one place."""

import ast
import pathlib
import re

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "dic_tf"
MODULES = sorted(PACKAGE.rglob("*.py"))


def _files_matching(pattern):
    return sorted(str(p.relative_to(PACKAGE)) for p in MODULES if re.search(pattern, p.read_text()))


def test_the_top_level_holds_packages_only():
    loose = sorted(p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py")
    assert loose == []
    for folder in PACKAGE.iterdir():
        if folder.is_dir() and folder.name != "__pycache__":
            assert (folder / "__init__.py").is_file(), folder


def test_no_module_over_400_lines():
    long = {str(p.relative_to(PACKAGE)): n for p in MODULES if (n := len(p.read_text().splitlines())) > 400}
    assert long == {}


def test_pillow_bicubic_in_one_module():
    assert _files_matching(r"\bBICUBIC\b") == ["utils/resize.py"]


def test_the_backend_is_asked_in_one_module_and_branched_on_in_four():
    """`utils/backend.py` asks; data input, distribution, the compiled inference and the
    deconvolution's implementation branch (the rest only `require` a backend)."""
    assert _files_matching(r"keras\.backend\.backend\(\)|keras\.config\.backend\(\)") == ["utils/backend.py"]
    assert _files_matching(r"backend\.name\(\)") == [
        "data/inputs.py", "inference/function.py", "layers/conv_blocks.py", "training/distribution.py",
        "utils/backend.py",
    ]


def test_absl_flags_are_read_only_by_the_programs():
    assert [f for f in _files_matching(r"\bFLAGS\b|flags\.FLAGS") if not f.startswith("cli/")] == []


def _imported_modules(path):
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_utils_import_neither_tensorflow_nor_the_rest_of_dic_tf():
    for path in (PACKAGE / "utils").glob("*.py"):
        imported = _imported_modules(path)
        assert not {name for name in imported if name.split(".")[0] == "tensorflow"}, path
        inner = {name.split(".")[1] for name in imported if name.startswith("dic_tf.")}
        assert inner <= {"utils"}, (path, inner)


# The import order: a package imports only packages of a lower rank (and itself).
RANKS = {
    "utils": 0, "layers": 1, "models": 2, "convert": 3, "data": 4, "metrics": 4, "report": 4,
    "inference": 5, "training": 6, "evaluation": 6, "export": 6, "photos": 6, "benchmark": 7, "cli": 8,
}


def test_imports_go_one_way():
    assert sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()) == sorted(RANKS)
    upward = []
    for path in MODULES:
        parts = path.relative_to(PACKAGE).parts
        if len(parts) < 2 or (parts[0], parts[-1]) == ("benchmark", "__main__.py"):  # the program's shim
            continue
        for name in _imported_modules(path):
            target = name.split(".")[1] if name.startswith("dic_tf.") else None
            if target and target != parts[0] and RANKS[target] >= RANKS[parts[0]]:
                upward.append(f"{path.relative_to(PACKAGE)} -> {name}")
    assert upward == []
