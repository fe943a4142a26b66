"""`registry-service status --every-member`: the other members' raft index and db size, as
`registry-cli status` gets them (its own daemon first, then every instance over /status/0.1).

Imported only with --every-member, so the plain local status (the HEALTHCHECK) loads no libp2p.
"""

from __future__ import annotations

import sys
import warnings

import trio

from domain.instance_status import InstanceStatus
from domain.status_merge import with_figures_known_to
from entrypoints.common.errors import single_error

# Reaching the local daemon, then one 5 s wait for the slowest instance (ANSWER_TIMEOUT).
PEERS_TIMEOUT = 10.0


async def with_every_members_figures(status: InstanceStatus, psk: bytes) -> InstanceStatus:
    """``status`` with its unknown figures filled in; unchanged, with one line on stderr,
    when the libp2p part fails: it never turns the local etcd view into a failure."""
    from entrypoints.library import registry_status

    try:
        with trio.fail_after(PEERS_TIMEOUT), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cluster = await registry_status(list(status.addresses), psk)
        for warning in caught:  # e.g. which members' figures are missing, and why
            print(f"registry-service: {warning.message}", file=sys.stderr)
    except Exception as exc:
        error = single_error(exc)
        reason = (f"no answer within {PEERS_TIMEOUT:g} s" if isinstance(error, trio.TooSlowError)
                  else f"{type(error).__name__}: {error}")
        print(f"registry-service: other members' figures not fetched ({reason})",
              file=sys.stderr)
        return status
    return with_figures_known_to(status, cluster)
