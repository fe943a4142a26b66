"""How to reach this instance's etcd member from the daemon's --etcd-* flags.

Every command that talks to the local member (the daemon, ``leave``,
``snapshot save``, ``status``) builds a LocalEtcd here and dials
``LocalEtcd.client_url``: a unix socket in the 0700 data dir, so the data dir
(default derived from the endpoint) is part of the address.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from adapters.etcd.local_client import PEER_TLS_DIR, local_client_url, socket_file_name
from adapters.etcd.peer_tls import PeerTlsFiles, existing_peer_tls
from adapters.etcd.process_args import default_etcd_data_dir
from domain.cluster import EtcdEndpoint


@dataclass(frozen=True)
class LocalEtcd:
    endpoint: EtcdEndpoint
    data_dir: Path

    @property
    def client_url(self) -> str:
        return local_client_url(self.endpoint, self.data_dir)

    @property
    def socket_path(self) -> Path:
        """The member's client socket (present while its etcd runs)."""
        return self.data_dir / socket_file_name(self.endpoint)

    @property
    def peer_tls_dir(self) -> Path:
        return self.data_dir / PEER_TLS_DIR

    def existing_peer_tls(self) -> PeerTlsFiles | None:
        """The certificates the daemon minted at its last start (None: plaintext peers)."""
        return existing_peer_tls(self.peer_tls_dir)


def local_etcd(
    *,
    etcd_ip: str = "127.0.0.1",
    etcd_client_port: int = 2379,
    etcd_peer_port: int = 2380,
    etcd_data_dir: Path | None = None,
    peer_tls: bool | None = None,
) -> LocalEtcd:
    """The member the flags name.

    ``peer_tls=None`` (operator commands): as the daemon last ran it.
    """
    endpoint = EtcdEndpoint(ip=etcd_ip, client_port=etcd_client_port, peer_port=etcd_peer_port)
    data_dir = (etcd_data_dir or default_etcd_data_dir(endpoint)).expanduser().absolute()
    if peer_tls is None:
        peer_tls = existing_peer_tls(data_dir / PEER_TLS_DIR) is not None
    return LocalEtcd(
        EtcdEndpoint(ip=etcd_ip, client_port=etcd_client_port, peer_port=etcd_peer_port,
                     peer_tls=peer_tls),
        data_dir,
    )
