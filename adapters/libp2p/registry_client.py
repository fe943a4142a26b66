"""Client side of the reference protocol: find registry-services and ask one."""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import trio
from libp2p.abc import IHost, INetStream
from libp2p.custom_types import TProtocol
from libp2p.network.stream.exceptions import StreamReset
from libp2p.peer.peerinfo import PeerInfo
from libp2p.protocol_muxer.exceptions import ProtocolNotSupportedError

from adapters.libp2p.dial_failure import DIAL_FAILURES, WrongPrivateNetwork
from adapters.libp2p.live_peers import connect_first
from adapters.libp2p.pipelined_request import (
    read_pipelined_reply,
    reads_past_early_close,
    send_pipelined,
)
from adapters.libp2p.rendezvous import DhtRendezvous
from application.ports import (
    NoProvider,
    ProtocolNotSpoken,
    RegistryUnavailable,
    RequestRejected,
)
from domain.rendezvous import REGISTRY_RENDEZVOUS
from domain.wire import MAX_RESPONSE_BYTES

log = logging.getLogger(__name__)

T = TypeVar("T")


class EmptyReply(Exception):
    """The server closed or reset the stream without an answer."""


@dataclass
class _Round:
    """What one pass over the providers learned."""

    tried: set[str] = field(default_factory=set)
    rejections: list[str] = field(default_factory=list)
    # Registry-services (not mere bootstraps) that do not speak the protocol asked for.
    unsupported: list[str] = field(default_factory=list)
    # Whether any registry-service was found at all (to tell "nobody provides" apart).
    found_any: bool = False
    # Bootstraps that did not speak it: registry-services after all if the DHT names them.
    bootstraps_without: set[str] = field(default_factory=set)


