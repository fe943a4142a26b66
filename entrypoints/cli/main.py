"""registry-cli: add / get / list / delete registry-service entries."""

from __future__ import annotations

import functools
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from cyclopts import App, Parameter

from entrypoints.common.broken_pipe import exit_quietly_on_broken_pipe
from entrypoints.common.flags import (
    BOOTSTRAP_HELP,
    PSK_FILE_HELP,
    PSK_HELP,
    go_style_flags,
    resolve_bootstraps,
    resolve_psk,
)

INSTANCE_HELP = (
    "Ask only this registry-service instance, for diagnosis: its peer id, or its multiaddr "
    "ending in /p2p/<peer id> (then no --bootstrap is needed). Without it, requests go to a "
    "random live instance."
)

app = App(
    name="registry-cli",
    help="Client for registry-service: add, get, list, delete, put and watch microservice "
    "entries; status of the cluster; client identities and content hashes.",
    version_flags=["--version"],
    help_format="plaintext",
)


@dataclass(frozen=True)
class GlobalOptions:
    """What the options before the command say; handed to commands that ask for it."""

    bootstraps: list[str]
    psk: bytes | None
    json: bool
    keyfile: str | None = None
    instance: str | None = None

    def resolved_bootstraps(self) -> list[str]:
        return [str(b) for b in resolve_bootstraps(self.bootstraps)]


# Not parsed from the command line: the launcher fills it in.
_Options = Annotated[GlobalOptions, Parameter(parse=False)]


KEYFILE_HELP = (
    "Key file (the daemon's Go format) giving this client its peer id, as a registry's "
    "--writers-file names it. Default: environment variable REGISTRY_CLI_KEYFILE; none means "
    "a new identity for each run."
)


def _run(options: GlobalOptions, operation: Callable[..., Any], *args: Any) -> Any:
    # Commands import the library (and with it trio and py-libp2p) inside their body:
    # --help, --version and hash must start without them (test_cold_start_imports.py).
    import trio

    call = functools.partial(
        operation, options.resolved_bootstraps(), options.psk, *args,
        keyfile=options.keyfile, instance=options.instance,
    )
    return trio.run(call)


@app.command
def get(service_name: str, /, *, options: _Options) -> int:
    """Get information about a microservice.

    Parameters
    ----------
    service_name
        Name of the microservice to look up.
    """
    from entrypoints.cli.output import human_record, json_text, with_revision
    from entrypoints.cli.revision import get_with_revision

    info, revision = _run(options, get_with_revision, service_name)
    print(json_text(with_revision(info, revision)) if options.json
          else human_record(service_name, info, revision))
    return 0


@app.command(name="list")
def list_(*, prefix: str | None = None, options: _Options) -> int:
    """List all microservices and information stored by the registry-service.

    Parameters
    ----------
    prefix
        Only the services whose names start with this, listed a page at a time
        (/list/0.2; an instance without it answers the whole list, filtered here).
    """
    from entrypoints.cli.output import human_list, json_text
    from entrypoints.library import list_services

    entries = _run(options, functools.partial(list_services, prefix=prefix))
    print(json_text(entries) if options.json else human_list(entries))
    return 0


@app.command
def delete(service_name: str, /, *, if_revision: int | None = None, options: _Options) -> int:
    """Delete a microservice entry.

    Parameters
    ----------
    service_name
        Name of the microservice to delete.
    if_revision
        Only if the record is still at this revision (as `get` shows it); else exit code 6.
    """
    from entrypoints.cli.output import json_text

    if if_revision is not None:
        from entrypoints.cli.revision import delete_if

        revision = _run(options, delete_if, service_name, if_revision)
        print(json_text({"Name": service_name, "Deleted": True, "Revision": revision})
              if options.json else f"Deleted {service_name} at revision {revision}")
        return 0
    from entrypoints.library import delete_service

    text = _run(options, delete_service, service_name)
    print(json_text({"Name": service_name, "Deleted": True, "Response": text})
          if options.json else text)
    return 0


