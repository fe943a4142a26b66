"""etcd putting a membership change off, as it does in the ordinary course of joins."""

from __future__ import annotations

from application.ports import StorageUnavailable


class MembershipChangeDeferred(StorageUnavailable):
    """etcd refuses a member add for now; the newcomer asks again a second later.

    It refuses one for 5 s after any member (re)connected ("unhealthy cluster"), and
    while another newcomer is still a learner ("too many learner members"): a normal
    join meets several of these. They are counted as ``outcome="retry"``, apart from
    the failures that feed the RegistryRequestErrors alert.
    """


RETRY_OUTCOME = "retry"


def request_outcome(exc: BaseException) -> str:
    """The ``outcome`` label of a request that raised ``exc``."""
    return RETRY_OUTCOME if isinstance(exc, MembershipChangeDeferred) else type(exc).__name__
