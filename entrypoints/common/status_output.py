"""How `status` shows an InstanceStatus: a terminal-sized table, or JSON for scripts."""

from __future__ import annotations

import msgspec

from domain.instance_status import InstanceStatus, MemberStatus

# 0 healthy (quorum), 4 no quorum; 1 (any other trouble) comes from the callers.
EXIT_HEALTHY = 0
EXIT_NO_QUORUM = 4
EXIT_TROUBLE = 1


def exit_code(status: InstanceStatus) -> int:
    return EXIT_HEALTHY if status.quorum else EXIT_NO_QUORUM


def status_json(status: InstanceStatus) -> str:
    return msgspec.json.encode(status).decode()


def human_status(status: InstanceStatus) -> str:
    lines = [
        f"instance   {status.peer_id or '(unknown: no instance file)'}",
        *(f"  {address}" for address in status.addresses),
        f"quorum     {'yes' if status.quorum else 'NO: writes fail, reads may be stale'}",
        f"registry   {status.services} services at revision {status.revision}, "
        f"db {_size(status.db_size)}",
        f"members    {status.healthy_members} of {len(status.members)} healthy",
        *_timing_line(status),
    ]
    timing = any(m.etcd_timing is not None for m in status.members)
    rows = [("", "NAME", "PEER URL", "ROLE", "HEALTHY", "RAFT INDEX", "DB",
             *(("HEARTBEAT/ELECTION",) if timing else ()))]
    # This instance's own member first (marked *), then etcd's order.
    for m in sorted(status.members, key=lambda m: not (m.name and m.name == status.member)):
        role = _role(m)
        rows.append((
            "*" if m.name and m.name == status.member else "",
            m.name or "(not started)",
            m.peer_url,
            role,
            "yes" if m.healthy else "NO",
            "-" if m.raft_index is None else str(m.raft_index),
            "-" if m.db_size is None else _size(m.db_size),
            *((_timing_cell(m),) if timing else ()),
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines.extend(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )
    return "\n".join(lines)


def _timing_cell(member: MemberStatus) -> str:
    t = member.etcd_timing
    return "-" if t is None else f"{t.heartbeat_ms}/{t.election_ms} ms"


def _timing_line(status: InstanceStatus) -> list[str]:
    timing = status.etcd_timing
    if timing is None:
        return []
    why = f"{timing.source}: {timing.reason}" if timing.reason else timing.source
    return [f"etcd timing {timing.short()} ({why})"]


def _role(member: MemberStatus) -> str:
    """A member that does not answer has no role we know of (its flags are stale)."""
    if member.learner:
        return "learner"  # the cluster's configuration says so, answering or not
    if not member.healthy:
        return "-"
    return "leader" if member.leader else "follower"


def missing_figures_hint(status: InstanceStatus, how_to_ask_all: str) -> str:
    """A line under the table when other members show '-', and how to get their figures."""
    if all(m.raft_index is not None for m in status.members if m.name != status.member):
        return ""
    # Each instance reads only its own member: the others' etcd client APIs are unix
    # sockets in their own data dirs, even on this machine.
    return (f"\n-: known only to that member's own instance; {how_to_ask_all} asks every "
            "instance over /status/0.1")


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")
