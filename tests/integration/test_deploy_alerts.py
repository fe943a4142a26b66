"""deploy/prometheus-rules.yaml: promtool accepts it, and every alert fires and clears."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PROMTOOL = ROOT / ".run" / "deploy-tools" / "promtool"
RULES = ROOT / "deploy" / "prometheus-rules.yaml"
RULE_TESTS = Path(__file__).parent / "deploy" / "prometheus-rules-test.yaml"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    if not PROMTOOL.exists():
        pytest.fail("promtool is missing: run scripts/setup-deploy.sh (Debian prometheus)")
    return subprocess.run([str(PROMTOOL), *args], capture_output=True, text=True, timeout=120)


def test_promtool_check_rules():
    result = promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 8 rules found" in result.stdout


def test_every_alert_is_tested_firing_and_clearing():
    alerts = {line.split(":", 1)[1].strip() for line in RULES.read_text().splitlines()
              if line.strip().startswith("- alert:")}
    tests = RULE_TESTS.read_text()
    for alert in alerts:
        assert f"alertname: {alert}\n" in tests or f"alertname: {alert}," in tests, alert
        assert f"alertname: {alert}, exp_alerts: []" in tests, f"{alert} never clears"


def test_promtool_test_rules_fire_and_clear():
    result = promtool("test", "rules", str(RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
