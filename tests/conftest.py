"""Suite-wide rule: a skipped test is a failed test.

A skip hides a missing part (an engine, a tool, a library) behind a green run. Set-up
must provide every part; a quick inner loop deselects explicitly (-m "not docker").
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped, and skips count as failures here: {reason}"
