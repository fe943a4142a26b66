"""`registry-service status`: the local instance, found by the daemon's own --etcd-* flags."""

from __future__ import annotations

import sys

from application.ports import StorageUnavailable
from application.status import instance_status
from domain.instance_status import InstanceIdentity, InstanceStatus
from entrypoints.common.instance_file import instance_file, read_instance_file
from entrypoints.common.local_etcd import LocalEtcd
from entrypoints.common.status_output import (
    EXIT_TROUBLE,
    exit_code,
    human_status,
    missing_figures_hint,
    status_json,
)
from entrypoints.operator.container import OperatorContainer
from entrypoints.operator.no_local_member import no_local_member


async def local_status(
    etcd: OperatorContainer, local: LocalEtcd, *, as_json: bool, timeout: float,
    every_member: bool = False, psk: bytes | None = None,
) -> int:
    path = instance_file(local.data_dir)
    source = etcd.status_source(local.client_url, timeout=timeout)
    try:
        identity = read_instance_file(path)
        status = await instance_status(
            source, identity or InstanceIdentity(peer_id="", addresses=())
        )
    except StorageUnavailable as exc:
        print(f"registry-service: {no_local_member(local, str(exc))}", file=sys.stderr)
        return EXIT_TROUBLE
    finally:
        source.close()
    if every_member and identity is not None:
        status = await _with_other_members(status, psk)
    hint = "" if every_member else missing_figures_hint(status, "--every-member")
    print(status_json(status) if as_json else human_status(status) + hint)
    if identity is None:
        print(f"registry-service: no {path}: is registry-service running with these "
              "--etcd-* flags?", file=sys.stderr)
        return EXIT_TROUBLE
    return exit_code(status)


async def _with_other_members(status: InstanceStatus, psk: bytes | None) -> InstanceStatus:
    if psk is None:
        print("registry-service: --every-member needs the passphrase (--psk-file, P2P_PSK_FILE, "
              "--psk or P2P_PSK)", file=sys.stderr)
        return status
    from entrypoints.operator.every_member_figures import with_every_members_figures

    return await with_every_members_figures(status, psk)
