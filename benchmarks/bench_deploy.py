"""Benchmark: the deployment's figures, each beside a baseline measured in the same run.

- image size: physarum-registry against its base, debian:bookworm-slim (goal ≤ 250 MB);
- `compose up` of deploy/compose.yaml until `status` reports 3 healthy members, against
  `compose up` until the engine reports the 3 containers running;
- cold `registry-service status` against a local instance, against a cold
  `etcdctl endpoint status` of the same member (the same question, answered by Go).

Needs the image (scripts/setup-deploy.sh) and Debian's etcd-client.

usage: .venv/bin/python benchmarks/bench_deploy.py [--rounds 5] [--compose v2] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "tests" / "integration"))

from compose_fixtures import IMAGE, SERVICES, ComposeCluster  # noqa: E402
from registry_process import VENV_BIN, RegistryProcess  # noqa: E402


def image_sizes() -> dict:
    def size(image: str) -> int:
        out = subprocess.run(["docker", "image", "inspect", "-f", "{{.Size}}", image],
                             capture_output=True, text=True, check=True).stdout
        return int(out)

    ours, base = size(IMAGE), size("debian:bookworm-slim")
    return {"image_mb": ours / 1e6, "base_mb": base / 1e6, "ratio": ours / base}


def compose_up(version: str, workdir: Path) -> dict:
    cluster = ComposeCluster(version, workdir)
    try:
        started = time.monotonic()
        cluster.up()
        running_at = None
        while True:
            if running_at is None:
                states = cluster.compose("ps", "-q").stdout.split()
                inspect = subprocess.run(
                    ["docker", "inspect", "-f", "{{.State.Running}}", *states],
                    capture_output=True, text=True).stdout.split()
                if len(states) == len(SERVICES) and all(s == "true" for s in inspect):
                    running_at = time.monotonic() - started
            code, view = cluster.status("registry-1")
            if code == 0 and view and sum(m["healthy"] for m in view["members"]) == 3 \
                    and running_at is not None:
                healthy_at = time.monotonic() - started
                break
            if time.monotonic() - started > 600:
                raise TimeoutError(cluster.logs())
            time.sleep(0.5)
    finally:
        cluster.down()
    return {"running_s": running_at, "healthy_s": healthy_at, "ratio": healthy_at / running_at}


def cold_status(rounds: int, workdir: Path) -> dict:
    proc = RegistryProcess(workdir / "registry").start()
    try:
        ours_argv = [str(VENV_BIN / "registry-service"), "status", "--etcd-ip", proc.ip,
                     "--etcd-client-port", str(proc.etcd_client_port),
                     "--etcd-peer-port", str(proc.etcd_peer_port),
                     "--etcd-data-dir", str(proc.data_dir)]
        base_argv = ["etcdctl", "--endpoints", f"http://{proc.ip}:{proc.etcd_client_port}",
                     "endpoint", "status", "--cluster", "-w", "json"]
        ours, base = [], []
        for i in range(rounds):  # alternate who goes first
            for argv, into in ([(ours_argv, ours), (base_argv, base)][:: 1 if i % 2 else -1]):
                started = time.perf_counter()
                subprocess.run(argv, capture_output=True, check=True)
                into.append(time.perf_counter() - started)
    finally:
        proc.stop()
    ours_s, base_s = statistics.median(ours), statistics.median(base)
    return {"status_s": ours_s, "etcdctl_s": base_s, "ratio": ours_s / base_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--compose", default="v2", choices=["v1", "v2"])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = {
            "image": image_sizes(),
            "compose_up": compose_up(args.compose, Path(tmp) / "compose"),
            "cold_status": cold_status(args.rounds, Path(tmp)),
        }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    image, up, status = results["image"], results["compose_up"], results["cold_status"]
    print(f"image: {image['image_mb']:.1f} MB (base {image['base_mb']:.1f} MB, "
          f"{image['ratio']:.2f}x)")
    print(f"compose up ({args.compose}) to 3 healthy members: {up['healthy_s']:.1f} s "
          f"(containers running after {up['running_s']:.1f} s, {up['ratio']:.1f}x)")
    print(f"cold registry-service status: {status['status_s'] * 1000:.0f} ms median "
          f"(etcdctl endpoint status --cluster {status['etcdctl_s'] * 1000:.0f} ms, "
          f"{status['ratio']:.1f}x)")


if __name__ == "__main__":
    main()
