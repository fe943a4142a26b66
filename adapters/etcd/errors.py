"""Turn gRPC failures from etcd into the application's errors."""

from __future__ import annotations

import grpc

from application.membership_deferred import MembershipChangeDeferred
from application.ports import StorageUnavailable

# etcd answered and said no: the request itself is wrong (empty or oversized key,
# unknown member id, duplicate peer URL, ...). Retrying elsewhere will not help,
# so these must not masquerade as "storage unavailable".
_REJECTION_CODES = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.ALREADY_EXISTS,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.OUT_OF_RANGE,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.UNIMPLEMENTED,
    }
)


class EtcdRequestRejected(RuntimeError):
    """etcd received the request and refused it; the store itself is fine."""

    def __init__(self, message: str, code: grpc.StatusCode) -> None:
        super().__init__(message)
        self.code = code


def translate_rpc_error(error: grpc.RpcError, client_url: str, timeout: float) -> Exception:
    """The exception to raise instead of ``error`` (a failed etcd call to ``client_url``)."""
    code = error.code() if isinstance(error, grpc.Call) else grpc.StatusCode.UNKNOWN
    details = (error.details() if isinstance(error, grpc.Call) else None) or str(error)
    if "too many learner members" in details:  # another newcomer is catching up
        return MembershipChangeDeferred(
            f"etcd at {client_url}: {details}; another new member is still catching up, "
            "retry in a few seconds"
        )
    if code in _REJECTION_CODES:
        return EtcdRequestRejected(f"etcd at {client_url} refused the request: {details}", code)
    # etcd 3.4 reports its own request timeout as UNKNOWN "context deadline exceeded".
    if code is grpc.StatusCode.DEADLINE_EXCEEDED or "deadline exceeded" in details.lower():
        reason = f"no answer within {timeout:g} s"
    elif "no leader" in details:
        reason = "this member has no leader (quorum lost, or an election is under way)"
    elif "unhealthy cluster" in details:
        # Strict reconfiguration check: a membership change is refused until every
        # remaining member has been connected for 5 s (etcd's HealthInterval).
        return MembershipChangeDeferred(
            f"etcd at {client_url}: {details}; membership change refused for now, retry in a "
            "few seconds"
        )
    elif details.startswith("etcdserver: "):
        reason = details  # etcd answered; its own words say most
    elif code is grpc.StatusCode.UNAVAILABLE:
        reason = f"unreachable ({details})"
    else:
        reason = f"{details} [{code.name}]"
    return StorageUnavailable(f"etcd at {client_url}: {reason}")