class Libp2pRegistryClient:
    """A RegistryTransport over libp2p streams, with discovery and fail-over.

    Each attempt asks first the ``preferred`` peers (the caller's bootstraps), those
    already connected first, in random order: a bootstrap that serves the registry
    answers over the connection already open, with no DHT lookup. Only then come the
    providers that a DHT lookup bounded by ``lookup_timeout`` names, in random order,
    dialled staggered (see connect_first) so that a dead or unresponsive one holds
    nobody up. The random order spreads clients over the instances. A refusal (reset
    stream) is an answer: the DHT is not asked for more after one. When nobody
    answered, the attempt is repeated with exponential back-off (1 s doubling up to 8 s,
    5 attempts, as the
    original). ``only`` restricts every attempt to that one peer (diagnosis). A client
    kept open asks the provider that answered last first, without a lookup.
    """

    def __init__(
        self,
        host: IHost,
        rendezvous: DhtRendezvous,
        *,
        attempts: int = 5,
        first_backoff: float = 1.0,
        max_backoff: float = 8.0,
        request_timeout: float = 10.0,
        lookup_timeout: float = 3.0,
        dial_timeout: float = 3.0,
        preferred: Sequence[PeerInfo] = (),
        only: PeerInfo | None = None,
    ) -> None:
        self._host = host
        self.rendezvous = rendezvous
        self._attempts = attempts
        self._first_backoff = first_backoff
        self._max_backoff = max_backoff
        self._request_timeout = request_timeout
        self._lookup_timeout = lookup_timeout
        self._dial_timeout = dial_timeout
        self._preferred = [only] if only is not None else list(preferred)
        self._only = only
        self.last_provider: PeerInfo | None = None

    @property
    def host(self) -> IHost:
        """The node the requests go out from (a watch's heartbeat pings over it)."""
        return self._host

    def aimed_at(self, peer: PeerInfo) -> Libp2pRegistryClient:
        """A client on the same node that asks ``peer`` alone, once (diagnosis, status)."""
        return Libp2pRegistryClient(
            self._host, self.rendezvous, attempts=1, request_timeout=self._request_timeout,
            lookup_timeout=self._lookup_timeout, dial_timeout=self._dial_timeout, only=peer,
        )

    async def request(self, protocol_id: str, payload: bytes) -> bytes:
        reply = await self._ask_last_provider(protocol_id, payload)
        if reply is not None:
            return reply
        return await self._search(
            protocol_id, lambda provider: self._ask(provider, protocol_id, payload)
        )

    async def open_stream(
        self, protocol_id: str, payload: bytes, avoid: frozenset[str] = frozenset()
    ) -> tuple[PeerInfo, INetStream]:
        """A stream to the first provider that takes it (those in ``avoid`` last), with
        ``payload`` sent and the write side closed: for answers that go on (watch)."""
        return await self._search(
            protocol_id,
            lambda provider: self._open_and_send(provider, protocol_id, payload),
            avoid,
        )

    async def _search(
        self,
        protocol_id: str,
        ask: Callable[[PeerInfo], Awaitable[T]],
        avoid: frozenset[str] = frozenset(),
    ) -> T:
        backoff = self._first_backoff
        problems: list[str] = []
        found_any = False
        tried: set[str] = set()
        for attempt in range(1, self._attempts + 1):
            round_ = _Round()
            reply = await self._ask_first(
                _last(self._usable_preferred(), avoid), ask, round_, problems,
                registry_providers=self._only is not None,
            )
            if reply is None and not round_.rejections and not (self._only and round_.tried):
                found = await self._find_providers(round_, problems)
                reply = await self._ask_first(_last(found, avoid), ask, round_, problems,
                                              registry_providers=True)
            if reply is not None:
                return reply
            if round_.rejections:
                raise RequestRejected(
                    f"registry-service {', '.join(round_.rejections)} refused the {protocol_id} "
                    "request (stream reset): its storage may be unavailable, or the request is "
                    "invalid"
                )
            if round_.unsupported:
                raise ProtocolNotSpoken(
                    f"registry-service {', '.join(round_.unsupported)} does not speak "
                    f"{protocol_id}"
                )
            found_any = found_any or round_.found_any
            tried |= round_.tried
            if attempt < self._attempts:
                log.info("no registry-service answered (attempt %d); retrying in %gs",
                         attempt, backoff)
                await trio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
        detail = "; ".join(dict.fromkeys(problems)) or "no provider of 'registry-service' found"
        strangers = [name for name in tried if DIAL_FAILURES.in_other_network(name)]
        if strangers and not found_any:
            raise WrongPrivateNetwork(
                f"{', '.join(strangers)} {'is' if len(strangers) == 1 else 'are'} in another "
                "private network: a different passphrase (PSK), or none. Give the passphrase "
                f"of the registry-services to reach ({detail})"
            )
        if not found_any:
            raise NoProvider(
                f"nobody provides 'registry-service' ({detail}): no registry-service is running, "
                "or none is reachable through the bootstrap peers"
            )
        raise RegistryUnavailable(
            f"no registry-service answered after {self._attempts} "
            f"attempt{'s' if self._attempts != 1 else ''} ({detail})"
        )

    async def _ask_last_provider(self, protocol_id: str, payload: bytes) -> bytes | None:
        """A kept-open client asks the provider that answered last, while still connected.

        That skips the DHT lookup (a stream and a round trip of its own) and costs one
        stream on the existing connection. Any failure falls back to the full search,
        which may ask the same provider again.
        """
        provider = self.last_provider
        if provider is None or provider.peer_id not in self._host.get_network().connections:
            return None
        try:
            return await self._ask(provider, protocol_id, payload)
        except Exception as exc:
            log.info("last provider %s failed (%s); searching again",
                     provider.peer_id, _describe(exc))
            return None

    def _known_addrs(self, provider: PeerInfo) -> bool:
        try:
            return bool(self._host.get_peerstore().addrs(provider.peer_id))
        except Exception:  # PeerStoreError: a peer it never heard of
            return False

    def _connected(self, provider: PeerInfo) -> bool:
        return bool(self._host.get_network().connections.get(provider.peer_id))

    def _usable_preferred(self) -> list[PeerInfo]:
        """Preferred peers, those connected first, each group in random order.

        Left out: those neither connected nor dialable (an id alone needs the DHT).
        """
        connected = [info for info in self._preferred if self._connected(info)]
        dialable = [
            info for info in self._preferred
            if not self._connected(info)
            and (info.addrs or self._known_addrs(info))
        ]
        return _shuffled(connected) + _shuffled(dialable)

    async def _ask_first(
        self,
        providers: Sequence[PeerInfo],
        ask: Callable[[PeerInfo], Awaitable[T]],
        round_: _Round,
        problems: list[str],
        *,
        registry_providers: bool,
    ) -> T | None:
        """The first answer of ``providers`` asked in turn; refusals go to ``round_``.

        ``registry_providers``: they were named as registry-services (by the DHT or
        by the caller), so one that lacks the protocol is an older version, not a
        bootstrap that merely routes.
        """
        for provider in providers:
            name = str(provider.peer_id)
            if name in round_.tried:
                continue
            round_.tried.add(name)
            try:
                reply = await ask(provider)
            except (StreamReset, EmptyReply):
                # py-libp2p surfaces a remote reset as end of stream; no valid
                # answer of the protocol is empty, so both are refusals.
                round_.found_any = True
                round_.rejections.append(name)
                continue
            except Exception as exc:
                if _protocol_unsupported(exc):
                    if registry_providers:
                        round_.found_any = True
                        round_.unsupported.append(name)
                    else:
                        round_.bootstraps_without.add(name)
                        problems.append(f"bootstrap {name} does not serve the registry")
                    continue
                round_.found_any = round_.found_any or registry_providers
                problems.append(f"{name}: {_describe(exc, name)}")
                continue
            self.last_provider = provider
            DIAL_FAILURES.forget(name)
            return reply
        return None

    async def _find_providers(self, round_: _Round, problems: list[str]) -> list[PeerInfo]:
        """Live providers from a bounded DHT lookup, in random order, untried ones only."""
        try:
            with trio.fail_after(self._lookup_timeout):
                found = await self.rendezvous.find_peers(REGISTRY_RENDEZVOUS)
        except Exception as exc:
            problems.append(f"DHT lookup failed: {_describe(exc)}")
            return []
        if self._only is not None:
            found = [info for info in found if info.peer_id == self._only.peer_id]
            if not found:
                problems.append(f"{self._only.peer_id} is not among the providers of "
                                "'registry-service' found in the DHT")
        elif not found:
            problems.append("no provider of 'registry-service' found in the DHT")
        for info in found:  # a provider that was also our bootstrap, asked already
            if str(info.peer_id) in round_.bootstraps_without:
                round_.found_any = True
                round_.unsupported.append(str(info.peer_id))
        fresh = _shuffled([info for info in found if str(info.peer_id) not in round_.tried])
        by_id = {str(info.peer_id): info for info in fresh}
        connected = await connect_first(list(by_id), lambda name: self._connect(by_id[name]),
                                        timeout=self._dial_timeout)
        for name, failure in connected.failures.items():
            problems.append(f"{name}: {_describe(failure, name)}")
            round_.tried.add(name)
        return [by_id[name] for name in connected.live]

    async def _connect(self, provider: PeerInfo) -> None:
        if provider.addrs:
            self._host.get_peerstore().add_addrs(provider.peer_id, provider.addrs, 600)
        await self._host.connect(provider)

    async def _ask(self, provider: PeerInfo, protocol_id: str, payload: bytes) -> bytes:
        with trio.fail_after(self._request_timeout):
            if provider.addrs:
                self._host.get_peerstore().add_addrs(provider.peer_id, provider.addrs, 600)
            # A peer we must dial first and cannot reach this soon is dead to us. Over a
            # connection we have, only the request's own limit applies: a stream cut off
            # while opening reaches the server as an empty request, a wasted refusal.
            bound = math.inf if self._connected(provider) else self._dial_timeout
            close = reads_past_early_close(self._host, provider.peer_id)
            with trio.fail_after(bound):
                stream = await send_pipelined(
                    self._host, provider.peer_id, protocol_id, payload, close=close
                )
            try:
                reply = await read_pipelined_reply(
                    stream, protocol_id, MAX_RESPONSE_BYTES, closed=close
                )
            finally:
                await stream.close()
        if not reply:
            raise EmptyReply(provider.peer_id)
        return reply

    async def _open_and_send(
        self, provider: PeerInfo, protocol_id: str, payload: bytes
    ) -> tuple[PeerInfo, INetStream]:
        """A new stream to ``provider`` that carries ``payload`` and is closed for writing."""
        with trio.fail_after(self._request_timeout):
            if provider.addrs:
                self._host.get_peerstore().add_addrs(provider.peer_id, provider.addrs, 600)
            stream = await self._host.new_stream(provider.peer_id, [TProtocol(protocol_id)])
            try:
                await stream.write(payload)
                await stream.close_write()  # type: ignore[attr-defined]  # NetStream has it
            except BaseException:
                await stream.reset()
                raise
        return provider, stream


def _last(providers: Sequence[PeerInfo], avoid: frozenset[str]) -> list[PeerInfo]:
    """The same providers, those named in ``avoid`` (for example a dead one) at the end."""
    return sorted(providers, key=lambda info: str(info.peer_id) in avoid)


def _shuffled(providers: Sequence[PeerInfo]) -> list[PeerInfo]:
    out = list(providers)
    random.shuffle(out)
    return out


def _protocol_unsupported(exc: BaseException) -> bool:
    """Whether multistream-select said no to the protocol (somewhere in the causes)."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, ProtocolNotSupportedError) or "protocols not supported" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _describe(exc: BaseException, peer_id: str | None = None) -> str:
    if isinstance(exc, trio.TooSlowError):
        return "timed out"
    if peer_id is not None:  # a dial's real reason, also behind "negative cache"
        return DIAL_FAILURES.describe(peer_id, exc)
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]
