"""Shared test setup: quiet TensorFlow, and a summary table of measured errors."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402

_MEASURED = []


@pytest.fixture
def record_error(request):
    """record_error(what, value, tolerance): shown in the summary after the tests.

    Also kept in the test's `user_properties`, which carry the values of a
    `backend` case run in a child pytest (`tests/backend_param.py`) back.
    """

    def record(what, value, tolerance):
        _MEASURED.append((what, value, tolerance))
        request.node.user_properties.append(("measured", (what, float(value), tolerance)))

    return record


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
