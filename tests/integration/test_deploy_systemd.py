"""deploy/registry-service.service: systemd accepts it, and its ExecStart runs the daemon."""

from __future__ import annotations

import configparser
import os
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from registry_process import VENV_BIN, free_port

UNIT = Path(__file__).parents[2] / "deploy" / "registry-service.service"
PASSPHRASE = "systemd unit passphrase"
# The unit runs the venv at /opt/physarum-registry; here the test's venv stands in for it.
INSTALLED = "/opt/physarum-registry/"
VENV = f"{VENV_BIN.parent}/"


@pytest.fixture
def installed_unit(tmp_path) -> Path:
    """The unit as installed with the venv at VENV (verify checks that ExecStart exists)."""
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace(INSTALLED, VENV))
    return unit


def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        pytest.fail("systemd-analyze is missing: run scripts/setup-deploy.sh (Debian systemd)")
    return found


def service_section() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(UNIT)
    return parser["Service"]


def test_systemd_analyze_verify_accepts_the_unit(installed_unit):
    assert INSTALLED + "bin/registry-service" in UNIT.read_text()
    result = subprocess.run([systemd_analyze(), "verify", str(installed_unit)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr  # no warnings either


def test_unit_is_hardened(installed_unit):
    # systemd's own exposure score (0 = locked down, 10 = none): "OK" is below 4.
    result = subprocess.run(
        [systemd_analyze(), "security", "--offline=true", "--threshold=40", str(installed_unit)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout[-2000:]
    service = service_section()
    for key, value in {
        "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
        "PrivateTmp": "yes", "Restart": "on-failure", "StateDirectory": "physarum-registry",
        "User": "physarum-registry", "LoadCredential": "psk:/etc/physarum-registry/psk",
    }.items():
        assert service[key] == value, key


def test_exec_start_reads_the_credential_and_stops_on_sigterm(tmp_path):
    """The unit's ExecStart, expanded as systemd would, with the directories it hands over."""
    credentials, run_root, state = (tmp_path / d for d in ("credentials", "run", "state"))
    runtime = run_root / "physarum-registry"
    for directory in (credentials, runtime, state):
        directory.mkdir(mode=0o700, parents=True)
    (credentials / "psk").write_text(PASSPHRASE)
    (credentials / "psk").chmod(0o400)
    registry_args = (
        f"--new-etcd-cluster --local --ephemeral --listen /ip4/127.0.0.1/tcp/0 "
        f"--etcd-client-port {free_port()} --etcd-peer-port {free_port()} "
        f"--prom-listen-addr 127.0.0.1:{free_port()}"
    )
    http_listen = f"127.0.0.1:{free_port()}"  # the unit's 127.0.0.1:8500, on a free port
    limits = UNIT.read_text().split('Environment="REGISTRY_LIMITS=', 1)[1].split('"')[0]
    assert limits == "--max-inbound-connections 1024 --max-watches 1024"
    assert service_section()["Environment"].endswith("REGISTRY_HTTP_LISTEN=127.0.0.1:8500")
    argv: list[str] = []
    for word in shlex.split(service_section()["ExecStart"]):
        if word == "$REGISTRY_ARGS":  # a word of its own: split at whitespace
            argv += registry_args.split()
        elif word == "$REGISTRY_LIMITS":
            argv += limits.split()
        elif word == "${REGISTRY_HTTP_LISTEN}":
            argv.append(http_listen)
        else:
            argv.append(word.replace(INSTALLED, VENV).replace("%d", str(credentials))
                        .replace("%t", str(run_root)))
    env = {
        "PATH": f"{VENV_BIN}:/usr/bin:/bin",
        "HOME": str(state),
        "XDG_DATA_HOME": str(state),
    }
    log = (tmp_path / "daemon.log").open("wb")
    daemon = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        addr_file = runtime / "addrs"
        deadline = time.monotonic() + 60
        while not addr_file.exists():
            assert daemon.poll() is None, (tmp_path / "daemon.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the daemon did not serve within 60 s"
            time.sleep(0.1)
        # The daemon read the credential itself: the passphrase is in neither its argv
        # nor its environment.
        for what in ("cmdline", "environ"):
            seen = Path(f"/proc/{daemon.pid}/{what}").read_bytes()
            assert PASSPHRASE.encode() not in seen, what
        assert b"registry-service" in Path(f"/proc/{daemon.pid}/cmdline").read_bytes()
        cli_env = {k: v for k, v in os.environ.items() if k not in ("P2P_PSK", "P2P_BOOTSTRAPS")}
        bootstrap = addr_file.read_text().split()[0]
        status = subprocess.run(
            [str(VENV_BIN / "registry-cli"), "--bootstrap", bootstrap, "--psk", PASSPHRASE,
             "--json", "status"], capture_output=True, text=True, timeout=60, env=cli_env,
        )
        assert status.returncode == 0, status.stderr
        wrong = subprocess.run(
            [str(VENV_BIN / "registry-cli"), "--bootstrap", bootstrap, "--psk", "not it",
             "status"], capture_output=True, text=True, timeout=60, env=cli_env,
        )
        # Another passphrase gets nothing: no status, and the reason (exit 4, one line).
        assert wrong.returncode == 4, (wrong.returncode, wrong.stderr)
        assert wrong.stdout == ""
        assert "different private network" in wrong.stderr and "Traceback" not in wrong.stderr
        assert len(list((state / "physarum-registry").glob("*.instance.json"))) == 1
        health = httpx.get(f"http://{http_listen}/v1/health", timeout=10)
        assert health.json() == {"Status": "ok"}  # the unit turns the HTTP API on
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(30) == 0
        # A clean stop also removes the file `registry-service status` reads.
        assert list((state / "physarum-registry").glob("*.instance.json")) == []
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        log.close()
