"""Connecting to the Docker engine, with a clean error when none answers."""

from __future__ import annotations

import docker
from docker.errors import DockerException

from application.publishing_ports import DockerUnavailable

# Builds, pushes and saves can be silent for long stretches (a slow RUN step, a
# big layer upload): no read timeout on the long-lived client.
_PING_TIMEOUT_SECONDS = 10


def connect_docker() -> docker.DockerClient:
    """A client for the engine named by DOCKER_HOST (else the local socket)."""
    try:
        probe = docker.from_env(timeout=_PING_TIMEOUT_SECONDS)
        probe.ping()
        probe.close()
        return docker.from_env(timeout=None)  # type: ignore[arg-type]
    except DockerException as exc:
        raise DockerUnavailable(
            f"cannot reach a Docker engine ({exc}); start dockerd, or set DOCKER_HOST"
        ) from exc


def engine_architecture(client: docker.DockerClient) -> str:
    """The engine's CPU architecture in Go's naming (GOARCH), for building the proxy."""
    machine = str(client.info().get("Architecture", "x86_64"))
    return {
        "x86_64": "amd64",
        "aarch64": "arm64",
        "armv7l": "arm",
        "i686": "386",
        "ppc64le": "ppc64le",
        "s390x": "s390x",
    }.get(machine, machine)
