"""Serving /memberadd/0.2: admit a newcomer, or tell it in words why not."""

from __future__ import annotations

import time

from application.cluster.admit import admit_member
from application.membership_deferred import request_outcome
from application.ports import ClusterMembership, RegistryMetrics
from domain.member_add_answer import MemberAddAnswer
from domain.wire import MemberAddRequest, Operation, decode, encode


class MemberAddWithReason:
    def __init__(self, membership: ClusterMembership, metrics: RegistryMetrics) -> None:
        self._membership = membership
        self._metrics = metrics

    async def handle(self, request: bytes, peer_id: str | None = None) -> bytes:
        """Any refusal becomes ``{"Error": ...}``; only a malformed request resets the stream.

        Open to every peer of the private network, as /memberadd/0.1 (see write_policy).
        """
        started = time.perf_counter()
        member = decode(request.strip(), MemberAddRequest)
        outcome = "ok"
        try:
            cluster = await admit_member(
                self._membership, member.member_name, member.member_peer_url
            )
            answer = MemberAddAnswer(initial_cluster=cluster)
        except Exception as exc:
            outcome = request_outcome(exc)
            answer = MemberAddAnswer(error=_one_line(exc))
        finally:
            self._metrics.observe_request(
                Operation.MEMBER_ADD.value, time.perf_counter() - started, outcome
            )
        return encode(answer)


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:300]
