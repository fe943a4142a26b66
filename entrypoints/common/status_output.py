"""How `status` shows an InstanceStatus: a terminal-sized table, or JSON for scripts."""

from __future__ import annotations

import msgspec

from domain.instance_status import InstanceStatus

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
    ]
    rows = [("", "NAME", "PEER URL", "ROLE", "HEALTHY", "RAFT INDEX", "DB")]
    for m in status.members:
        role = "leader" if m.leader else "learner" if m.learner else "follower"
        rows.append((
            "*" if m.name and m.name == status.member else "",
            m.name or "(not started)",
            m.peer_url,
            role,
            "yes" if m.healthy else "NO",
            "-" if m.raft_index is None else str(m.raft_index),
            "-" if m.db_size is None else _size(m.db_size),
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines.extend(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )
    return "\n".join(lines)


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")
