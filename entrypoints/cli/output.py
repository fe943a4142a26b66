"""How registry-cli shows records: for people by default, JSON for scripts."""

from __future__ import annotations

import msgspec

from domain.service_info import PerfInd, ServiceInfo


def _rtt(perf: PerfInd) -> str:
    millis = perf.rtt_millis
    return f"{millis:g} ms" if perf.rtt else "none"


def human_record(name: str, info: ServiceInfo, revision: int | None = None) -> str:
    rows = [
        ("Service", name),
        *([("Revision", str(revision))] if revision else []),
        ("ContentHash", info.content_hash or "-"),
        ("DockerHash", info.docker_hash or "-"),
        ("NetworkSoftReq", f"RTT {_rtt(info.network_soft_req)}"),
        ("NetworkHardReq", f"RTT {_rtt(info.network_hard_req)}"),
        ("CpuReq", str(info.cpu_req)),
        ("MemoryReq", str(info.memory_req)),
    ]
    return "\n".join(f"{key + ':':<16}{value}" for key, value in rows)


def human_list(entries: dict[str, ServiceInfo]) -> str:
    if not entries:
        return "The registry is empty."
    return "\n\n".join(human_record(name, info) for name, info in entries.items())


def json_text(value: object) -> str:
    """The Go field names and units (RTT in nanoseconds), as on the wire."""
    return msgspec.json.encode(value).decode()


def with_revision(info: ServiceInfo, revision: int | None) -> object:
    """The Go JSON shape, plus "Revision" when the registry-service told it."""
    if not revision:
        return info
    record = msgspec.to_builtins(info)
    record["Revision"] = revision
    return record
