"""Benchmark: `registry-cli add` of a ~100 MB image against the Docker CLI doing the same work.

Per round, both sides get a fresh context with a new random payload (so no
layer is already in the registry or the build cache):

- CLI baseline: ``docker build`` (classic builder, as the SDK uses) + ``docker
  save`` (to /dev/null: the cheapest possible consumer) + ``docker push``;
- ours: the add-image use case wired exactly as ``registry-cli add`` wires it
  (Docker SDK build with a streamed context, save streamed into the UnixFS
  hasher beside the push), minus the registry-service round trip, which is
  not Docker work and is measured by bench_get.py.

The registry is a local container on 127.0.0.1 (image as in testcontainers.ini).
Rounds alternate which side goes first. Needs a running engine and the local
images: run scripts/setup-docker.sh first.

usage: .venv/bin/python benchmarks/bench_add.py [--mb 100] [--rounds 3] [--json]
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "tests" / "integration"))

from docker_fixtures import read_settings  # noqa: E402

from adapters.progress.plain import PlainProgressReporter  # noqa: E402
from application.publish import AddImageRequest  # noqa: E402
from domain.dockerfile import plan_dockerfile  # noqa: E402
from domain.image_ref import parse_image_reference  # noqa: E402
from domain.service_config import decode_service_config  # noqa: E402
from entrypoints.cli.container import compose_add_image  # noqa: E402


def pick_image(client: docker.DockerClient, public: str, local: str) -> str:
    for name in (public, local):
        try:
            client.images.get(name)
            return name
        except docker.errors.ImageNotFound:
            continue
    raise SystemExit(f"neither {public} nor {local} is present: run scripts/setup-docker.sh")


def start_registry(client: docker.DockerClient, image: str) -> tuple[object, str]:
    container = client.containers.run(
        image, detach=True, remove=True, ports={"5000/tcp": ("127.0.0.1", None)}
    )
    for _ in range(100):
        container.reload()
        ports = container.attrs["NetworkSettings"]["Ports"].get("5000/tcp")
        if ports:
            address = f"127.0.0.1:{ports[0]['HostPort']}"
            try:
                import requests

                if requests.get(f"http://{address}/v2/", timeout=1).ok:
                    return container, address
            except requests.RequestException:
                pass
        time.sleep(0.1)
    container.stop()
    raise SystemExit("registry container did not come up")


def make_context(root: Path, base: str, megabytes: int, proxy: Path) -> Path:
    root.mkdir(parents=True)
    with (root / "payload.bin").open("wb") as out:
        for _ in range(megabytes):
            out.write(os.urandom(1 << 20))  # incompressible, like real binaries
    config = {
        "NetworkSoftReq": {"RTT": 100},
        "NetworkHardReq": {"RTT": 300},
        "DockerConf": {"From": base, "Copy": [["payload.bin", "."]], "Cmd": "sleep 1"},
    }
    (root / "service-conf.json").write_text(json.dumps(config))
    shutil.copy(proxy, root / "proxy-bin")
    return root


def cli_round(root: Path, tag: str, plan_dockerfile: str, plan_conf: bytes) -> dict[str, float]:
    # The CLI builds from a directory holding exactly what our context holds.
    ctx = root / "cli-context"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(plan_dockerfile)
    (ctx / "conf.json").write_bytes(plan_conf)
    shutil.copy(root / "proxy-bin", ctx / "proxy")
    os.link(root / "payload.bin", ctx / "payload.bin")
    env = {**os.environ, "DOCKER_BUILDKIT": "0"}
    timings: dict[str, float] = {}
    for name, argv in (
        ("build", ["docker", "build", "-q", "-t", tag, str(ctx)]),
        # stdout to /dev/null: `-o /dev/null` is refused (a character device).
        ("save", ["docker", "save", tag]),
        ("push", ["docker", "push", "-q", tag]),
    ):
        started = time.perf_counter()
        subprocess.run(argv, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        timings[name] = time.perf_counter() - started
    timings["total"] = sum(timings.values())
    return timings


def our_round(root: Path, tag: str) -> dict[str, float]:
    config = decode_service_config((root / "service-conf.json").read_bytes())
    request = AddImageRequest(
        config=config, image=parse_image_reference(tag), service_name="bench", context_dir=root
    )
    progress = PlainProgressReporter(io.StringIO())
    use_case = compose_add_image(request, progress, root / "proxy-bin", None, [], None)
    use_case = dataclasses.replace(use_case, register=lambda name, info: "not registered")
    started = time.perf_counter()
    result = use_case.run(request)
    total = time.perf_counter() - started
    assert result.info is not None and result.info.content_hash.startswith("Qm")
    return {**result.timings, "total": total}


def process_round(root: Path, tag: str, registry_service: object) -> dict[str, float]:
    """The whole `registry-cli add` process, registering with a real registry-service."""
    argv = [
        "add",
        "--dir",
        str(root),
        "--custom-proxy",
        str(root / "proxy-bin"),
        str(root / "service-conf.json"),
        tag,
        f"bench-{tag.rsplit('/', 1)[-1]}",
    ]
    started = time.perf_counter()
    done = registry_service.cli("--json", *argv, timeout=600)  # type: ignore[attr-defined]
    total = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"registry-cli add failed:\n{done.stderr}")
    return {**json.loads(done.stdout)["Timings"], "total": total}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=int, default=100, help="payload size in MiB")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON")
    parser.add_argument(
        "--process",
        action="store_true",
        help="run ours as the registry-cli process against a real registry-service "
        "(includes interpreter start-up and the registry round trip; needs etcd)",
    )
    args = parser.parse_args()

    client = docker.from_env()
    settings = read_settings()
    registry_image = pick_image(client, *settings.images["registry"])
    base = pick_image(client, *settings.images["base"])
    container, address = start_registry(client, registry_image)
    proxy = Path(shutil.which("true") or "/bin/true")
    results: dict[str, list[dict[str, float]]] = {"cli": [], "ours": []}
    work = Path(tempfile.mkdtemp(prefix="bench-add-"))
    registry_service = None
    if args.process:
        from registry_process import RegistryProcess

        registry_service = RegistryProcess(work / "registry-service").start()
    try:
        # Warm-up: the base layer gets pushed once, so no round pays for it.
        warm = make_context(work / "warm", base, 1, proxy)
        our_round(warm, f"{address}/bench/warm:1")
        client.images.remove(f"{address}/bench/warm:1", force=True)
        for index in range(args.rounds):
            order = ("cli", "ours") if index % 2 == 0 else ("ours", "cli")
            for side in order:
                root = make_context(work / f"{side}{index}", base, args.mb, proxy)
                tag = f"{address}/bench/{side}{index}:1"
                if side == "ours" and registry_service is not None:
                    results["ours"].append(process_round(root, tag, registry_service))
                elif side == "ours":
                    results["ours"].append(our_round(root, tag))
                else:
                    config = decode_service_config((root / "service-conf.json").read_bytes())
                    plan = plan_dockerfile(config, "bench")
                    results["cli"].append(cli_round(root, tag, plan.dockerfile, plan.proxy_config))
                client.images.remove(tag, force=True)
                shutil.rmtree(root)
    finally:
        if registry_service is not None:
            registry_service.stop()
        container.stop()  # type: ignore[attr-defined]
        shutil.rmtree(work, ignore_errors=True)

    if args.json:
        print(json.dumps(results, indent=2))
    cli_total = statistics.median(r["total"] for r in results["cli"])
    ours_total = statistics.median(r["total"] for r in results["ours"])
    print(f"payload {args.mb} MiB, {args.rounds} rounds, medians in seconds")
    for side, runs in results.items():
        stages = sorted({k for r in runs for k in r} - {"total"})
        parts = ", ".join(
            f"{s} {statistics.median(r.get(s, 0.0) for r in runs):.2f}" for s in stages
        )
        print(f"  {side:<5} total {statistics.median(r['total'] for r in runs):.2f}  ({parts})")
    print(f"  ratio ours/cli: {ours_total / cli_total:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