@app.command
def status(*, options: _Options) -> int:
    """Show a registry-service instance and its etcd cluster (via /status/0.1).

    Exit code 0 when the cluster has quorum, 4 without it (or when no instance answers),
    1 when the instance reached does not speak /status/0.1.
    """
    import sys

    from application.ports import ProtocolNotSpoken
    from entrypoints.common.status_output import (
        EXIT_TROUBLE,
        exit_code,
        human_status,
        missing_figures_hint,
        status_json,
    )
    from entrypoints.library import registry_status

    try:
        result = _run(options, registry_status)
    except ProtocolNotSpoken as exc:
        print(f"registry-cli: {exc}", file=sys.stderr)
        return EXIT_TROUBLE
    hint = "" if options.instance is None else missing_figures_hint(
        result, "leaving --instance out")
    print(status_json(result) if options.json else human_status(result) + hint)
    return exit_code(result)


@app.command(name="hash")
def hash_(file: Annotated[str, Parameter(allow_leading_hyphen=True)], /) -> int:
    """Print the content id (IPFS CIDv0, as `ipfs add` gives) of a file; '-' reads stdin.

    Parameters
    ----------
    file
        Path of the file to hash, or '-' for standard input.
    """
    from entrypoints.cli.hash import hash_command

    return hash_command(file)


@app.command
def keygen(path: str, /, *, algo: str = "Ed25519", bits: int = 2048) -> int:
    """Write a new key file (mode 0600, never overwriting one) and print its peer id last.

    Parameters
    ----------
    path
        Where to write the key file.
    algo
        Key algorithm: Ed25519, RSA, Secp256k1 or ECDSA.
    bits
        RSA key length in bits (at least 2048).
    """
    from entrypoints.cli.container import new_identity_file

    peer_id = new_identity_file(path, algo, bits)
    print(f"wrote {path}; its peer id (for a --writers-file):")
    print(peer_id)
    return 0


@app.command(name="id")
def id_(
    *,
    keyfile: str | None = None,
    global_keyfile: Annotated[str | None, Parameter(parse=False)] = None,
) -> int:
    """Print the peer id of a key file (what a registry's --writers-file lists).

    Parameters
    ----------
    keyfile
        The key file; default: the global --keyfile or REGISTRY_CLI_KEYFILE.
    """
    from entrypoints.cli.container import peer_id_of_file

    path = keyfile or global_keyfile
    if path is None:
        raise ValueError("give the key file: registry-cli id --keyfile PATH")
    print(peer_id_of_file(path))
    return 0


# Imported only when used: it brings the Docker SDK along.
app.command(
    "entrypoints.cli.add:add_command",
    name="add",
    help="Build a Docker image for a microservice, push it and add it to the registry.",
)
app.command(
    "entrypoints.cli.watch:watch_command",
    name="watch",
    help="Follow the registry as it changes: the records, then every change. Ctrl-C stops.",
)
app.command(
    "entrypoints.cli.put:put_command",
    name="put",
    help="Register a record given in the Go JSON shape; prints its revision.",
)

# Announce and resolve instances (issue 23).
app.command(
    "entrypoints.cli.instances:announce_command",
    name="announce",
    help="Announce a running instance of a service (advertise its ContentHash, answer "
    "ping) until SIGTERM or SIGINT.",
)
app.command(
    "entrypoints.cli.instances:instances_command",
    name="instances",
    help="Live instances of a service, closest first, judged against its requirements; "
    "exit 7 when none is usable.",
)


