"""The newcomer's side: ask a registry-service to add our etcd member."""

from __future__ import annotations

import logging
import time

from application.ports import (
    Clock,
    NoProvider,
    ProtocolNotSpoken,
    RegistryTransport,
    RegistryUnavailable,
    RequestRejected,
    Sleep,
)
from domain.cluster import EtcdEndpoint
from domain.member_add_answer import MEMBER_ADD_WITH_REASON, MemberAddAnswer
from domain.wire import MemberAddRequest, Operation, decode, encode

log = logging.getLogger("application.cluster")


class JoinFailed(RuntimeError):
    """No registry-service added our member in time."""


class MemberAddRefused(RequestRejected):
    """A registry-service refused to add our member, and said why (/memberadd/0.2)."""


async def request_membership(transport: RegistryTransport, endpoint: EtcdEndpoint) -> str:
    """Ask a registry-service to add our member; returns the etcd initial-cluster string.

    /memberadd/0.2 first, whose refusals carry their reason; /memberadd/0.1 (the
    Go original's) with instances that do not speak it.
    """
    request = encode(
        MemberAddRequest(member_name=endpoint.member_name, member_peer_url=endpoint.peer_url)
    )
    try:
        answer = decode(await transport.request(MEMBER_ADD_WITH_REASON, request), MemberAddAnswer)
    except ProtocolNotSpoken as exc:
        log.info("%s; asking over %s, whose refusals carry no reason", exc,
                 Operation.MEMBER_ADD.protocol_id)
        reply = await transport.request(Operation.MEMBER_ADD.protocol_id, request)
        initial_cluster = reply.decode("utf-8").strip()
    else:
        if answer.error:
            raise MemberAddRefused(answer.error)
        initial_cluster = answer.initial_cluster.strip()
    if f"{endpoint.member_name}=" not in initial_cluster:
        raise ValueError(f"member add answered {initial_cluster!r}, which does not name us")
    return initial_cluster


async def join_cluster(
    transport: RegistryTransport,
    endpoint: EtcdEndpoint,
    *,
    timeout: float,
    retry_interval: float = 1.0,
    sleep: Sleep,
    clock: Clock = time.monotonic,
) -> str:
    """request_membership, retried while the cluster cannot take us yet.

    etcd refuses a new member for a while in ordinary situations: for 5 s
    after another member (re)joined ("unhealthy cluster"), while another
    newcomer is still a learner (one at a time), or while no registry-service
    is known yet. The error names the last cause, and how often etcd refused.
    """
    deadline = clock() + timeout
    refusals = 0
    while True:
        try:
            return await request_membership(transport, endpoint)
        except MemberAddRefused as exc:
            refusals += 1
            cause = f"a registry-service refused to add this member: {exc}"
        except RequestRejected:
            refusals += 1
            cause = (
                "a registry-service refused to add this member without saying why (it speaks "
                "only /memberadd/0.1; its log says why)"
            )
        except NoProvider as exc:
            cause = (
                f"{exc}. Start the first instance with --new-etcd-cluster, and give this one "
                "its address as --bootstrap"
            )
        except RegistryUnavailable as exc:
            cause = str(exc)
        counted = f" (refused {refusals} time{'s' if refusals != 1 else ''})" if refusals else ""
        if clock() + retry_interval > deadline:
            raise JoinFailed(f"could not join the etcd cluster within {timeout:g} s: {cause}"
                             f"{counted}")
        log.info("member add not accepted yet: %s%s; retrying in %g s", cause, counted,
                 retry_interval)
        await sleep(retry_interval)
