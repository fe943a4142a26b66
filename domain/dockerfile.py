"""The Dockerfile and build context that `registry-cli add` generates for a service.

The text is byte-for-byte the Go original's (see docs: "Image publishing"), so
images built by either tool from one config are built the same way.
"""

from __future__ import annotations

import msgspec

from domain.service_config import (
    ServiceConfig,
    copy_source_problem,
    normalize_copy_source,
)

CORE_LINES = (
    "WORKDIR /app",
    "COPY proxy .",
    "COPY conf.json .",
    "ENV PROXY_PORT=4201",
    "ENV PROXY_IP=127.0.0.1",
    "ENV SERVICE_PORT=8080",
    "ENV METRICS_PORT=9010",
    "ENV P2P_BOOTSTRAPS=",
    "ENV P2P_PSK=",
)

SERVICE_MODE_PROXY = (
    "./proxy --configfile conf.json $PROXY_PORT {service} $PROXY_IP:$SERVICE_PORT $METRICS_PORT"
    " > proxy.log 2>&1"
)
CLIENT_MODE_PROXY = "./proxy --configfile conf.json $PROXY_PORT > proxy.log 2>&1"

DOCKERFILE_NAME = "Dockerfile"
PROXY_CONFIG_NAME = "conf.json"
PROXY_BINARY_NAME = "proxy"


class InvalidBuildPlan(ValueError):
    """Inputs from which no sound Dockerfile can be generated."""


class ProxyRequirements(msgspec.Struct, rename="pascal"):
    soft_req: dict[str, int]
    hard_req: dict[str, int]


class ProxyConfig(msgspec.Struct, rename="pascal", omit_defaults=False):
    """The proxy's ``conf.json``; ``Perf`` RTTs are Go ``time.Duration`` (ns)."""

    perf: ProxyRequirements
    bootstraps: list[str] | None = None


class DockerfilePlan(msgspec.Struct, frozen=True):
    """Everything generated for one build, before touching any file.

    ``copy_sources`` are the Copy sources to put in the build context, relative
    to --dir and normalized (``.`` = the whole directory), without duplicates or
    entries already inside another one.
    """

    dockerfile: str
    proxy_config: bytes
    copy_sources: tuple[str, ...]
    base_image: str

    @property
    def generated_names(self) -> tuple[str, ...]:
        return (DOCKERFILE_NAME, PROXY_CONFIG_NAME, PROXY_BINARY_NAME)


def proxy_command(config: ServiceConfig, service_name: str, proxy_cmd: str | None) -> str:
    if proxy_cmd is not None:
        return proxy_cmd
    if config.docker_conf.proxy_client_mode:
        return CLIENT_MODE_PROXY
    return SERVICE_MODE_PROXY.format(service=service_name)


def dockerfile_text(config: ServiceConfig, service_name: str, proxy_cmd: str | None) -> str:
    conf = config.docker_conf
    lines = [f"FROM {conf.from_}", *CORE_LINES]
    lines += [f"COPY {src} {dst}" for src, dst in conf.copy]
    lines += [f"RUN {command}" for command in conf.run]
    # Shell form on purpose: the proxy runs in the background beside the service.
    lines.append(f"CMD {proxy_command(config, service_name, proxy_cmd)} & {conf.cmd}")
    return "\n".join(lines) + "\n"


def proxy_config_json(config: ServiceConfig) -> bytes:
    conf = ProxyConfig(
        perf=ProxyRequirements(
            soft_req={"RTT": config.network_soft_req.as_perf_ind().rtt},
            hard_req={"RTT": config.network_hard_req.as_perf_ind().rtt},
        )
    )
    return msgspec.json.encode(conf)


def context_copy_sources(config: ServiceConfig) -> tuple[str, ...]:
    sources = {normalize_copy_source(src) for src, _ in config.docker_conf.copy}
    if "." in sources:  # the whole --dir already holds every other source
        return (".",)
    kept: list[str] = []
    for src in sorted(sources):  # a parent sorts before its children
        if not any(src.startswith(parent + "/") for parent in kept):
            kept.append(src)
    return tuple(kept)


def plan_dockerfile(
    config: ServiceConfig, service_name: str, proxy_cmd: str | None = None
) -> DockerfilePlan:
    """Check what a build needs beyond the config's own checks, and plan it."""
    conf = config.docker_conf
    if not service_name or any(ch.isspace() for ch in service_name):
        raise InvalidBuildPlan(
            f"service name {service_name!r} cannot be passed to the proxy (empty or has spaces)"
        )
    if proxy_cmd is not None and ("\n" in proxy_cmd or "\r" in proxy_cmd or not proxy_cmd.strip()):
        raise InvalidBuildPlan("--proxy-cmd must be one non-empty line")
    if not conf.cmd.strip():
        raise InvalidBuildPlan(
            "DockerConf.Cmd is empty: the container would stop right after starting the proxy"
        )
    for src, _ in conf.copy:
        problem = copy_source_problem(src)
        if problem:
            raise InvalidBuildPlan(problem)
    return DockerfilePlan(
        dockerfile=dockerfile_text(config, service_name, proxy_cmd),
        proxy_config=proxy_config_json(config),
        copy_sources=context_copy_sources(config),
        base_image=conf.from_,
    )
