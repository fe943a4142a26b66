"""The --etcd-* flags by which an operator command names this host's instance's etcd member."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cyclopts import Parameter

from entrypoints.common.local_etcd import LocalEtcd, local_etcd


# name="*": the fields are the command's own flags (--etcd-ip, not --flags.etcd-ip).
@Parameter(name="*")
@dataclass(frozen=True)
class EtcdMemberFlags:
    """Give the values the instance runs (or ran) with; the defaults match the daemon's.

    Parameters
    ----------
    etcd_client_port
        The instance's etcd client port.
    etcd_ip
        The instance's etcd IP address.
    etcd_peer_port
        The instance's etcd peer port (part of the default data dir's name).
    etcd_data_dir
        The instance's etcd data directory, which holds its client socket (default as for
        the daemon).
    """

    etcd_client_port: int = 2379
    etcd_ip: str = "127.0.0.1"
    etcd_peer_port: int = 2380
    etcd_data_dir: Path | None = None

    def local(self) -> LocalEtcd:
        """The member these flags name, with peer TLS as the daemon last ran it."""
        return local_etcd(etcd_ip=self.etcd_ip, etcd_client_port=self.etcd_client_port,
                          etcd_peer_port=self.etcd_peer_port, etcd_data_dir=self.etcd_data_dir)
