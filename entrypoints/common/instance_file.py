"""The file in which a running daemon tells `registry-service status` who it is.

It lies beside the etcd data dir (``<data dir>.instance.json``), so the same
``--etcd-*`` / ``--etcd-data-dir`` flags find it; etcd's own dir stays etcd's.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from domain.instance_status import InstanceIdentity


def instance_file(etcd_data_dir: Path) -> Path:
    return etcd_data_dir.with_name(etcd_data_dir.name + ".instance.json")


def write_instance_file(path: Path, identity: InstanceIdentity) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(msgspec.json.encode(identity))
    tmp.replace(path)


def read_instance_file(path: Path) -> InstanceIdentity | None:
    """None when no daemon wrote one (never started, or stopped)."""
    try:
        return msgspec.json.decode(path.read_bytes(), type=InstanceIdentity)
    except FileNotFoundError:
        return None
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ValueError(f"{path} is not an instance file: {exc}") from exc


def remove_instance_file(path: Path) -> None:
    path.unlink(missing_ok=True)
