"""Pushing and pulling images through the engine, to Docker Hub or any registry."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import docker
from docker.errors import APIError

from adapters.docker.credentials import (
    RegistryCredentials,
    RegistryCredentialSource,
    how_to_authenticate,
)
from adapters.docker.stream_messages import LayerProgress, digest_of, error_of, is_auth_failure
from application.publishing_ports import (
    PublishError,
    PullFailed,
    PushFailed,
    RegistryAuthFailed,
    StageProgress,
)
from domain.image_ref import ImageReference

_Operation = Callable[[dict[str, str] | None], Iterator[dict[str, Any]]]


class DockerImagePublisher:
    """ImagePublisher: the digest comes from the engine's own progress stream."""

    def __init__(self, client: docker.DockerClient, credentials: RegistryCredentialSource) -> None:
        self._client = client
        self._credentials = credentials

    def push(self, image: ImageReference, progress: StageProgress) -> str:
        def start(auth: dict[str, str] | None) -> Iterator[dict[str, Any]]:
            return self._client.api.push(  # type: ignore[no-any-return]
                image.name, tag=image.tag_or_default, stream=True, decode=True, auth_config=auth
            )

        return self._with_credentials("push", image, start, progress, PushFailed)

    def pull(self, image: ImageReference, progress: StageProgress) -> str:
        def start(auth: dict[str, str] | None) -> Iterator[dict[str, Any]]:
            # The engine takes a digest in the tag parameter.
            return self._client.api.pull(  # type: ignore[no-any-return]
                image.name,
                tag=image.digest or image.tag_or_default,
                stream=True,
                decode=True,
                auth_config=auth,
            )

        return self._with_credentials("pull", image, start, progress, PullFailed)

    def _with_credentials(
        self,
        verb: str,
        image: ImageReference,
        start: _Operation,
        progress: StageProgress,
        failure: type[PublishError],
    ) -> str:
        registry = image.registry_host
        credentials = self._credentials.initial(registry)
        while True:
            try:
                return _follow(verb, image, partial(start, _auth(credentials)), progress, failure)
            except RegistryAuthFailed as refused:
                retry = self._credentials.after_refusal(registry, credentials, str(refused))
                if retry is None:
                    user = credentials.username if credentials else None
                    who = f" as {user}" if user else ""
                    raise RegistryAuthFailed(
                        f"{verb} of {image} refused by {registry}{who}: {refused}; "
                        f"{how_to_authenticate(registry)}"
                    ) from refused
                credentials = retry


def _auth(credentials: RegistryCredentials | None) -> dict[str, str] | None:
    # An empty dict, not None: None would make the SDK fall back on config.json
    # by itself, behind the back of the source above.
    return credentials.auth_config() if credentials else {}


def _follow(
    verb: str,
    image: ImageReference,
    start: Callable[[], Iterator[dict[str, Any]]],
    progress: StageProgress,
    failure: type[PublishError],
) -> str:
    layers = LayerProgress()
    reported = 0
    digest: str | None = None
    try:
        for message in start():
            error = error_of(message)
            if error is not None:
                raise _classified(error, failure)
            digest = digest_of(message) or digest
            if layers.update(message):
                progress.set_total(layers.total)
                if layers.current > reported:
                    progress.advance(layers.current - reported)
                    reported = layers.current
            status = message.get("status")
            if isinstance(status, str) and status:
                layer = message.get("id")
                progress.status(f"{layer}: {status}" if layer else status)
    except APIError as exc:  # refused before streaming (e.g. no such local image)
        raise _classified(str(exc.explanation or exc), failure) from exc
    if digest is None:
        raise failure(f"{verb} of {image} ended without the registry reporting a digest")
    return digest


def _classified(error: str, failure: type[PublishError]) -> PublishError:
    if is_auth_failure(error):
        return RegistryAuthFailed(error.strip())
    return failure(error.strip())
