"""Settings of one registry-service instance, resolved from flags and environment."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from domain.bootstrap import BootstrapAddress
from domain.cluster import EtcdEndpoint
from domain.etcd_timing import EtcdTiming
from entrypoints.service.http_settings import HttpSettings


@dataclass(frozen=True)
class DaemonSettings:
    etcd: EtcdEndpoint
    etcd_data_dir: Path
    new_etcd_cluster: bool
    psk: bytes | None = field(repr=False)  # a secret: never in a repr or log
    bootstraps: list[BootstrapAddress]
    local: bool
    listen: list[str]
    keyfile: str | None  # None: this instance's own file beside its etcd data dir
    ephemeral: bool
    algo: str
    bits: int
    prom_listen_addr: str
    addr_file: Path | None = None
    advertise_interval: float = 300.0
    request_timeout: float = 10.0
    max_inbound_connections: int = 1024
    max_streams_per_connection: int = 256
    max_watches: int = 1024
    # Every etcd call ends within this: a write stuck on a member whose leader
    # just died fails after it, and the client tries another instance.
    etcd_timeout: float = 3.0
    etcd_binary: str = "etcd"
    # Remove our etcd member from the cluster for good when stopped.
    leave: bool = False
    # A member added but still unstarted after this long is removed (see MemberJanitor).
    unstarted_member_grace: float = 60.0
    # How long a newcomer keeps asking to be added, then waits for its etcd.
    join_timeout: float = 120.0
    # Only the peers listed there may add and delete (re-read on SIGHUP).
    writers_file: Path | None = None
    # etcd's heartbeat and election timeout as given (flags); None: auto (measured on join)
    etcd_timing: EtcdTiming | None = None
    # The HTTP API (--http-listen and friends); None: off.
    http: HttpSettings | None = None
    # --mdns: answer libp2p mDNS queries; with no bootstrap, join what answers.
    mdns: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def reachable_bootstraps(self) -> list[BootstrapAddress]:
        """The bootstraps to dial: none with --local."""
        return [] if self.local else self.bootstraps
