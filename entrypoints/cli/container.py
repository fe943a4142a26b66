"""registry-cli's composition root: the one place the CLI picks concrete adapters.

Plain functions, not a dependency-injector container: importing dependency-injector loads
asyncio, about 35 ms that every cold `registry-cli get` would pay (docs/performance.md);
and each adapter is imported only when its command runs, so that `--help` and `hash`
start without the heavy stacks (tests/unit/test_cold_start_imports.py). The commands
that talk to a registry go through the library (entrypoints/library), which wires its
own client node.

For `add`: the Docker engine (build, save, push/pull), the proxy source (--custom-proxy
or git+go), the UnixFS content hasher, a progress reporter (live on a terminal, plain
lines otherwise, always on stderr) and the registry library for the final add.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # at run time each function imports what it needs: `hash` loads no domain
    from adapters.unixfs.hasher import UnixfsContentHasher
    from application.ports import ContentHasher
    from application.publish import AddImage, AddImageRequest, Registrar
    from application.publishing_ports import ProgressReporter, ProxySource
    from domain.service_info import ServiceInfo


def content_hasher() -> UnixfsContentHasher:
    """`hash`: the UnixFS hasher (CIDv0, as `ipfs add` gives)."""
    from adapters.unixfs.hasher import UnixfsContentHasher

    return UnixfsContentHasher()


def new_identity_file(path: str, algo: str, bits: int) -> str:
    """`keygen`: write a new key file (mode 0600, never overwriting); its peer id."""
    from adapters.libp2p.identity import KeyAlgorithm, create_identity_file, peer_id_of

    return str(peer_id_of(create_identity_file(path, KeyAlgorithm.parse(algo), bits)))


def peer_id_of_file(path: str) -> str:
    """`id`: the peer id of a key file."""
    from adapters.libp2p.identity import peer_id_of, read_identity

    return str(peer_id_of(read_identity(path)))


class _Hashless:
    """Stands in for the hasher when --content-id or --no-add means none is needed."""

    def content_id(self, chunks: Iterable[bytes]) -> str:
        raise AssertionError("no content hash was expected in this run")


def progress_reporter() -> ProgressReporter:
    if sys.stderr.isatty() and os.environ.get("TERM") != "dumb":
        from adapters.progress.terminal import TerminalProgressReporter

        return TerminalProgressReporter()
    from adapters.progress.plain import PlainProgressReporter

    return PlainProgressReporter(sys.stderr)


def compose_add_image(
    request: AddImageRequest,
    progress: ProgressReporter,
    custom_proxy: Path | None,
    proxy_version: str | None,
    bootstraps: list[str],
    psk: bytes | None,
    keyfile: str | None = None,
) -> AddImage:
    from adapters.docker.credentials import RegistryCredentialSource, terminal_prompt
    from adapters.docker.engine import connect_docker, engine_architecture
    from adapters.docker.image_archive import DockerImageArchive
    from adapters.docker.image_builder import DockerImageBuilder
    from adapters.docker.image_publisher import DockerImagePublisher
    from application.publish import AddImage

    client = connect_docker()
    credentials = RegistryCredentialSource(prompt=terminal_prompt(progress.suspended))
    publisher = DockerImagePublisher(client, credentials)
    needs_proxy = not request.use_existing_image
    return AddImage(
        builder=DockerImageBuilder(client, publisher),
        archive=DockerImageArchive(client),
        publisher=publisher,
        proxy_source=_proxy_source(
            custom_proxy, proxy_version, engine_architecture(client) if needs_proxy else None
        ),
        hasher=_hasher(request),
        progress=progress,
        register=_registrar(bootstraps, psk, keyfile),
    )


def _proxy_source(
    custom_proxy: Path | None, proxy_version: str | None, goarch: str | None
) -> ProxySource:
    if custom_proxy is not None:
        from adapters.proxy.local_proxy import LocalProxyBinary

        return LocalProxyBinary(custom_proxy)
    from adapters.proxy.git_proxy_builder import (
        DEFAULT_PROXY_REPOSITORY,
        PROXY_REPOSITORY_VARIABLE,
        GitProxyBuilder,
    )

    repository = os.environ.get(PROXY_REPOSITORY_VARIABLE) or DEFAULT_PROXY_REPOSITORY
    return GitProxyBuilder(repository, proxy_version, goarch=goarch)


def _hasher(request: AddImageRequest) -> ContentHasher:
    if request.no_add or request.content_id is not None:
        return _Hashless()
    from adapters.unixfs.hasher import UnixfsContentHasher

    return UnixfsContentHasher()


def _registrar(bootstraps: list[str], psk: bytes | None, keyfile: str | None) -> Registrar:
    def register(name: str, info: ServiceInfo) -> str:
        from entrypoints import library

        return str(library.add_service_blocking(bootstraps, psk, name, info, keyfile=keyfile))

    return register


