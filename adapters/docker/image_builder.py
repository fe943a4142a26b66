"""Building the service image with the Docker engine's build API."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import docker
from docker.errors import APIError, ImageNotFound

from adapters.docker.build_context import (
    DirectoryBuildContext,
    prepare_build_context,
    write_tar,
)
from adapters.docker.stream_messages import error_of
from adapters.docker.streaming import written_in_thread
from application.publishing_ports import (
    BaseImageUnavailable,
    BuildContext,
    ImageBuildFailed,
    ImagePublisher,
    StageProgress,
)
from domain.dockerfile import DockerfilePlan
from domain.image_ref import InvalidImageReference, parse_image_reference

_STEP = re.compile(r"^Step (\d+)/(\d+) : ")
_BUILT = re.compile(r"Successfully built ([0-9a-f]+)")


class DockerImageBuilder:
    """ImageBuilder on the engine's classic builder, fed a streamed tar context."""

    def __init__(self, client: docker.DockerClient, base_images: ImagePublisher) -> None:
        self._client = client
        self._base_images = base_images

    def prepare_context(
        self, plan: DockerfilePlan, context_dir: Path, proxy_binary: Path
    ) -> DirectoryBuildContext:
        return prepare_build_context(plan, context_dir, proxy_binary)

    def build(
        self, plan: DockerfilePlan, context: BuildContext, tag: str, progress: StageProgress
    ) -> str:
        assert isinstance(context, DirectoryBuildContext)
        self._ensure_base_image(plan.base_image, progress)
        progress.set_total(context.estimated_tar_bytes)
        upload = _counted(
            written_in_thread(lambda sink: write_tar(context, sink), name="build-context"),
            progress,
        )
        try:
            messages = self._client.api.build(
                fileobj=upload,
                custom_context=True,
                tag=tag,
                rm=True,
                forcerm=True,
                pull=False,
                decode=True,
            )
            return _follow_build(messages, progress)
        except APIError as exc:
            raise ImageBuildFailed(f"docker build of {tag} failed: {_api_message(exc)}") from exc

    def _ensure_base_image(self, base_image: str, progress: StageProgress) -> None:
        # The classic builder resolves a missing FROM image by pulling from its
        # registry (Docker Hub) even with pull=False, and fails with an obscure
        # message offline; check first and pull deliberately, with credentials.
        if base_image == "scratch":
            return
        try:
            self._client.api.inspect_image(base_image)
            return
        except ImageNotFound:
            pass
        try:
            reference = parse_image_reference(base_image)
        except InvalidImageReference as exc:
            raise BaseImageUnavailable(f"FROM {base_image}: {exc}") from exc
        progress.status(f"pulling base image {base_image}")
        try:
            self._base_images.pull(reference, progress)
        except Exception as exc:
            raise BaseImageUnavailable(
                f"base image {base_image!r} is not in the local Docker engine and could not "
                f"be pulled: {exc}"
            ) from exc


def _counted(chunks: Iterator[bytes], progress: StageProgress) -> Iterator[bytes]:
    for chunk in chunks:
        progress.advance(len(chunk))
        yield chunk


def _follow_build(messages: Iterator[dict[str, object]], progress: StageProgress) -> str:
    image_id: str | None = None
    step = ""
    for message in messages:
        error = error_of(message)
        if error is not None:
            where = f" at {step}" if step else ""
            raise ImageBuildFailed(f"docker build failed{where}: {error.strip()}")
        aux = message.get("aux")
        if isinstance(aux, dict) and isinstance(aux.get("ID"), str):
            image_id = aux["ID"]
        text = message.get("stream")
        if not isinstance(text, str):
            continue
        for line in text.splitlines():
            if not line.strip():
                continue
            progress.log(line)
            if _STEP.match(line):
                step = line
                progress.status(line)
            built = _BUILT.search(line)
            if built and image_id is None:
                image_id = built.group(1)
    if image_id is None:
        raise ImageBuildFailed("docker build ended without reporting an image id")
    return image_id


def _api_message(exc: APIError) -> str:
    explanation = getattr(exc, "explanation", None)
    return str(explanation or exc)
