"""registry-cli: add / get / list / delete registry-service entries."""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import trio
from cyclopts import App, Parameter

from entrypoints import library
from entrypoints.errors import EXPECTED_ERRORS, exit_code_for, explain
from entrypoints.flags import (
    BOOTSTRAP_HELP,
    PSK_HELP,
    go_style_flags,
    resolve_bootstraps,
    resolve_psk,
)
from entrypoints.output import human_list, human_record, json_text

app = App(
    name="registry-cli",
    help="Client for registry-service: add, get, list and delete microservice entries.",
    version_flags=["--version"],
    help_format="plaintext",
)


@dataclass(frozen=True)
class GlobalOptions:
    """What the options before the command say; handed to commands that ask for it."""

    bootstraps: list[str]
    psk: bytes | None
    json: bool

    def resolved_bootstraps(self) -> list[str]:
        return [str(b) for b in resolve_bootstraps(self.bootstraps)]


# Not parsed from the command line: the launcher fills it in.
_Options = Annotated[GlobalOptions, Parameter(parse=False)]


def _run(options: GlobalOptions, operation: Callable[..., Any], *args: Any) -> Any:
    return trio.run(operation, options.resolved_bootstraps(), options.psk, *args)


@app.command
def get(service_name: str, /, *, options: _Options) -> int:
    """Get information about a microservice.

    Parameters
    ----------
    service_name
        Name of the microservice to look up.
    """
    info = _run(options, library.get_service, service_name)
    print(json_text(info) if options.json else human_record(service_name, info))
    return 0


@app.command(name="list")
def list_(*, options: _Options) -> int:
    """List all microservices and information stored by the registry-service."""
    entries = _run(options, library.list_services)
    print(json_text(entries) if options.json else human_list(entries))
    return 0


@app.command
def delete(service_name: str, /, *, options: _Options) -> int:
    """Delete a microservice entry.

    Parameters
    ----------
    service_name
        Name of the microservice to delete.
    """
    text = _run(options, library.delete_service, service_name)
    print(json_text({"Name": service_name, "Deleted": True, "Response": text})
          if options.json else text)
    return 0


@app.command
def status(*, options: _Options) -> int:
    """Show a registry-service instance and its etcd cluster (via /status/0.1).

    Exit code 0 when the cluster has quorum, 4 without it (or when no instance answers),
    1 when the instance reached does not speak /status/0.1.
    """
    from entrypoints.status_output import exit_code, human_status, status_json

    result = _run(options, library.registry_status)
    print(status_json(result) if options.json else human_status(result))
    return exit_code(result)


@app.command(name="hash")
def hash_(file: Annotated[str, Parameter(allow_leading_hyphen=True)], /) -> int:
    """Print the content id (IPFS CIDv0, as `ipfs add` gives) of a file; '-' reads stdin.

    Parameters
    ----------
    file
        Path of the file to hash, or '-' for standard input.
    """
    from entrypoints.cli_hash import hash_command

    return hash_command(file)


# Imported only when used: it brings the Docker SDK along.
app.command("entrypoints.cli_add:add_command", name="add")


@app.meta.default
def _launcher(
    *tokens: Annotated[str, Parameter(show=False, allow_leading_hyphen=True)],
    bootstrap: Annotated[list[str] | None, Parameter(help=BOOTSTRAP_HELP, negative="")] = None,
    psk: Annotated[str | None, Parameter(help=PSK_HELP)] = None,
    json: Annotated[bool, Parameter(help="Print JSON for scripts.", negative="")] = False,
) -> int:
    options = GlobalOptions(bootstraps=list(bootstrap or []), psk=resolve_psk(psk), json=json)
    command, bound, wanted = app.parse_args(tokens)
    injected = {name: _injected(name, options) for name in wanted}
    result = command(*bound.args, **bound.kwargs, **injected)
    return result if isinstance(result, int) else 0


def _injected(name: str, options: GlobalOptions) -> object:
    values: dict[str, Callable[[], object]] = {
        "options": lambda: options,
        "bootstraps": options.resolved_bootstraps,
        "psk": lambda: options.psk,
        "json_output": lambda: options.json,
    }
    return values[name]()


_GLOBAL_FLAGS = ("bootstrap", "psk", "json")
_ADD_FLAGS = ("dir", "custom-proxy", "proxy-version", "proxy-cmd", "no-add",
              "use-existing-image", "content-id")


def main(argv: Sequence[str] | None = None) -> int:
    _quiet_libraries()
    args = go_style_flags(sys.argv[1:] if argv is None else argv, _GLOBAL_FLAGS + _ADD_FLAGS)
    try:
        code = app.meta(args, result_action="return_value")
    except EXPECTED_ERRORS as exc:
        print(f"registry-cli: {explain(exc)}", file=sys.stderr)
        return exit_code_for(exc)
    except KeyboardInterrupt:
        return 130
    return code if isinstance(code, int) else 0


def _show_warning(message: Warning | str, *_: object, **__: object) -> None:
    # One line, like our errors (e.g. "answer may be stale"), not Python's file:line form.
    print(f"registry-cli: warning: {message}", file=sys.stderr)


def _quiet_libraries() -> None:
    warnings.showwarning = _show_warning
    # py-libp2p logs each failed dial attempt; we report the outcome ourselves.
    level = os.environ.get("REGISTRY_LOG_LEVEL", "").upper()
    logging.basicConfig(level=level or logging.WARNING, format="%(name)s: %(message)s")
    if not level:
        logging.getLogger("libp2p").setLevel(logging.CRITICAL)


def run() -> None:
    """Console-script entry: exit without tearing the interpreter down.

    Finalizing the ~2000 modules py-libp2p imports costs 0.1-0.2 s, a third of a
    cold `registry-cli get`; the CLI writes nothing but stdout and stderr, which
    are flushed first.
    """
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
