"""What one registry-service instance reports about itself and its etcd cluster.

The same struct is the JSON of `registry-service status --json`, of
`registry-cli status --json` and the answer of `/status/0.1` (docs/protocol.md).
Fields are only ever added, never renamed; ``format`` changes if that ever has to.
"""

from __future__ import annotations

import msgspec

from domain.etcd_timing import EtcdTiming

STATUS_PROTOCOL_ID = "/status/0.1"
STATUS_FORMAT = 1


class MemberStatus(msgspec.Struct, frozen=True, kw_only=True):
    name: str  # "" while the member was added but its etcd never started
    id: str  # hex, as etcdctl prints it
    peer_url: str
    client_url: str
    leader: bool
    learner: bool
    healthy: bool  # its etcd answered and knows a leader
    raft_index: int | None = None  # None when it did not answer
    db_size: int | None = None
    # what the member's etcd runs with, as its own instance says (None: not known here)
    etcd_timing: EtcdTiming | None = None


class ClusterStatus(msgspec.Struct, frozen=True, kw_only=True):
    """The etcd side, as the instance's own member sees it."""

    member: str  # this instance's member name
    quorum: bool
    revision: int
    services: int
    db_size: int
    members: tuple[MemberStatus, ...]


class InstanceIdentity(msgspec.Struct, frozen=True, kw_only=True):
    peer_id: str
    addresses: tuple[str, ...]
    metrics: str | None = None  # host:port of its /metrics (None: not known)
    etcd_timing: EtcdTiming | None = None  # what its etcd member runs with (None: not known)


class InstanceStatus(msgspec.Struct, frozen=True, kw_only=True):
    format: int = STATUS_FORMAT
    peer_id: str
    addresses: tuple[str, ...]
    member: str
    quorum: bool
    revision: int
    services: int
    db_size: int
    members: tuple[MemberStatus, ...]
    metrics: str | None = None  # host:port of the instance's /metrics, for Prometheus
    # Its etcd member's heartbeat and election timeout, and why (None: an older instance)
    etcd_timing: EtcdTiming | None = None

    @classmethod
    def of(cls, identity: InstanceIdentity, cluster: ClusterStatus) -> InstanceStatus:
        fields = msgspec.structs.asdict(cluster)
        if identity.etcd_timing is not None:  # our own member's row says it too
            fields["members"] = tuple(
                msgspec.structs.replace(m, etcd_timing=identity.etcd_timing)
                if m.name and m.name == cluster.member else m for m in cluster.members)
        return cls(
            peer_id=identity.peer_id, addresses=identity.addresses, metrics=identity.metrics,
            etcd_timing=identity.etcd_timing, **fields,
        )

    @property
    def healthy_members(self) -> int:
        return sum(1 for m in self.members if m.healthy)
