"""The add-image use case: config -> Dockerfile -> build -> save+hash / push -> register.

Saving+hashing and pushing both only read the built image, so they run side by
side (the push in a daemon thread): on a 100 MB image that hides most of the
hashing time behind the push. A failure of either stops the other's stream.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from application.ports import ContentHasher
from application.publishing_ports import (
    Cancelled,
    ImageArchive,
    ImageBuilder,
    ImagePublisher,
    ProgressReporter,
    ProxySource,
    PublishError,
)
from domain.dockerfile import plan_dockerfile
from domain.image_ref import ImageReference
from domain.service_config import ServiceConfig
from domain.service_info import ServiceInfo
from domain.service_name import validate_service_name

# Registers ``info`` under ``name``; returns the registry-service's reply text.
Registrar = Callable[[str, ServiceInfo], str]


class PublishRequestInvalid(PublishError):
    """Options that contradict each other or the image name."""


@dataclass(frozen=True)
class AddImageRequest:
    config: ServiceConfig
    image: ImageReference
    service_name: str
    context_dir: Path = Path(".")
    proxy_cmd: str | None = None
    no_add: bool = False
    use_existing_image: bool = False
    content_id: str | None = None


@dataclass
class AddImageResult:
    image: str
    registered: bool = False
    info: ServiceInfo | None = None
    response: str | None = None
    image_id: str | None = None
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class AddImage:
    builder: ImageBuilder
    archive: ImageArchive
    publisher: ImagePublisher
    proxy_source: ProxySource
    hasher: ContentHasher
    progress: ProgressReporter
    register: Registrar

    def run(self, request: AddImageRequest) -> AddImageResult:
        validate_service_name(request.service_name)
        if request.content_id is not None and not request.content_id.strip():
            raise PublishRequestInvalid("--content-id must not be empty")
        if request.use_existing_image:
            result, digest = self._pull(request)
        else:
            if request.image.digest:
                raise PublishRequestInvalid(
                    f"{request.image} names a digest; a newly built image can only be pushed "
                    "to a tag (drop the @digest, or use --use-existing-image)"
                )
            result = self._build(request)
            if request.no_add:
                return self._finish(result)
            content_hash, digest = self._hash_and_push(request)
            return self._register(request, result, content_hash, digest)
        if request.no_add:
            return self._finish(result)
        content_hash = request.content_id or self._save_and_hash(request, _image_to_save(request))
        return self._register(request, result, content_hash, digest)

    def _build(self, request: AddImageRequest) -> AddImageResult:
        plan = plan_dockerfile(request.config, request.service_name, request.proxy_cmd)
        with self.progress.stage("proxy") as stage:
            proxy = self.proxy_source.proxy_binary(stage)
        with self.progress.stage("context") as stage:
            context = self.builder.prepare_context(plan, request.context_dir, proxy)
            stage.status(f"{context.file_count} files, {context.total_bytes} bytes")
        with self.progress.stage("build") as stage:
            image_id = self.builder.build(plan, context, request.image.tagged, stage)
        return AddImageResult(image=request.image.tagged, image_id=image_id)

    def _pull(self, request: AddImageRequest) -> tuple[AddImageResult, str]:
        with self.progress.stage("pull") as stage:
            digest = self.publisher.pull(request.image, stage)
        return AddImageResult(image=str(request.image)), digest

    def _hash_and_push(self, request: AddImageRequest) -> tuple[str, str]:
        if request.content_id is not None:
            with self.progress.stage("push") as stage:
                return request.content_id, self.publisher.push(request.image, stage)
        stop = threading.Event()
        pushed = _InBackground(lambda: self._push_then_flag(request, stop), name="push")
        try:
            content_hash = self._save_and_hash(request, request.image.tagged, stop)
        except Cancelled:
            content_hash = ""  # the push failed; its error is the one to report
        except BaseException:
            stop.set()  # on Ctrl-C the push thread is a daemon: exiting ends it
            raise
        return content_hash, pushed.result()

    def _push_then_flag(self, request: AddImageRequest, stop: threading.Event) -> str:
        try:
            with self.progress.stage("push") as stage:
                return self.publisher.push(request.image, stage)
        except BaseException:
            stop.set()
            raise

    def _save_and_hash(
        self, request: AddImageRequest, image: str, stop: threading.Event | None = None
    ) -> str:
        with (
            self.progress.stage("save+hash") as stage,
            self.archive.saved(image, stage) as chunks,
        ):
            return self.hasher.content_id(_stoppable(chunks, stop))

    def _register(
        self, request: AddImageRequest, result: AddImageResult, content_hash: str, digest: str
    ) -> AddImageResult:
        result.info = request.config.service_info(
            content_hash=content_hash, docker_hash=request.image.docker_hash(digest)
        )
        with self.progress.stage("register") as stage:
            stage.status(request.service_name)
            result.response = self.register(request.service_name, result.info)
        result.registered = True
        return self._finish(result)

    def _finish(self, result: AddImageResult) -> AddImageResult:
        result.timings = self.progress.timings()
        return result


def _image_to_save(request: AddImageRequest) -> str:
    # Saved by tag whenever the image was pulled by tag: see docs/performance.md on
    # why the tagged form is the one hashed (its tar differs from the untagged one).
    # A pull by digest leaves no tag behind, so that image is saved by digest.
    if request.image.digest:
        return f"{request.image.name}@{request.image.digest}"
    return request.image.tagged


class _InBackground:
    """Runs one call in a daemon thread (so Ctrl-C is never held up by it)."""

    def __init__(self, call: Callable[[], str], name: str) -> None:
        self._call = call
        self._value: str | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._call()
        except BaseException as exc:  # re-raised in the caller's thread by result()
            self._error = exc

    def result(self) -> str:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._value is not None
        return self._value


def _stoppable(chunks: Iterable[bytes], stop: threading.Event | None) -> Iterator[bytes]:
    for chunk in chunks:
        if stop is not None and stop.is_set():
            raise Cancelled("stopped hashing because the push failed")
        yield chunk
