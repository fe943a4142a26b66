"""`registry-service status` asks other instances only with --every-member (or --psk/--psk-file):
the plain command, the image's HEALTHCHECK, loads no libp2p even with P2P_PSK_FILE set."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

_PROBE = """
import json, sys
from entrypoints.service.main import main
code = main(sys.argv[1:])
print(json.dumps([code, sorted(sys.modules)]), file=sys.stderr)
"""


def run_status(tmp_path: Path, *args: str) -> tuple[int, set[str], str]:
    psk_file = tmp_path / "psk"
    psk_file.write_text("unit test passphrase\n")
    psk_file.chmod(0o600)
    env = {**os.environ, "P2P_PSK_FILE": str(psk_file)}  # as in the container
    env.pop("P2P_PSK", None)
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, "status", "--etcd-data-dir", str(tmp_path / "etcd"),
         "--etcd-timeout", "0.5", *args],
        capture_output=True, text=True, timeout=60, check=False, env=env,
    )
    *messages, last = done.stderr.strip().splitlines()
    code, modules = json.loads(last)
    return code, set(modules), "\n".join(messages)


def test_plain_status_loads_no_libp2p_even_with_a_passphrase_in_the_environment(tmp_path):
    code, modules, message = run_status(tmp_path)
    assert code == 1 and "no registry-service is running" in message  # it really ran status
    assert not {m.split(".")[0] for m in modules} & {"libp2p", "multiaddr", "aioquic"}


def test_a_failing_local_etcd_skips_the_other_instances(tmp_path):
    # Nothing to fill in without the local view: the exit code is the local one.
    code, modules, message = run_status(tmp_path, "--every-member")
    assert code == 1 and message.count("\n") == 0, message
    assert "libp2p" not in modules
