"""Ports of the add-image use case: build, save, push/pull, proxy binary, progress."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

from domain.dockerfile import DockerfilePlan
from domain.image_ref import ImageReference


class PublishError(RuntimeError):
    """An expected failure of `add` whose message is fit to show as is (no traceback)."""


class DockerUnavailable(PublishError):
    """No Docker engine answered."""


class BuildContextError(PublishError):
    """A Copy source is missing, unreadable, or escapes --dir (e.g. through a symlink)."""


class BaseImageUnavailable(PublishError):
    """The Dockerfile's FROM image is neither local nor pullable."""


class ImageBuildFailed(PublishError):
    """The builder reported an error (a failing RUN, a bad COPY, ...)."""


class RegistryAuthFailed(PublishError):
    """The registry refused the credentials, or wanted some and got none."""


class PushFailed(PublishError):
    pass


class PullFailed(PublishError):
    pass


class ImageSaveFailed(PublishError):
    pass


class ProxyUnavailable(PublishError):
    """No proxy binary: --custom-proxy is unusable, or fetching/building it failed."""


class Cancelled(PublishError):
    """Work stopped because a stage running beside it failed."""


class StageProgress(Protocol):
    """What a running stage tells the person watching. Safe to call from any thread."""

    def set_total(self, total: int | None) -> None:
        """Total units (bytes) expected; None when unknown."""
        ...

    def advance(self, amount: int) -> None: ...

    def status(self, text: str) -> None:
        """A short, replaceable status (e.g. which layer is being pushed)."""
        ...

    def log(self, line: str) -> None:
        """A line of a tool's own output (the build log), kept for the user to read."""
        ...


class ProgressReporter(Protocol):
    def stage(self, name: str) -> AbstractContextManager[StageProgress]:
        """Announce a stage; its time is measured until the context exits."""
        ...

    def suspended(self) -> AbstractContextManager[None]:
        """Stop drawing for a moment, e.g. while asking for a password."""
        ...

    def timings(self) -> dict[str, float]:
        """Seconds spent in each finished stage."""
        ...


class ProxySource(Protocol):
    def proxy_binary(self, progress: StageProgress) -> Path:
        """A Linux executable to copy into the image as ``proxy``."""
        ...


class BuildContext(Protocol):
    """A checked build context, ready to be streamed to a builder."""

    @property
    def total_bytes(self) -> int: ...

    @property
    def file_count(self) -> int: ...


class ImageBuilder(Protocol):
    def prepare_context(
        self, plan: DockerfilePlan, context_dir: Path, proxy_binary: Path
    ) -> BuildContext:
        """Check every source (existence, confinement to ``context_dir``) without reading it."""
        ...

    def build(
        self, plan: DockerfilePlan, context: BuildContext, tag: str, progress: StageProgress
    ) -> str:
        """Build and tag the image; return its id. Raises ImageBuildFailed."""
        ...


class ImageArchive(Protocol):
    def saved(self, image: str, progress: StageProgress) -> AbstractContextManager[Iterator[bytes]]:
        """The ``docker save`` tar of ``image`` as a stream of chunks (never all in memory)."""
        ...


class ImagePublisher(Protocol):
    def push(self, image: ImageReference, progress: StageProgress) -> str:
        """Push ``image.tagged``; return the manifest digest the registry reported."""
        ...

    def pull(self, image: ImageReference, progress: StageProgress) -> str:
        """Pull ``image`` (by digest when it has one); return its manifest digest."""
        ...
