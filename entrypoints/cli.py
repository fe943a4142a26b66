"""registry-cli: add / get / list / delete registry-service entries."""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
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


class _Options:
    bootstraps: list[str] = []
    psk: bytes | None = None
    json: bool = False


def _run(operation: Callable[..., Any], *args: Any) -> Any:
    bootstraps = [str(b) for b in resolve_bootstraps(_Options.bootstraps)]
    return trio.run(operation, bootstraps, _Options.psk, *args)


@app.command
def get(service_name: str, /) -> int:
    """Get information about a microservice.

    Parameters
    ----------
    service_name
        Name of the microservice to look up.
    """
    info = _run(library.get_service, service_name)
    print(json_text(info) if _Options.json else human_record(service_name, info))
    return 0


@app.command(name="list")
def list_() -> int:
    """List all microservices and information stored by the registry-service."""
    entries = _run(library.list_services)
    print(json_text(entries) if _Options.json else human_list(entries))
    return 0


@app.command
def delete(service_name: str, /) -> int:
    """Delete a microservice entry.

    Parameters
    ----------
    service_name
        Name of the microservice to delete.
    """
    text = _run(library.delete_service, service_name)
    print(json_text({"Name": service_name, "Deleted": True, "Response": text})
          if _Options.json else text)
    return 0


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


@app.command
def add(
    config: Path,
    image_name: str,
    service_name: str,
    /,
    *,
    dir: Path = Path("."),
    custom_proxy: Path | None = None,
    proxy_version: str | None = None,
    proxy_cmd: str | None = None,
    no_add: bool = False,
    use_existing_image: bool = False,
    content_id: str | None = None,
) -> int:
    """Build a Docker image for a microservice, push it and add it to the registry-service.

    Example: registry-cli add --dir ./image-files ./service-conf.json user/service:1.0 my-service

    Parameters
    ----------
    config
        JSON service configuration file (see the README for its format).
    image_name
        Docker image to push to ([registry-host[:port]/]repository:tag).
    service_name
        Name to register the microservice under.
    dir
        Directory holding the files listed in the config's DockerConf.Copy.
    custom_proxy
        Use this locally built proxy binary instead of building one from source.
    proxy_version
        git checkout target (commit, branch, tags/<name>) of the proxy to build.
    proxy_cmd
        Command that runs the proxy, e.g. './proxy --configfile conf.json $PROXY_PORT'.
    no_add
        Build the image only: do not push it or add it to the registry-service.
    use_existing_image
        Do not build or push: pull the existing image and add it to the registry-service.
    content_id
        Use this string as the content hash instead of hashing the saved image.
    """
    from entrypoints.cli_add import add_command

    return add_command(
        config, image_name, service_name,
        dir=dir, custom_proxy=custom_proxy, proxy_version=proxy_version,
        proxy_cmd=proxy_cmd, no_add=no_add, use_existing_image=use_existing_image,
        content_id=content_id, json_output=_Options.json,
        bootstraps=[str(b) for b in resolve_bootstraps(_Options.bootstraps)],
        psk=_Options.psk,
    )


@app.meta.default
def _launcher(
    *tokens: Annotated[str, Parameter(show=False, allow_leading_hyphen=True)],
    bootstrap: Annotated[list[str] | None, Parameter(help=BOOTSTRAP_HELP, negative="")] = None,
    psk: Annotated[str | None, Parameter(help=PSK_HELP)] = None,
    json: Annotated[bool, Parameter(help="Print JSON for scripts.", negative="")] = False,
) -> int:
    _Options.bootstraps = list(bootstrap or [])
    _Options.psk = resolve_psk(psk)
    _Options.json = json
    result = app(tokens, result_action="return_value")
    return result if isinstance(result, int) else 0


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
