"""The etcd timing a member ran with, kept beside its data dir (``<data dir>.etcd-timing.json``)
so that a restart keeps it (application/cluster/etcd_timing.py)."""

from __future__ import annotations

import logging
from pathlib import Path

import msgspec

from domain.etcd_timing import EtcdTiming

log = logging.getLogger("registry-service")


def etcd_timing_file(etcd_data_dir: Path) -> Path:
    return etcd_data_dir.with_name(etcd_data_dir.name + ".etcd-timing.json")


class EtcdTimingFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> EtcdTiming | None:
        """None when there is none, or it cannot be read (said in the log)."""
        try:
            return msgspec.json.decode(self.path.read_bytes(), type=EtcdTiming)
        except FileNotFoundError:
            return None
        except (OSError, msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.warning("etcd timing: %s unreadable (%s); as if absent", self.path, exc)
            return None

    def save(self, timing: EtcdTiming) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_bytes(msgspec.json.encode(timing))
        tmp.replace(self.path)
