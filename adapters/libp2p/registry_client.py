"""Client side of the reference protocol: find registry-services and ask one."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import trio
from libp2p.abc import IHost
from libp2p.custom_types import TProtocol
from libp2p.network.stream.exceptions import StreamReset
from libp2p.peer.peerinfo import PeerInfo
from libp2p.protocol_muxer.exceptions import MultiselectClientError

from adapters.libp2p.rendezvous import DhtRendezvous
from adapters.libp2p.stream_io import read_to_end
from application.ports import ProtocolNotSupported, RegistryUnavailable, RequestRejected
from domain.rendezvous import REGISTRY_RENDEZVOUS
from domain.wire import MAX_RESPONSE_BYTES

log = logging.getLogger(__name__)


class EmptyReply(Exception):
    """The server closed or reset the stream without an answer."""


class Libp2pRegistryClient:
    """A RegistryTransport over libp2p streams, with discovery and fail-over.

    Providers are tried in turn; when none answered, discovery is retried with
    exponential back-off (1 s doubling up to 8 s, 5 attempts, as the original).
    A reset stream means a registry-service received the request and refused it.
    ``preferred`` providers are tried first, before those the DHT names. A client
    kept open asks the provider that answered last first, without a lookup.
    ``fallback`` peers (the bootstraps a client connected to) are asked when the DHT
    lookup fails or finds nobody, e.g. while it waits on a dead instance's address.
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
        lookup_timeout: float = 5.0,
        preferred: Sequence[PeerInfo] = (),
        fallback: Sequence[PeerInfo] = (),
    ) -> None:
        self._host = host
        self.rendezvous = rendezvous
        self._attempts = attempts
        self._first_backoff = first_backoff
        self._max_backoff = max_backoff
        self._request_timeout = request_timeout
        self._lookup_timeout = lookup_timeout
        self._preferred = list(preferred)
        self._fallback = list(fallback)
        self.last_provider: PeerInfo | None = None

    async def request(self, protocol_id: str, payload: bytes) -> bytes:
        reply = await self._ask_last_provider(protocol_id, payload)
        if reply is not None:
            return reply
        backoff = self._first_backoff
        problems: list[str] = []
        for attempt in range(1, self._attempts + 1):
            providers = await self._find_providers(problems)
            rejections: list[str] = []
            unsupported: list[str] = []
            for provider in providers:
                try:
                    reply = await self._ask(provider, protocol_id, payload)
                except StreamReset:
                    rejections.append(str(provider.peer_id))
                    continue
                except EmptyReply:
                    # py-libp2p surfaces a remote reset as end of stream; no valid
                    # answer of the protocol is empty, so this is a refusal too.
                    rejections.append(str(provider.peer_id))
                    continue
                except Exception as exc:
                    if _protocol_refused(exc):
                        unsupported.append(str(provider.peer_id))
                        continue
                    problems.append(f"{provider.peer_id}: {_describe(exc)}")
                    continue
                self.last_provider = provider
                return reply
            if rejections:
                raise RequestRejected(
                    f"registry-service {', '.join(rejections)} refused the {protocol_id} request "
                    "(stream reset): its storage may be unavailable, or the request is invalid"
                )
            if unsupported:
                raise ProtocolNotSupported(
                    f"registry-service {', '.join(unsupported)} does not speak {protocol_id} "
                    "(an older version, or not a registry-service)"
                )
            if attempt < self._attempts:
                log.info("no registry-service answered (attempt %d); retrying in %gs",
                         attempt, backoff)
                await trio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
        detail = "; ".join(dict.fromkeys(problems)) or "no provider of 'registry-service' found"
        raise RegistryUnavailable(
            f"no registry-service answered after {self._attempts} attempts ({detail})"
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

    async def _find_providers(self, problems: list[str]) -> list[PeerInfo]:
        try:
            with trio.fail_after(self._lookup_timeout):
                found = await self.rendezvous.find_peers(REGISTRY_RENDEZVOUS)
        except Exception as exc:
            problems.append(f"DHT lookup failed: {_describe(exc)}")
            found = list(self._fallback)
        else:
            if not found:
                problems.append("no provider of 'registry-service' found in the DHT")
                found = list(self._fallback)
        connected = set(self._host.get_network().connections)
        # Peers we already have a connection to answer fastest.
        ranked = sorted(found, key=lambda info: info.peer_id not in connected)
        chosen = {info.peer_id for info in self._preferred}
        return self._preferred + [info for info in ranked if info.peer_id not in chosen]

    async def _ask(self, provider: PeerInfo, protocol_id: str, payload: bytes) -> bytes:
        with trio.fail_after(self._request_timeout):
            if provider.addrs:
                self._host.get_peerstore().add_addrs(provider.peer_id, provider.addrs, 600)
            stream = await self._host.new_stream(provider.peer_id, [TProtocol(protocol_id)])
            try:
                await stream.write(payload)
                await stream.close_write()  # type: ignore[attr-defined]  # NetStream has it
                reply = await read_to_end(stream, MAX_RESPONSE_BYTES)
            finally:
                await stream.close()
        if not reply:
            raise EmptyReply(provider.peer_id)
        return reply


def _protocol_refused(exc: BaseException) -> bool:
    """The peer answered multistream-select with "na" for every protocol offered."""
    cause = exc.__cause__
    return isinstance(cause, MultiselectClientError) and "not supported" in str(cause)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, trio.TooSlowError):
        return "timed out"
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]
