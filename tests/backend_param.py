"""The `backend` test parameter: one test function, run under TensorFlow and under JAX.

A test that takes a `backend` argument is collected once per name in
`BACKENDS`. Keras picks its backend once per process, so the session runs
the body of the cases of its own backend (`KERAS_BACKEND`, TensorFlow by
default) and, for the other backend, runs every such case of the session in
ONE child pytest with `KERAS_BACKEND` set; each case then reports the child's
outcome (and the errors it recorded with `record_error`) under its own id.

Example:
    def test_matches_reference(backend, record_error):
        assert run_parity_check() <= TOLERANCE   # in-process or in the child

    pytest tests/test_model_parity.py -k "jax"   # the JAX cases, one child
"""

import json
import os
import subprocess
import sys
import tempfile

import pytest

BACKENDS = ("tensorflow", "jax")
CHILD_TIMEOUT_S = 1800
_CHILD_REPORT_ENV = "DIC_TF_BACKEND_CHILD_REPORT"
_GROUP_PREFIX = "backend-"
_child_outcomes = {}  # parent: backend -> {nodeid: outcome}, one child run per backend
_reports = {}  # child: {nodeid: outcome}, written to the parent's file at the end


def pytest_generate_tests(metafunc):
    # Under pytest-xdist (`--dist loadgroup`) every case of one backend goes to one
    # worker, so that its child pytest runs once, not once per worker.
    if "backend" in metafunc.fixturenames:
        native = _native_backend()
        metafunc.parametrize("backend", [
            name if name == native else pytest.param(name, marks=pytest.mark.xdist_group(
                f"{_GROUP_PREFIX}{name}")) for name in BACKENDS])


def _nodeid(item):
    """The item's id without the `@group` suffix xdist adds (the child has no groups)."""
    return item.nodeid.split(f"@{_GROUP_PREFIX}")[0]


def _native_backend():
    import keras

    return keras.backend.backend()


def _case_backend(item):
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("backend") if callspec else None


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    backend = _case_backend(pyfuncitem)
    if backend is None or backend == _native_backend():
        return None
    if os.environ.get(_CHILD_REPORT_ENV):
        pytest.skip(f"the parent session runs the {backend} cases")
    outcome = _outcomes(pyfuncitem.session, backend).get(_nodeid(pyfuncitem))
    if outcome is None:
        pytest.fail(f"the KERAS_BACKEND={backend} child did not run {pyfuncitem.nodeid}",
                    pytrace=False)
    record = pyfuncitem.funcargs.get("record_error")
    for what, value, tolerance in outcome["measured"] if record else ():
        record(f"{backend}:{what}", value, tolerance)
    if outcome["outcome"] == "skipped":
        pytest.skip(outcome["text"])
    if outcome["outcome"] != "passed":
        pytest.fail(f"under KERAS_BACKEND={backend}:\n{outcome['text']}", pytrace=False)
    return True


def _outcomes(session, backend):
    """{nodeid: outcome} of every `backend` case of the session, from one child pytest."""
    if backend in _child_outcomes:
        return _child_outcomes[backend]
    nodeids = [_nodeid(item) for item in session.items if _case_backend(item) == backend]
    try:
        __import__(backend)
    except ImportError:
        return _child_outcomes.setdefault(
            backend, _same_outcome(nodeids, "skipped", f"{backend} is not installed"))
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "outcomes.json")
        env = dict(os.environ, KERAS_BACKEND=backend, JAX_PLATFORMS="cpu",
                   TF_CPP_MIN_LOG_LEVEL="3", **{_CHILD_REPORT_ENV: report})
        try:
            result = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                 *nodeids],
                cwd=session.config.rootpath, env=env, capture_output=True, text=True,
                timeout=CHILD_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired:
            return _child_outcomes.setdefault(backend, _same_outcome(
                nodeids, "failed", f"the child pytest ran past {CHILD_TIMEOUT_S} s"))
        if not os.path.isfile(report):
            return _child_outcomes.setdefault(backend, _same_outcome(
                nodeids, "failed", f"the child pytest wrote no outcomes:\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"))
        with open(report) as f:
            return _child_outcomes.setdefault(backend, json.load(f))


def _same_outcome(nodeids, outcome, text):
    return {nodeid: {"outcome": outcome, "text": text, "measured": []} for nodeid in nodeids}



def pytest_runtest_logreport(report):
    if not os.environ.get(_CHILD_REPORT_ENV):
        return
    entry = _reports.setdefault(report.nodeid, {"outcome": "passed", "text": "", "measured": []})
    if report.when == "call":
        entry["measured"] = [list(value) for name, value in report.user_properties
                             if name == "measured"]
    if report.failed:
        entry.update(outcome="failed", text=report.longreprtext[-6000:])
    elif report.skipped and entry["outcome"] == "passed":
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        entry.update(outcome="skipped", text=reason)


def pytest_sessionfinish(session):
    path = os.environ.get(_CHILD_REPORT_ENV)
    if path:
        with open(path, "w") as f:
            json.dump(_reports, f)
