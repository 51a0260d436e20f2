"""Shared test setup: quiet TensorFlow, and a summary table of measured errors."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402

_MEASURED = []


@pytest.fixture
def record_error(request):
    """record_error(what, value, tolerance): shown in the summary after the tests.

    The values travel in the test's `user_properties`, which carry them from a
    pytest-xdist worker, or from a `backend` case run in a child pytest
    (`tests/backend_param.py`), to the session that prints the summary.
    """

    def record(what, value, tolerance):
        request.node.user_properties.append(("measured", (what, float(value), tolerance)))

    return record


def pytest_runtest_logreport(report):
    if report.when == "call":
        _MEASURED.extend(tuple(value) for name, value in report.user_properties
                         if name == "measured")


def pytest_terminal_summary(terminalreporter):
    if not _MEASURED:
        return
    terminalreporter.section("measured errors against the reference")
    width = max(len(what) for what, _, _ in _MEASURED)
    for what, value, tolerance in _MEASURED:
        status = "ok" if value <= tolerance else "FAIL"
        terminalreporter.write_line(
            f"{what:<{width}}  {value:.3e}  (tolerance {tolerance:.0e})  {status}"
        )