@app.meta.default
def _launcher(
    *tokens: Annotated[str, Parameter(show=False, allow_leading_hyphen=True)],
    bootstrap: Annotated[list[str] | None, Parameter(help=BOOTSTRAP_HELP, negative="")] = None,
    psk: Annotated[str | None, Parameter(help=PSK_HELP)] = None,
    psk_file: Annotated[str | None, Parameter(help=PSK_FILE_HELP)] = None,
    keyfile: Annotated[str | None, Parameter(help=KEYFILE_HELP)] = None,
    json: Annotated[bool, Parameter(help="Print JSON for scripts.", negative="")] = False,
    instance: Annotated[str | None, Parameter(help=INSTANCE_HELP)] = None,
) -> int:
    _quiet_libraries()  # here, not in main(): --help and --version need no logging set-up
    command, bound, wanted = app.parse_args(tokens)
    options = GlobalOptions(
        bootstraps=list(bootstrap or []),
        # Only commands that talk to a registry need the passphrase: keygen and id don't
        # read (or warn about) one.
        psk=resolve_psk(psk, psk_file) if {"options", "psk"} & set(wanted) else None,
        json=json,
        keyfile=keyfile or os.environ.get("REGISTRY_CLI_KEYFILE") or None,
        instance=instance,
    )
    injected = {name: _injected(name, options) for name in wanted}
    try:
        result = command(*bound.args, **bound.kwargs, **injected)
    except Exception as exc:
        from entrypoints.cli.key_advice import with_key_advice
        from entrypoints.cli.psk_hint import psk_source, with_passphrase_hint

        hinted = with_key_advice(
            with_passphrase_hint(exc, psk_source(psk, psk_file)), options.keyfile
        )
        if hinted is exc:
            raise
        raise hinted from None
    return result if isinstance(result, int) else 0


def _injected(name: str, options: GlobalOptions) -> object:
    values: dict[str, Callable[[], object]] = {
        "options": lambda: options,
        "bootstraps": options.resolved_bootstraps,
        "psk": lambda: options.psk,
        "json_output": lambda: options.json,
        "keyfile": lambda: options.keyfile,
        "global_keyfile": lambda: options.keyfile,
    }
    return values[name]()


_GLOBAL_FLAGS = ("bootstrap", "psk", "psk-file", "keyfile", "json", "instance")
_ADD_FLAGS = ("dir", "custom-proxy", "proxy-version", "proxy-cmd", "no-add",
              "use-existing-image", "content-id")
_WATCH_FLAGS = ("prefix", "since", "if-absent", "if-revision")
_INSTANCE_FLAGS = ("listen", "announce-addr", "all")


def main(argv: Sequence[str] | None = None) -> int:
    known = _GLOBAL_FLAGS + _ADD_FLAGS + _WATCH_FLAGS + _INSTANCE_FLAGS
    args = go_style_flags(sys.argv[1:] if argv is None else argv, known)
    try:
        code = app.meta(args, result_action="return_value")
        sys.stdout.flush()
    except BrokenPipeError:
        return exit_quietly_on_broken_pipe()
    except Exception as exc:
        # Imported on failure only: the error types bring the domain along, which
        # --help and hash need not load.
        from entrypoints.common.errors import EXPECTED_ERRORS, exit_code_for, explain

        if not isinstance(exc, EXPECTED_ERRORS):
            raise
        print(f"registry-cli: {explain(exc)}", file=sys.stderr)
        return exit_code_for(exc)
    except KeyboardInterrupt:
        return 130
    return code if isinstance(code, int) else 0


def _show_warning(message: Warning | str, *_: object, **__: object) -> None:
    # One line, like our errors (e.g. "answer may be stale"), not Python's file:line form.
    print(f"registry-cli: warning: {message}", file=sys.stderr)


def _quiet_libraries() -> None:
    import logging

    from entrypoints.common.log_levels import quiet_libp2p, requested_level

    warnings.showwarning = _show_warning
    level = requested_level()
    logging.basicConfig(level=level or logging.WARNING, format="%(name)s: %(message)s")
    quiet_libp2p()  # py-libp2p logs each failed dial; we report the outcome ourselves


def run() -> None:
    """Console-script entry: exit without tearing the interpreter down.

    Finalizing the ~2000 modules py-libp2p imports costs 0.1-0.2 s, a third of a
    cold `registry-cli get`; the CLI writes nothing but stdout and stderr, which
    are flushed first.
    """
    # A whole short-lived process: py-libp2p's QUIC, TLS, relay and DNS parts, which a
    # client never runs, are stood in for (~3/4 of its import time).
    from adapters.libp2p.upstream.lean_import import activate

    activate()
    code = main()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        code = exit_quietly_on_broken_pipe()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
