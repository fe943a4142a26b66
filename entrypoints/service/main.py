"""registry-service: stores ServiceInfo per service name in etcd, served over libp2p."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import trio
from cyclopts import App, Parameter

from entrypoints.common.errors import EXPECTED_ERRORS, exit_code_for, explain, single_error
from entrypoints.common.flags import (
    go_style_flags,
    resolve_bootstraps,
    resolve_psk,
)
from entrypoints.common.local_etcd import local_etcd
from entrypoints.operator.etcd_member_flags import EtcdMemberFlags
from entrypoints.service.settings import DaemonSettings

if TYPE_CHECKING:
    from domain.etcd_timing import EtcdTiming

app = App(
    name="registry-service",
    help=(
        "Stores information about microservices, indexed by name, in an etcd cluster formed "
        "by all registry-service instances. Start the first instance with --new-etcd-cluster; "
        "later instances join it through --bootstrap peers."
    ),
    version_flags=["--version"],
    help_format="plaintext",
)


_Flag = Parameter(negative="")
_ETCD_MEMBER = EtcdMemberFlags()


@app.default
def serve(
    *,
    algo: str = "RSA",
    bits: int = 2048,
    bootstrap: Annotated[list[str] | None, _Flag] = None,
    ephemeral: Annotated[bool, _Flag] = False,
    etcd_client_port: int = 2379,
    etcd_ip: str = "127.0.0.1",
    etcd_peer_port: int = 2380,
    etcd_data_dir: Path | None = None,
    keyfile: str | None = None,
    local: Annotated[bool, _Flag] = False,
    new_etcd_cluster: Annotated[bool, _Flag] = False,
    prom_listen_addr: str = ":9102",
    psk: str | None = None,
    psk_file: Path | None = None,
    writers_file: Path | None = None,
    listen: Annotated[list[str] | None, _Flag] = None,
    addr_file: Path | None = None,
    advertise_interval: float = 300.0,
    request_timeout: float = 10.0,
    max_inbound_connections: int = 1024,
    max_streams_per_connection: int = 256,
    max_watches: int = 1024,
    leave: Annotated[bool, _Flag] = False,
    unstarted_member_grace: float = 60.0,
    join_timeout: float = 120.0,
    etcd_timeout: float = 3.0,
    etcd_timing: str = "auto",
    etcd_heartbeat_ms: int | None = None,
    etcd_election_ms: int | None = None,
    insecure_etcd: Annotated[bool, _Flag] = False,
    etcd_plaintext_peers: Annotated[bool, _Flag] = False,
    log_level: str = "INFO",
    http_listen: str | None = None,
    http_cert: Path | None = None,
    http_key: Path | None = None,
    http_tokens_file: Path | None = None,
    http_max_connections: int = 1024,
    mdns: Annotated[bool, _Flag] = False,
) -> int:
    """Run a registry-service instance until SIGINT or SIGTERM.

    Parameters
    ----------
    algo
        Key algorithm when generating a key: RSA, Ed25519, Secp256k1 or ECDSA.
    bits
        RSA key length in bits (at least 2048).
    bootstrap
        Multiaddress of a bootstrap node (/ip4/.../tcp/.../p2p/<peer id>); repeatable.
        Default: the space-separated list in environment variable P2P_BOOTSTRAPS.
    ephemeral
        Generate a key just for this run and don't store it; --keyfile is ignored.
    etcd_client_port
        Local etcd member's client port.
    etcd_ip
        Local etcd member's IP address.
    etcd_peer_port
        Local etcd member's peer port.
    etcd_data_dir
        etcd data directory. Default:
        ~/.local/share/physarum-registry/etcd-<ip>-<client port>-<peer port>.
    keyfile
        Private key file to read (or write, if generating). Default: <etcd data dir>.key,
        one per instance, so that instances on one host get distinct peer ids. An instance
        that ran before with the Go default ~/.privKeyHashLookup keeps its peer id (the key
        is copied). --keyfile ~/.privKeyHashLookup uses Go's file.
    local
        For debugging: do not connect to bootstrap peers (overrides --bootstrap).
    new_etcd_cluster
        Start a new etcd cluster (the first instance only).
    prom_listen_addr
        [host]:port to serve Prometheus /metrics on.
    psk
        Passphrase of the private network (its SHA3-256 is the pre-shared key). Use one you
        can memorize or write down safely: without it no new node can join. Default:
        environment variable P2P_PSK; none at all means a public network.
    psk_file
        File holding the passphrase (one trailing line break is ignored), so that it does
        not show in `ps`; keep it mode 0600. Default: environment variable P2P_PSK_FILE.
    writers_file
        File of peer ids allowed to add and delete, one per line, # for comments. Others
        may still get and list. Re-read on SIGHUP (a bad file keeps the old list). Default:
        every peer of the network may write.
    listen
        libp2p listen multiaddr; repeatable. Default: /ip4/0.0.0.0/tcp/0 (an OS-chosen port).
    addr_file
        Once serving, write this node's full /ip4/.../p2p/<id> addresses here, one per line.
    request_timeout
        Seconds one request may take, from stream open to answer; a client that
        sends too slowly or never closes its write side is reset after this.
    max_inbound_connections
        Most inbound libp2p connections open at once. One more is refused with a reason
        the client reports ("at its connection limit"); each one takes an open file.
    max_streams_per_connection
        Most streams open at once on one inbound libp2p connection. One more is refused
        with a reason the client reports; the connection's other streams go on.
    max_watches
        Most /watch/0.1 streams served at once. One more gets an ERROR event saying so
        ("watch limit reached"); the watches already served go on.
    advertise_interval
        Seconds between re-advertisements of the rendezvous in the DHT.
    leave
        When stopped (SIGINT/SIGTERM), remove this instance's etcd member from the cluster
        for good and delete its data dir. Without it, a stopped instance stays a member and
        resumes when restarted.
    unstarted_member_grace
        Seconds after which a member that was added but never started is removed.
    join_timeout
        Seconds a new instance keeps asking to be added to the cluster, and then waits for
        its etcd member to be ready.
    etcd_timeout
        Seconds any one etcd call may take. A write caught by the death of the etcd leader
        fails after this, and the client then tries another instance.
    etcd_timing
        auto: a new member measures the round trip to the other instances and runs etcd's
        election timeout at 4 times it and the heartbeat at a tenth of that (never below
        etcd's defaults, never below what the others run); a restart keeps its values, and a
        member rises to the highest values the others run. defaults: etcd's 100 ms / 1000 ms. See
        docs/cluster.md, "Members far apart".
    etcd_heartbeat_ms
        etcd heartbeat interval in ms; overrides --etcd-timing (with --etcd-election-ms, or
        10 times this).
    etcd_election_ms
        etcd election timeout in ms (at least 5 heartbeats); overrides --etcd-timing.
    insecure_etcd
        Without a passphrase, allow a non-loopback --etcd-ip: etcd's peer port is then open
        to every host that reaches it.
    etcd_plaintext_peers
        With a passphrase, still talk plain HTTP to the other etcd members, for a cluster that
        mixes in instances of the Go original. Every instance of that cluster needs it.
    log_level
        DEBUG, INFO, WARNING or ERROR.
    http_listen
        HOST:PORT of the HTTP API (docs/http.md); off unless given. A non-loopback HOST
        needs --http-cert, --http-key and --http-tokens-file.
    http_cert
        TLS certificate (PEM) of the HTTP API.
    http_key
        TLS private key (PEM) of the HTTP API.
    http_tokens_file
        The HTTP API's bearer tokens (hashes only; see `http-token add`). Re-read on SIGHUP.
    http_max_connections
        Open HTTP connections at most; more wait until one closes (each needs a file
        descriptor, counted in the open-file limit the daemon asks for at start).
    mdns
        Announce this instance on the LAN by libp2p mDNS (_p2p._udp.local: its peer id and
        addresses). With no --bootstrap and no --new-etcd-cluster, join the cluster of the
        peers that answer mDNS within 2 s. The passphrase still guards every connection.
    """
    from entrypoints.service.etcd_exposure import peer_tls_wanted
    from entrypoints.service.http_settings import http_settings

    http = None if http_listen is None else http_settings(
        http_listen, http_cert, http_key, http_tokens_file, http_max_connections)

    _configure_logging(log_level)
    timing = _explicit_etcd_timing(etcd_timing, etcd_heartbeat_ms, etcd_election_ms)
    key = resolve_psk(psk, psk_file)
    peer_tls, warning = peer_tls_wanted(
        psk=key, etcd_ip=etcd_ip, insecure_etcd=insecure_etcd,
        plaintext_peers=etcd_plaintext_peers,
    )
    if warning:
        logging.getLogger("registry-service").warning("%s", warning)
    member = local_etcd(
        etcd_ip=etcd_ip, etcd_client_port=etcd_client_port, etcd_peer_port=etcd_peer_port,
        etcd_data_dir=etcd_data_dir, peer_tls=peer_tls,
    )
    settings = DaemonSettings(
        etcd=member.endpoint,
        etcd_data_dir=member.data_dir,
        new_etcd_cluster=new_etcd_cluster,
        psk=key,
        bootstraps=resolve_bootstraps(bootstrap),
        local=local,
        listen=list(listen or ["/ip4/0.0.0.0/tcp/0"]),
        keyfile=keyfile,
        ephemeral=ephemeral,
        algo=algo,
        bits=bits,
        prom_listen_addr=prom_listen_addr,
        addr_file=addr_file,
        advertise_interval=advertise_interval,
        request_timeout=request_timeout,
        max_inbound_connections=max_inbound_connections,
        max_streams_per_connection=max_streams_per_connection,
        max_watches=max_watches,
        leave=leave,
        unstarted_member_grace=unstarted_member_grace,
        join_timeout=join_timeout,
        etcd_timeout=etcd_timeout,
        writers_file=writers_file,
        http=http,
        mdns=mdns,
        etcd_timing=timing,
    )
    from entrypoints.service.lean_daemon import load_lean

    load_lean(http=http is not None)
    from entrypoints.common.log_levels import route_libp2p_into_our_log
    from entrypoints.service.daemon import run_daemon
    from entrypoints.service.quick_exit import exit_at_once

    route_libp2p_into_our_log()

    exit_at_once(int(trio.run(run_daemon, settings)))
    return 0  # not reached


def _explicit_etcd_timing(
    mode: str, heartbeat_ms: int | None, election_ms: int | None
) -> EtcdTiming | None:
    """None: auto. A bad value stops the start with a one-line error."""
    from application.cluster.member_start import StartupError
    from domain.etcd_timing import DEFAULT_ELECTION_MS, DEFAULT_HEARTBEAT_MS, explicit_timing

    if mode not in ("auto", "defaults"):
        raise StartupError(f"--etcd-timing must be auto or defaults, not {mode!r}")
    if mode == "defaults" and heartbeat_ms is None and election_ms is None:
        heartbeat_ms, election_ms = DEFAULT_HEARTBEAT_MS, DEFAULT_ELECTION_MS
    try:
        return explicit_timing(heartbeat_ms, election_ms)
    except ValueError as exc:
        raise StartupError(str(exc)) from None


# --- operator commands on an instance's etcd member ------------------------------


@app.command(name="leave")
def leave_command(
    *,
    etcd: EtcdMemberFlags = _ETCD_MEMBER,
) -> int:
    """Remove a stopped instance's etcd member and its data dir for good.

    Give the --etcd-* flags the instance ran with. The rest of the cluster
    must have quorum. A running instance leaves when stopped if it was
    started with --leave.
    """
    from entrypoints.operator.cluster_commands import leave_stopped_instance
    from entrypoints.operator.container import OperatorContainer

    _configure_logging("WARNING")
    print(trio.run(leave_stopped_instance, OperatorContainer(), etcd.local()))
    return 0


snapshot = App(name="snapshot", help="Back up the registry (etcd snapshot) and restore it.")
app.command(snapshot)


@snapshot.command(name="save")
def snapshot_save_command(
    file: Path,
    /,
    *,
    etcd: EtcdMemberFlags = _ETCD_MEMBER,
) -> int:
    """Save a snapshot of the running instance's etcd member to FILE.

    FILE holds the whole registry, as `etcdctl snapshot save` writes it.
    It is the member's own copy, so it can be taken even while the cluster
    has no quorum (it may then miss recent writes).

    Parameters
    ----------
    file
        Where to write the snapshot (replaced atomically).
    """
    from entrypoints.operator.cluster_commands import snapshot_save
    from entrypoints.operator.container import OperatorContainer

    print(trio.run(snapshot_save, OperatorContainer(), etcd.local(), file))
    return 0


@snapshot.command(name="restore")
def snapshot_restore_command(
    file: Path,
    /,
    *,
    etcd_client_port: int = 2379,
    etcd_ip: str = "127.0.0.1",
    etcd_peer_port: int = 2380,
    etcd_data_dir: Path | None = None,
    etcdctl: str = "etcdctl",
    skip_hash_check: Annotated[bool, _Flag] = False,
) -> int:
    """Make a new one-member cluster from a snapshot, in an empty data dir.

    Then start registry-service with the same --etcd-* flags; other instances
    join it with empty data dirs. See docs/cluster.md.

    Parameters
    ----------
    file
        The snapshot file (from `registry-service snapshot save` or `etcdctl snapshot save`).
    etcd_client_port
        The new instance's etcd client port.
    etcd_ip
        The new instance's etcd IP address.
    etcd_peer_port
        The new instance's etcd peer port.
    etcd_data_dir
        The new instance's etcd data directory; must not exist or be empty.
    etcdctl
        The etcdctl binary (Debian package etcd-client).
    skip_hash_check
        FILE is a database copied from a member's data dir (member/snap/db), which has no
        hash; see docs/cluster.md on losing quorum for good.
    """
    from entrypoints.operator.cluster_commands import snapshot_restore
    from entrypoints.operator.container import OperatorContainer

    # Restored with an http peer URL: the daemon's first start moves it to https (peer TLS).
    local = local_etcd(etcd_ip=etcd_ip, etcd_client_port=etcd_client_port,
                       etcd_peer_port=etcd_peer_port, etcd_data_dir=etcd_data_dir, peer_tls=False)
    print(snapshot_restore(
        OperatorContainer(), file, local.endpoint, local.data_dir, etcdctl=etcdctl,
        skip_hash_check=skip_hash_check,
    ))
    return 0


@app.command(name="compact")
def compact_command(
    *,
    keep: int = 0,
    etcd: EtcdMemberFlags = _ETCD_MEMBER,
) -> int:
    """Drop the registry's change history older than the last KEEP revisions (etcd compaction).

    Frees etcd's space; `/watch/0.1` clients resuming from a dropped revision get RESET,
    then the current state. Applies to the whole cluster; needs quorum. Run it on the host
    of a running instance, with the --etcd-* flags that instance runs with.

    Parameters
    ----------
    keep
        How many of the latest revisions to keep (0: only the current state).
    """
    from entrypoints.operator.cluster_commands import compact
    from entrypoints.operator.container import OperatorContainer

    print(trio.run(compact, OperatorContainer(), etcd.local(), keep))
    return 0


@app.command(name="status")
def status_command(
    *,
    etcd: EtcdMemberFlags = _ETCD_MEMBER,
    json: Annotated[bool, _Flag] = False,
    etcd_timeout: float = 3.0,
    every_member: Annotated[bool, _Flag] = False,
    psk: str | None = None,
    psk_file: Path | None = None,
) -> int:
    """Show this host's instance and its cluster; exit 0 healthy, 4 no quorum, 1 other trouble.

    Give the --etcd-* flags the daemon runs with (the defaults match the daemon's).
    docs/deploy.md describes the output; --json is stable (docs/protocol.md, /status/0.1).
    The exit code is always the local etcd member's view, with or without --every-member.

    Parameters
    ----------
    json
        Print JSON for scripts.
    etcd_timeout
        Seconds any one etcd call may take.
    every_member
        Also ask the local daemon and every other instance over /status/0.1 (at most 10 s),
        for the other members' raft index and db size; needs the passphrase. Off by default,
        so that the plain command (the image's HEALTHCHECK) stays cheap and loads no libp2p.
        --psk/--psk-file imply it.
    psk
        Passphrase of the private network, for --every-member. Default: environment
        variable P2P_PSK.
    psk_file
        File holding the passphrase, for --every-member. Default: environment variable
        P2P_PSK_FILE.
    """
    from entrypoints.operator.container import OperatorContainer
    from entrypoints.operator.status_command import local_status

    local = etcd.local()
    every_member = every_member or psk is not None or psk_file is not None
    key = resolve_psk(psk, psk_file) if every_member else None
    return int(trio.run(functools.partial(
        local_status, OperatorContainer(), local, as_json=json, timeout=etcd_timeout,
        every_member=every_member, psk=key,
    )))


def _http_token_app() -> App:
    from entrypoints.operator.http_token_command import http_token

    return http_token


app.command(_http_token_app())


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    # py-libp2p logs every peer hiccup at WARNING; keep ours readable.
    logging.getLogger("libp2p").setLevel(max(logging.ERROR, logging.getLogger().level))


_FLAGS = (
    "algo", "bits", "bootstrap", "ephemeral", "etcd-client-port", "etcd-ip", "etcd-peer-port",
    "etcd-data-dir", "keyfile", "local", "new-etcd-cluster", "prom-listen-addr", "psk", "listen",
    "addr-file", "advertise-interval", "request-timeout", "log-level", "leave",
    "max-inbound-connections", "max-streams-per-connection", "max-watches",
    "unstarted-member-grace", "join-timeout", "etcd-timeout", "insecure-etcd",
    "etcd-plaintext-peers", "psk-file", "writers-file", "keep", "every-member",
    "http-listen", "http-cert", "http-key", "http-tokens-file", "http-max-connections",
    "mdns",
)


def main(argv: Sequence[str] | None = None) -> int:
    args = go_style_flags(sys.argv[1:] if argv is None else argv, _FLAGS)
    try:
        code = app(args, result_action="return_value")
    except KeyboardInterrupt:
        return 130
    except BaseException as exc:
        error = single_error(exc)
        if not isinstance(error, _startup_errors() + EXPECTED_ERRORS):
            raise
        if logging.getLogger().handlers:  # the daemon's log: timestamped, with a level
            logging.getLogger("registry-service").error("%s", explain(error))
        else:
            print(f"registry-service: {explain(error)}", file=sys.stderr)
        return exit_code_for(error)
    return code if isinstance(code, int) else 0


def _startup_errors() -> tuple[type[Exception], ...]:
    # Imported only on failure: `status` (the HEALTHCHECK) must not load libp2p and the daemon.
    from adapters.etcd.process import EtcdNotInstalled, EtcdStartFailed
    from adapters.etcd.snapshot import SnapshotFailed
    from adapters.libp2p.identity import IdentityError
    from application.cluster.join import JoinFailed
    from application.cluster.leave import LeaveFailed
    from application.cluster.member_start import StartupError

    return (
        StartupError, EtcdStartFailed, EtcdNotInstalled, IdentityError, JoinFailed, LeaveFailed,
        SnapshotFailed,
    )


if __name__ == "__main__":
    sys.exit(main())
