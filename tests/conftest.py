"""Suite-wide rule: a skipped test is a failed test, and so is an xfail.

A skip hides a missing part (an engine, a tool, a library) behind a green run; an xfail
hides a known break the same way. Set-up must provide every part; a quick inner loop
deselects explicitly (-m "not docker"). Each turns into a failure in pytest's own
outcome, so its exit code says so, whoever runs it (tests/unit/test_no_skips.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

# Before anything imports grpc: this process forks daemons and tools with a preexec_fn
# (default signal dispositions) while its etcd clients are busy; gRPC's fork handlers
# then aborted a child now and then (adapters/etcd/__init__.py says why).
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

import pytest


def _reason(report: pytest.TestReport | pytest.CollectReport) -> object:
    longrepr = report.longrepr
    return longrepr[2] if isinstance(longrepr, tuple) else longrepr


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if hasattr(report, "wasxfail"):
        # xfailed (reported as skipped) and xpassed (reported as passed) alike.
        if report.skipped or report.when == "call":
            why = report.wasxfail or _reason(report)
            report.outcome = "failed"
            report.longrepr = f"marked xfail, and xfails count as failures here: {why}"
            del report.wasxfail
    elif report.skipped:
        report.outcome = "failed"
        report.longrepr = f"skipped, and skips count as failures here: {_reason(report)}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    outcome = yield
    report: pytest.CollectReport = outcome.get_result()
    if report.skipped:  # pytest.skip(allow_module_level=True), or a skip mark on a module
        report.outcome = "failed"
        report.longrepr = f"{collector.nodeid} skipped, and skips count as failures here: " \
            f"{_reason(report)}"
