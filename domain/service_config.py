"""The service config file that `registry-cli add` reads (the seed's documented format).

RTT values here are milliseconds, as documented; they become Go's
``time.Duration`` (nanoseconds) only in the ServiceInfo and the proxy config.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Annotated

import msgspec

from domain.config_errors import PathStep, config_error_at, locate
from domain.json_file import decode_json_file
from domain.service_info import PerfInd, ServiceInfo

DEFAULT_BASE_IMAGE = "ubuntu:16.04"

# Go's time.Duration is an int64 of nanoseconds; larger millisecond values overflow it.
MAX_RTT_MILLIS = (2**63 - 1) // 1_000_000

# Names the build context itself uses; a Copy source with one of these would clash.
GENERATED_CONTEXT_NAMES = frozenset({"Dockerfile", "conf.json", "proxy"})

Millis = Annotated[int, msgspec.Meta(ge=0, le=MAX_RTT_MILLIS)]
# Go's int (CpuReq, MemoryReq) is an int64: a larger number could never be read back.
NonNegative = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]


class RttRequirement(msgspec.Struct, rename={"rtt_millis": "RTT"}, forbid_unknown_fields=True):
    """``{"RTT": milliseconds}`` as written in a config file."""

    rtt_millis: Millis = 0

    def as_perf_ind(self) -> PerfInd:
        return PerfInd.from_millis(self.rtt_millis)


class DockerConf(msgspec.Struct, rename="pascal", forbid_unknown_fields=True):
    """How to build the image; mostly one Dockerfile directive per field."""

    from_: str = msgspec.field(default=DEFAULT_BASE_IMAGE, name="From")
    copy: list[tuple[str, str]] = msgspec.field(default_factory=list)
    run: list[str] = msgspec.field(default_factory=list)
    cmd: str = ""
    proxy_client_mode: bool = False


class ServiceConfig(msgspec.Struct, rename="pascal", forbid_unknown_fields=True):
    network_soft_req: RttRequirement = msgspec.field(default_factory=RttRequirement)
    network_hard_req: RttRequirement = msgspec.field(default_factory=RttRequirement)
    cpu_req: NonNegative = 0
    memory_req: NonNegative = 0
    docker_conf: DockerConf = msgspec.field(default_factory=DockerConf)

    def service_info(self, *, content_hash: str, docker_hash: str) -> ServiceInfo:
        """The registry record: RTTs converted from the config's ms to the wire's ns."""
        return ServiceInfo(
            content_hash=content_hash,
            docker_hash=docker_hash,
            network_soft_req=self.network_soft_req.as_perf_ind(),
            network_hard_req=self.network_hard_req.as_perf_ind(),
            cpu_req=self.cpu_req,
            memory_req=self.memory_req,
        )


_decoder = msgspec.json.Decoder(ServiceConfig)


def _known_field_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for struct in (ServiceConfig, DockerConf, RttRequirement):
        for field in msgspec.structs.fields(struct):
            names[field.encode_name.lower()] = field.encode_name
    return names


_KNOWN_FIELDS = _known_field_names()


def decode_service_config(data: bytes, source: str = "config") -> ServiceConfig:
    """Parse and check a config file; raise ConfigError pointing into ``data``."""
    config, text = decode_json_file(data, _decoder, source, known_fields=_KNOWN_FIELDS)
    for path, message in config_problems(config):
        raise config_error_at(source, text, locate(text, path), message)
    return config


def _has_line_break(value: str) -> bool:
    return "\n" in value or "\r" in value


def config_problems(config: ServiceConfig) -> list[tuple[list[PathStep], str]]:
    """Checks beyond types: each problem with the path of the value at fault."""
    problems: list[tuple[list[PathStep], str]] = []
    conf = config.docker_conf
    base: list[PathStep] = ["DockerConf"]
    # A line break would end the Dockerfile directive and start another one.
    if not conf.from_.strip() or _has_line_break(conf.from_) or " " in conf.from_.strip():
        problems.append(([*base, "From"], "From must be one image name, e.g. ubuntu:16.04"))
    for index, command in enumerate(conf.run):
        if _has_line_break(command):
            problems.append(([*base, "Run", index], "a Run command must be on one line"))
    if _has_line_break(conf.cmd):
        problems.append(([*base, "Cmd"], "Cmd must be on one line"))
    for index, (src, dst) in enumerate(conf.copy):
        problem = copy_source_problem(src)
        if problem:
            problems.append(([*base, "Copy", index, 0], problem))
        if not dst or any(ch.isspace() for ch in dst):
            problems.append(
                ([*base, "Copy", index, 1], "a Copy destination must be one path without spaces")
            )
    return problems


def copy_source_problem(src: str) -> str | None:
    """Why ``src`` cannot be a Copy source (a path relative to --dir), or None."""
    if not src or any(ch.isspace() for ch in src):
        return "a Copy source must be one path without spaces"
    path = PurePosixPath(src)
    if path.is_absolute():
        return f"Copy source {src!r} is absolute; it must be relative to --dir"
    depth = 0
    for part in path.parts:
        depth += -1 if part == ".." else (0 if part == "." else 1)
        if depth < 0:
            return f"Copy source {src!r} leaves --dir; it must stay inside it"
    normal = normalize_copy_source(src)
    if normal == ".":
        return None
    if normal.split("/")[0] in GENERATED_CONTEXT_NAMES:
        return (
            f"Copy source {src!r} clashes with the {normal.split('/')[0]!r} that the build "
            "generates; rename it"
        )
    return None


def normalize_copy_source(src: str) -> str:
    """``./a/../b/`` -> ``b``: the name of a (checked) Copy source in the build context."""
    parts: list[str] = []
    for part in PurePosixPath(src).parts:
        if part == "..":
            parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts) or "."
