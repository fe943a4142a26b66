"""One status table from several instances' answers: each instance knows only its own
member's raft index and db size (the others' etcd client APIs are unix sockets on their
machines), so the table takes each member's figures from that member's own instance."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from domain.instance_status import InstanceStatus, MemberStatus


def with_each_members_own_figures(
    base: InstanceStatus, answers: Iterable[InstanceStatus]
) -> InstanceStatus:
    """``base`` with the raft index and db size every other answer gives for its own member;
    members no answer speaks for keep what ``base`` has (``None``: unknown)."""
    own = {a.member: row for a in answers for row in a.members if a.member and row.name == a.member}
    members = tuple(_filled(row, own.get(row.name)) for row in base.members)
    return msgspec.structs.replace(base, members=members)


def _filled(row: MemberStatus, known: MemberStatus | None) -> MemberStatus:
    if known is None or not row.name:
        return row
    return msgspec.structs.replace(
        row,
        raft_index=row.raft_index if row.raft_index is not None else known.raft_index,
        db_size=row.db_size if row.db_size is not None else known.db_size,
        etcd_timing=row.etcd_timing if row.etcd_timing is not None else known.etcd_timing,
    )


def with_figures_known_to(base: InstanceStatus, view: InstanceStatus) -> InstanceStatus:
    """``base`` with the raft index and db size ``view`` has for members ``base`` lacks them
    (``view``: a cluster view already merged from every instance)."""
    known = {row.name: row for row in view.members if row.name}
    members = tuple(_filled(row, known.get(row.name)) for row in base.members)
    return msgspec.structs.replace(base, members=members)
