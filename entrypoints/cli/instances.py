"""registry-cli announce / instances: make an instance findable; find the closest ones."""

from __future__ import annotations

import signal
import sys
from typing import Annotated

import msgspec
from cyclopts import Parameter

# Filled in by registry-cli's global options (--bootstrap, --psk, --json), not parsed here.
_Injected = Parameter(parse=False)

# `instances` found no instance within the record's hard requirement (or none at all).
EXIT_NO_USABLE_INSTANCE = 7


def announce_command(
    name: str,
    /,
    *,
    listen: list[str] | None = None,
    announce_addr: list[str] | None = None,
    bootstraps: Annotated[list[str], _Injected],
    psk: Annotated[bytes | None, _Injected],
    keyfile: Annotated[str | None, _Injected] = None,
) -> int:
    """Announce a running instance of NAME until SIGTERM or SIGINT (exit 0).

    Advertises the record's ContentHash in the DHT, as PhysarumSM's proxies do, answers
    libp2p ping, and follows the record: a new ContentHash is advertised within seconds.
    Prints the peer id, then the addresses, first; then one line per ContentHash
    announced. When the record is deleted it stops and exits 3.

    Parameters
    ----------
    name
        Name of the service (its record must exist).
    listen
        Multiaddr to listen on (repeatable; default /ip4/0.0.0.0/tcp/0).
    announce_addr
        Multiaddr to give others instead of the listening ones (repeatable): a port
        forward, or a relay in front.
    """
    import trio

    from entrypoints import library
    from entrypoints.common.errors import EXIT_NOT_FOUND
    from entrypoints.library.announce import DEFAULT_LISTEN

    started = False  # the peer id and addresses come first

    def changed(announced: library.AnnouncedInstance) -> None:
        if started and announced.deleted is None:
            print(f"announcing {name}: ContentHash {announced.content_hash} "
                  f"(revision {announced.revision})", flush=True)

    async def run() -> int:
        announcement = library.announce_instance(
            bootstraps, psk, name, listen=listen or DEFAULT_LISTEN, announce=announce_addr or (),
            keyfile=keyfile, on_change=changed,
        )
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async with announcement as announced, trio.open_nursery() as nursery:
                print(announced.peer_id)
                for addr in announced.addrs:
                    print(addr)
                nonlocal started
                started = True
                changed(announced)  # flushes the lines above too
                stopped_by_signal = False

                async def on_signal() -> None:
                    nonlocal stopped_by_signal
                    async for _ in signals:
                        stopped_by_signal = True
                        nursery.cancel_scope.cancel()

                nursery.start_soon(on_signal)
                deleted = await announced.wait_deleted()
                nursery.cancel_scope.cancel()
        if stopped_by_signal:
            return 0
        print(f"registry-cli: {deleted}", file=sys.stderr)
        return EXIT_NOT_FOUND

    return trio.run(run)


def instances_command(
    name: str,
    /,
    *,
    all_: Annotated[bool, Parameter(name="--all", negative="")] = False,
    json_output: Annotated[bool, _Injected] = False,
    bootstraps: Annotated[list[str], _Injected],
    psk: Annotated[bytes | None, _Injected],
    keyfile: Annotated[str | None, _Injected] = None,
) -> int:
    """Live instances of NAME, closest first: peer id, address, RTT in ms, verdict.

    Every provider of the record's ContentHash is pinged at once, with NetworkHardReq as
    the timeout (1 s when the record has none). Verdicts: good (within NetworkSoftReq),
    slow (within NetworkHardReq), unusable (above it, or no answer; shown with --all).
    Exits 7 with a one-line reason when no instance is usable (the silent ones are then
    given up to 4x the limit, so that it names the closest). With --json: a list of
    {"PeerID", "Addrs", "RTT" (ns, null: no answer), "Verdict"}.

    Parameters
    ----------
    name
        Name of the service.
    all_
        Show unusable instances too.
    """
    import trio

    from domain.instance_verdict import no_usable_reason
    from entrypoints.library.resolve import resolve_service

    resolution = trio.run(lambda: resolve_service(bootstraps, psk, name, keyfile=keyfile,
                                                  measure_silent=True))
    shown = resolution.instances if all_ else resolution.usable()
    print(json_instances(shown) if json_output else human_instances(shown))
    if not resolution.usable():
        print(f"registry-cli: {no_usable_reason(resolution.instances, resolution.info)}",
              file=sys.stderr)
        return EXIT_NO_USABLE_INSTANCE
    return 0


def json_instances(instances: list) -> str:  # type: ignore[type-arg]
    return msgspec.json.encode([
        {"PeerID": i.peer_id, "Addrs": i.addrs, "RTT": i.rtt_ns, "Verdict": str(i.verdict)}
        for i in instances
    ]).decode()


def human_instances(instances: list) -> str:  # type: ignore[type-arg]
    rows = [("PEER ID", "ADDRESS", "RTT MS", "VERDICT")] + [
        (i.peer_id, i.addrs[0] if i.addrs else "-",
         "-" if i.rtt_ns is None else f"{i.rtt_ns / 1e6:.2f}", str(i.verdict))
        for i in instances
    ]
    widths = [max(len(r[c]) for r in rows) for c in range(3)]
    return "\n".join(
        f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]}" for r in rows
    )
