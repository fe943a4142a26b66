"""registry-service: stores ServiceInfo per service name in etcd, served over libp2p."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import trio
from cyclopts import App, Parameter

from domain.cluster import EtcdEndpoint
from entrypoints.errors import EXPECTED_ERRORS, exit_code_for, explain
from entrypoints.flags import BOOTSTRAP_HELP, PSK_HELP, go_style_flags, resolve_bootstraps, resolve_psk
from entrypoints.settings import DaemonSettings

app = App(
    name="registry-service",
    help=(
        "Stores information about microservices, indexed by name, in an etcd cluster formed "
        "by all registry-service instances. Start the first instance with --new-etcd-cluster; "
        "later instances join it through --bootstrap peers."
    ),
    version_flags=["--version"],
)


def default_data_dir(endpoint: EtcdEndpoint) -> Path:
    base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "physarum-registry" / f"etcd-{endpoint.member_name}"


@app.default
def serve(
    *,
    algo: Annotated[str, Parameter(help="Key algorithm when generating a key: RSA, Ed25519 or Secp256k1.")] = "RSA",
    bits: Annotated[int, Parameter(help="RSA key length in bits (at least 2048).")] = 2048,
    bootstrap: Annotated[list[str] | None, Parameter(help=BOOTSTRAP_HELP, negative="")] = None,
    ephemeral: Annotated[bool, Parameter(help="Generate a key just for this run; ignore --keyfile.", negative="")] = False,
    etcd_client_port: Annotated[int, Parameter(help="Local etcd member's client port.")] = 2379,
    etcd_ip: Annotated[str, Parameter(help="Local etcd member's IP address.")] = "127.0.0.1",
    etcd_peer_port: Annotated[int, Parameter(help="Local etcd member's peer port.")] = 2380,
    etcd_data_dir: Annotated[Path | None, Parameter(help="etcd data directory. Default: ~/.local/share/physarum-registry/etcd-<ip>-<client port>-<peer port>.")] = None,
    keyfile: Annotated[str, Parameter(help="Private key file to read (or write, if generating).")] = "~/.privKeyHashLookup",
    local: Annotated[bool, Parameter(help="For debugging: do not connect to bootstrap peers.", negative="")] = False,
    new_etcd_cluster: Annotated[bool, Parameter(help="Start a new etcd cluster (the first instance).", negative="")] = False,
    prom_listen_addr: Annotated[str, Parameter(help="[host]:port to serve Prometheus /metrics on.")] = ":9102",
    psk: Annotated[str | None, Parameter(help=PSK_HELP)] = None,
    listen: Annotated[list[str] | None, Parameter(help="libp2p listen multiaddr (repeatable). Default: /ip4/0.0.0.0/tcp/0 (an OS-chosen port).", negative="")] = None,
    addr_file: Annotated[Path | None, Parameter(help="Write this node's full /ip4/.../p2p/<id> addresses here once it serves, one per line.")] = None,
    advertise_interval: Annotated[float, Parameter(help="Seconds between re-advertisements in the DHT.")] = 300.0,
    log_level: Annotated[str, Parameter(help="DEBUG, INFO, WARNING or ERROR.")] = "INFO",
) -> int:
    """Run a registry-service instance until SIGINT or SIGTERM."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    # py-libp2p logs every peer hiccup at WARNING; keep ours readable.
    logging.getLogger("libp2p").setLevel(max(logging.ERROR, logging.getLogger().level))
    endpoint = EtcdEndpoint(ip=etcd_ip, client_port=etcd_client_port, peer_port=etcd_peer_port)
    settings = DaemonSettings(
        etcd=endpoint,
        etcd_data_dir=(etcd_data_dir or default_data_dir(endpoint)).expanduser(),
        new_etcd_cluster=new_etcd_cluster,
        psk=resolve_psk(psk),
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
    )
    from entrypoints.daemon import run_daemon

    trio.run(run_daemon, settings)
    return 0


_FLAGS = (
    "algo", "bits", "bootstrap", "ephemeral", "etcd-client-port", "etcd-ip", "etcd-peer-port",
    "etcd-data-dir", "keyfile", "local", "new-etcd-cluster", "prom-listen-addr", "psk", "listen",
    "addr-file", "advertise-interval", "log-level",
)


def main(argv: Sequence[str] | None = None) -> int:
    args = go_style_flags(sys.argv[1:] if argv is None else argv, _FLAGS)
    from entrypoints.daemon import StartupError

    try:
        code = app(args, result_action="return_value")
    except (StartupError, *EXPECTED_ERRORS) as exc:
        print(f"registry-service: {explain(exc)}", file=sys.stderr)
        return exit_code_for(exc)
    except KeyboardInterrupt:
        return 130
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
