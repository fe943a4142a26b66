"""Debian's chromium, headless, driven by Selenium through Debian's chromedriver.

Nothing here downloads a browser or a driver: both paths are given, and Selenium
Manager is told to stay offline.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
AXE = Path(__file__).parent / "ui" / "node_modules" / "axe-core" / "axe.min.js"
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--disable-dev-shm-usage",
)


@contextmanager
def chromium(width: int = 1400, height: int = 1000) -> Iterator[object]:
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager: never fetch anything
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            raise RuntimeError(f"{path} is missing: run scripts/setup-ui.sh")
    profile = tempfile.mkdtemp(prefix="registry-ui-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        driver.set_script_timeout(60)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def network_requests(driver: object) -> list[dict]:
    """Every request sent since the last call, from the DevTools network log (in-flight
    ones too): its url, headers and the document that made it."""
    sent = []
    for entry in driver.get_log("performance"):  # type: ignore[attr-defined]
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            params = message["params"]
            sent.append({"url": params["request"]["url"], "headers": params["request"]["headers"],
                         "document": params.get("documentURL", "")})
    return sent


def axe_violations(driver: object) -> list[dict]:
    """axe-core (npm), injected into the page, run over the whole document."""
    driver.execute_script(AXE.read_text())  # type: ignore[attr-defined]
    result = driver.execute_async_script(  # type: ignore[attr-defined]
        "const done = arguments[arguments.length - 1];"
        "axe.run(document).then((r) => done(r.violations.map((v) => ({"
        "id: v.id, impact: v.impact, help: v.help,"
        "nodes: v.nodes.map((n) => n.target.join(' '))}))));"
    )
    return list(result)


def set_color_scheme(driver: object, scheme: str) -> None:
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {  # type: ignore[attr-defined]
        "features": [{"name": "prefers-color-scheme", "value": scheme}]})


def set_viewport(driver: object, width: int, height: int) -> None:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {  # type: ignore[attr-defined]
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
