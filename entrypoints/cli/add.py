"""`registry-cli add`: build, push and register an image (the add-image use case).

Its adapters are picked in entrypoints/cli/container.py.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import msgspec
from cyclopts import Parameter

from application.publish import AddImageRequest, AddImageResult
from application.publishing_ports import PublishError
from domain.config_errors import ConfigError
from domain.dockerfile import InvalidBuildPlan
from domain.image_ref import InvalidImageReference, parse_image_reference
from domain.service_config import ServiceConfig, decode_service_config
from domain.service_name import InvalidServiceName

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


# Filled in by registry-cli's global options (--bootstrap, --psk, --json), not parsed here.
_Injected = Parameter(parse=False)


def add_command(
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
    json_output: Annotated[bool, _Injected] = False,
    bootstraps: Annotated[list[str], _Injected],
    psk: Annotated[bytes | None, _Injected],
    keyfile: Annotated[str | None, _Injected] = None,
) -> int:  # the exit code; expected errors print one line
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
    try:
        request = AddImageRequest(
            config=_read_config(config),
            image=parse_image_reference(image_name),
            service_name=service_name,
            context_dir=dir,
            proxy_cmd=proxy_cmd,
            no_add=no_add,
            use_existing_image=use_existing_image,
            content_id=content_id,
        )
    except (ConfigError, InvalidImageReference, InvalidServiceName) as exc:
        return _fail(str(exc), EXIT_USAGE)
    except OSError as exc:
        return _fail(f"cannot read config {config}: {exc.strerror or exc}", EXIT_USAGE)
    if not no_add and not bootstraps:  # look by mDNS before a long build, not after it
        import trio

        from domain.bootstrap import InvalidBootstrapAddress
        from entrypoints.library.lan_bootstraps import bootstraps_on_the_lan

        try:
            bootstraps = [str(b) for b in trio.run(bootstraps_on_the_lan)]
        except InvalidBootstrapAddress as exc:
            return _fail(f"{exc}; or pass --no-add", EXIT_USAGE)
    if custom_proxy is not None and proxy_version is not None:
        return _fail("--custom-proxy and --proxy-version exclude each other", EXIT_USAGE)

    from entrypoints.cli.container import compose_add_image, progress_reporter
    from entrypoints.common.errors import EXPECTED_ERRORS, exit_code_for, explain

    progress = progress_reporter()
    try:
        use_case = compose_add_image(
            request, progress, custom_proxy, proxy_version, bootstraps, psk, keyfile
        )
        result = use_case.run(request)
    except (PublishError, InvalidBuildPlan, InvalidServiceName, InvalidImageReference) as exc:
        return _fail(str(exc), EXIT_FAILURE)
    except KeyboardInterrupt:
        return 130
    except EXPECTED_ERRORS as exc:  # registry-service side: unreachable, refused, ...
        from entrypoints.cli.key_advice import with_key_advice

        return _fail(explain(with_key_advice(exc, keyfile)), exit_code_for(exc))
    _print_result(request, result, json_output)
    return EXIT_OK


def _read_config(path: Path) -> ServiceConfig:
    return decode_service_config(path.read_bytes(), str(path))


def _fail(message: str, code: int) -> int:
    print(f"registry-cli add: {message}", file=sys.stderr)
    return code


def _print_result(request: AddImageRequest, result: AddImageResult, json_output: bool) -> None:
    if json_output:
        record = {
            "Name": request.service_name,
            "Image": result.image,
            "Registered": result.registered,
            "Info": result.info,
            "Response": result.response,
            "Timings": {name: round(seconds, 3) for name, seconds in result.timings.items()},
        }
        print(msgspec.json.encode(record).decode())
        return
    if result.info is None:
        what = "pulled" if request.use_existing_image else "built"
        print(f"Image {result.image} {what}; not pushed or registered (--no-add).")
        return
    from entrypoints.cli.output import human_record

    print(human_record(request.service_name, result.info))
    if result.response:
        print(f"\nregistry-service: {result.response}")
