"""Settings of one registry-service instance, resolved from flags and environment."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from domain.bootstrap import BootstrapAddress
from domain.cluster import EtcdEndpoint


@dataclass(frozen=True)
class DaemonSettings:
    etcd: EtcdEndpoint
    etcd_data_dir: Path
    new_etcd_cluster: bool
    psk: bytes | None
    bootstraps: list[BootstrapAddress]
    local: bool
    listen: list[str]
    keyfile: str
    ephemeral: bool
    algo: str
    bits: int
    prom_listen_addr: str
    addr_file: Path | None = None
    advertise_interval: float = 300.0
    request_timeout: float = 10.0
    etcd_binary: str = "etcd"
    extra: dict[str, str] = field(default_factory=dict)
