"""`docker save` of an image as a chunk stream, for the content hasher.

Which form is saved matters: `docker save name:tag` writes the tag into the
tar's ``manifest.json`` (``RepoTags``) and ``repositories`` files, while
`docker save <image id>` writes neither, so the two tars (and their content
hashes) differ. `add` saves the **tagged** form: the name the user gave, the
one whose repository ends up in DockerHash, so the hash can be reproduced by
anyone with `docker pull name:tag && docker save name:tag | ipfs add -n -q`.

The chunks are read from the engine in a separate thread, a few MiB ahead of
the hasher, so that reading the socket and hashing overlap; nothing is written
to disk and memory stays bounded.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import docker
from docker.errors import APIError, ImageNotFound
from requests.exceptions import RequestException

from adapters.docker.streaming import CHUNK_SIZE, read_ahead
from application.publishing_ports import ImageSaveFailed, StageProgress


class DockerImageArchive:
    def __init__(self, client: docker.DockerClient, chunk_size: int = CHUNK_SIZE) -> None:
        self._client = client
        self._chunk_size = chunk_size

    @contextmanager
    def saved(self, image: str, progress: StageProgress) -> Iterator[Iterator[bytes]]:
        try:
            size = self._client.api.inspect_image(image).get("Size")
            raw = self._client.api.get_image(image, chunk_size=self._chunk_size)
        except ImageNotFound as exc:
            raise ImageSaveFailed(f"cannot save {image}: no such image in the engine") from exc
        except APIError as exc:
            raise ImageSaveFailed(f"cannot save {image}: {exc.explanation or exc}") from exc
        # The tar is a little larger than the image's size (headers, metadata).
        progress.set_total(int(size) if isinstance(size, int) else None)
        chunks = read_ahead(raw, name="image-save")
        try:
            yield _counted(chunks, progress)
        except (APIError, RequestException) as exc:
            reason = getattr(exc, "explanation", None) or exc
            raise ImageSaveFailed(f"saving {image} failed: {reason}") from exc
        finally:
            chunks.close()  # type: ignore[attr-defined]


def _counted(chunks: Iterator[bytes], progress: StageProgress) -> Iterator[bytes]:
    for chunk in chunks:
        progress.advance(len(chunk))
        yield chunk
