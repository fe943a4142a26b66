"""The etcd command line for one registry-service's member (pure; see process.py)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from adapters.etcd.local_client import listen_client_url
from adapters.etcd.peer_tls import PeerTlsFiles
from domain.cluster import EtcdEndpoint
from domain.etcd_timing import EtcdTiming

ClusterState = Literal["new", "existing"]


def default_etcd_data_dir(endpoint: EtcdEndpoint, *, environ: dict[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME/physarum-registry/etcd-<member name>`` (``~/.local/share`` if unset)."""
    env = os.environ if environ is None else environ
    base = Path(env.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "physarum-registry" / f"etcd-{endpoint.member_name}"


def holds_member(data_dir: Path) -> bool:
    """Whether ``data_dir`` already holds an etcd member (a previous run's WAL and snapshots)."""
    return (data_dir / "member").is_dir()


def build_etcd_argv(
    *,
    binary: str,
    endpoint: EtcdEndpoint,
    data_dir: Path,
    initial_cluster: str | None = None,
    initial_cluster_state: ClusterState = "new",
    restart: bool = False,
    client_socket: bool = False,
    peer_tls: PeerTlsFiles | None = None,
    timing: EtcdTiming | None = None,
) -> list[str]:
    """argv for ``etcd``; ``restart`` = the data dir already holds this member.

    ``client_socket``: clients on a unix socket in the data dir (etcd must run
    with the data dir as its working directory), instead of http on the
    endpoint's IP. ``peer_tls``: peers only with a certificate from our CA.
    ``timing``: heartbeat and election timeout (None: etcd's defaults); given on
    restarts too, where etcd takes them as on a first start.

    On restart the member's identity and peers come from its WAL and etcd
    ignores the bootstrap flags; we leave them out so that nobody reading the
    command line believes a "new" cluster is being formed.
    """
    if (peer_tls is not None) != endpoint.peer_tls:
        raise ValueError("https peer URLs go with peer TLS files, http ones without")
    name = endpoint.member_name
    client_url = listen_client_url(endpoint) if client_socket else endpoint.tcp_client_url
    argv = [
        binary,
        "--name", name,
        "--data-dir", str(data_dir),
        "--listen-client-urls", client_url,
        "--advertise-client-urls", client_url,
        "--listen-peer-urls", endpoint.peer_url,
        "--initial-advertise-peer-urls", endpoint.peer_url,
        # zap is etcd 3.4's structured logger; the default (capnslog) is deprecated.
        "--logger", "zap",
        "--log-outputs", "stderr",
        # A member cut off by a partition keeps calling elections; without the
        # pre-vote phase each one raises its term, and on the heal that term
        # deposes the healthy majority's leader (writes stall for an election).
        "--pre-vote=true",
    ]  # fmt: skip
    if timing is not None:
        argv += [
            "--heartbeat-interval", str(timing.heartbeat_ms),
            "--election-timeout", str(timing.election_ms),
        ]  # fmt: skip
    if peer_tls is not None:
        argv += [
            "--peer-client-cert-auth",
            "--peer-trusted-ca-file", str(peer_tls.ca_file),
            "--peer-cert-file", str(peer_tls.cert_file),
            "--peer-key-file", str(peer_tls.key_file),
        ]  # fmt: skip
    if restart:
        return argv
    if initial_cluster_state not in ("new", "existing"):
        raise ValueError(
            f"initial cluster state must be new or existing, not {initial_cluster_state!r}"
        )
    if initial_cluster is None:
        if initial_cluster_state == "existing":
            raise ValueError(
                "joining an existing cluster needs the initial cluster returned by member add"
            )
        initial_cluster = f"{name}={endpoint.peer_url}"
    own = f"{name}={endpoint.peer_url}"
    if own not in initial_cluster.split(","):
        raise ValueError(
            f"initial cluster {initial_cluster!r} does not contain this member ({own})"
        )
    return [
        *argv,
        "--initial-cluster", initial_cluster,
        "--initial-cluster-state", initial_cluster_state,
    ]  # fmt: skip
