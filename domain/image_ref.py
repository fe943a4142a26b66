"""Docker image references: ``[registry-host[:port]/]repo[:tag][@digest]``.

The Go original cut the tag at the first ``:``, so ``localhost:5000/x:1.0``
became ``localhost@sha256:...``. Here the registry host is recognised as
Docker does (first component with a ``.`` or ``:``, or ``localhost``) and the
tag is only looked for after the last ``/``.
"""

from __future__ import annotations

import re

import msgspec

DEFAULT_TAG = "latest"
DOCKER_HUB = "docker.io"

_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_HOST = re.compile(
    r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
    r"|\[[0-9a-fA-F:.]+\]"
)
_PORT = re.compile(r"[0-9]{1,5}")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}")


class InvalidImageReference(ValueError):
    """Text that is not a Docker image reference."""


class ImageReference(msgspec.Struct, frozen=True):
    registry: str | None
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """Registry and repository, without tag or digest, as the user wrote them."""
        return f"{self.registry}/{self.repository}" if self.registry else self.repository

    @property
    def tag_or_default(self) -> str:
        return self.tag or DEFAULT_TAG

    @property
    def tagged(self) -> str:
        """``name:tag`` (``latest`` when none was given): what gets built, saved and pushed."""
        return f"{self.name}:{self.tag_or_default}"

    @property
    def registry_host(self) -> str:
        """The registry to authenticate against: the explicit host, else Docker Hub."""
        return self.registry or DOCKER_HUB

    def docker_hash(self, digest: str) -> str:
        """The registry record's DockerHash: the repository without its tag, ``@``, digest."""
        if not _DIGEST.fullmatch(digest):
            raise InvalidImageReference(f"not an image digest: {digest!r}")
        return f"{self.name}@{digest}"

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def _looks_like_registry(component: str) -> bool:
    return "." in component or ":" in component or component == "localhost"


def _check_registry(host_port: str, reference: str) -> None:
    if host_port.startswith("["):  # [IPv6 address]:port
        host, _, port = host_port.partition("]")
        host, port = host + "]", port.removeprefix(":")
    else:
        host, _, port = host_port.partition(":")
    if not _HOST.fullmatch(host) or (port and not _PORT.fullmatch(port)):
        raise InvalidImageReference(f"{reference!r}: {host_port!r} is not a registry host[:port]")
    if port and not 0 < int(port) < 65536:
        raise InvalidImageReference(f"{reference!r}: port {port} is out of range")


def parse_image_reference(reference: str) -> ImageReference:
    """Parse ``[registry-host[:port]/]repo[:tag][@digest]``; raise InvalidImageReference."""
    if not reference or reference != reference.strip():
        raise InvalidImageReference(f"{reference!r} is not an image name")
    rest, at, digest = reference.partition("@")
    if at and not _DIGEST.fullmatch(digest):
        raise InvalidImageReference(f"{reference!r}: {digest!r} is not a digest (sha256:<hex>)")
    registry: str | None = None
    first, slash, remainder = rest.partition("/")
    if slash and _looks_like_registry(first):
        _check_registry(first, reference)
        registry, rest = first, remainder
    last_slash = rest.rfind("/")
    repository, colon, tag = rest.rpartition(":")
    if not colon or repository.rfind("/") != last_slash:
        repository, tag = rest, ""
    elif not _TAG.fullmatch(tag):
        raise InvalidImageReference(f"{reference!r}: {tag!r} is not a valid tag")
    if not repository:
        raise InvalidImageReference(f"{reference!r} has no repository name")
    for component in repository.split("/"):
        if not _COMPONENT.fullmatch(component):
            hint = " (repository names must be lowercase)" if component.lower() != component else ""
            raise InvalidImageReference(
                f"{reference!r}: {component!r} is not a valid repository component{hint}"
            )
    return ImageReference(
        registry=registry, repository=repository, tag=tag or None, digest=digest or None
    )
