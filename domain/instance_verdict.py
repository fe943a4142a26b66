"""How a measured round trip to a service instance is judged against its record.

The record's ``NetworkSoftReq`` / ``NetworkHardReq`` (nanoseconds, Go's time.Duration)
are what PhysarumSM's proxies judge instances by: within soft = good, above soft but
within hard = slow (usable, a closer one is wanted), above hard or no answer = unusable.
A requirement of 0 is "none" (a record registered without one), not "nothing is good
enough".
"""

from __future__ import annotations

import enum

import msgspec

from domain.service_info import NANOS_PER_MILLI, ServiceInfo

# The ping timeout when the record has no hard requirement: the service-manager's
# SortPeers gives all its pings one 1 s budget.
DEFAULT_PING_TIMEOUT_NS = 1_000 * NANOS_PER_MILLI


class Verdict(enum.StrEnum):
    GOOD = "good"
    SLOW = "slow"
    UNUSABLE = "unusable"


class Instance(msgspec.Struct, frozen=True, kw_only=True):
    """One live (or not) instance of a service: a provider of the record's ContentHash.

    ``rtt_ns`` is the measured libp2p ping round trip, None when no answer came within
    the ping timeout (then the verdict is unusable).
    """

    peer_id: str
    addrs: list[str]
    rtt_ns: int | None
    verdict: Verdict


def ping_timeout_ns(info: ServiceInfo) -> int:
    """The record's hard requirement, or the default when it has none."""
    return info.network_hard_req.rtt or DEFAULT_PING_TIMEOUT_NS


def judge(rtt_ns: int | None, info: ServiceInfo) -> Verdict:
    soft, hard = info.network_soft_req.rtt, info.network_hard_req.rtt
    if rtt_ns is None or (hard and rtt_ns > hard):
        return Verdict.UNUSABLE
    if soft and rtt_ns > soft:
        return Verdict.SLOW
    return Verdict.GOOD


def ranked(instances: list[Instance]) -> list[Instance]:
    """Lowest RTT first; those that did not answer last (by peer id, for a stable order)."""
    return sorted(instances, key=lambda i: (i.rtt_ns is None, i.rtt_ns or 0, i.peer_id))


def usable(instances: list[Instance]) -> list[Instance]:
    return [i for i in instances if i.verdict is not Verdict.UNUSABLE]


def no_usable_reason(instances: list[Instance], info: ServiceInfo) -> str:
    """One line saying why no instance can be used (``instances`` all unusable)."""
    count = len(instances)
    found = f"{count} instance{'s' if count != 1 else ''} found"
    if not count:
        return f"no instance found (no live provider of ContentHash {info.content_hash})"
    limit_ms = _millis(ping_timeout_ns(info))
    which = ("the hard requirement of" if info.network_hard_req.rtt
             else "the default ping timeout of")
    answered = [i.rtt_ns for i in instances if i.rtt_ns is not None]
    if answered:
        return f"{found}, none within {which} {limit_ms} ms: closest {_millis(min(answered))} ms"
    return f"{found}, none answered a ping within {which} {limit_ms} ms"


def _millis(nanos: int) -> str:
    return f"{nanos / NANOS_PER_MILLI:.0f}" if nanos >= 10 * NANOS_PER_MILLI else (
        f"{nanos / NANOS_PER_MILLI:.1f}")


class Provider(msgspec.Struct, frozen=True):
    """A provider record as the DHT gives it: a peer id and the addresses it announced."""

    peer_id: str
    addrs: list[str]
