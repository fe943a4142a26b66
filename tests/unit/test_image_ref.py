"""Image references, and the DockerHash the Go original got wrong for registry hosts with ports."""

from __future__ import annotations

import pytest

from domain.image_ref import ImageReference, InvalidImageReference, parse_image_reference

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        ("ubuntu", None, "ubuntu", None, None),
        ("username/service:1.0", None, "username/service", "1.0", None),
        ("localhost:5000/x:1.0", "localhost:5000", "x", "1.0", None),
        ("localhost/x", "localhost", "x", None, None),
        ("127.0.0.1:5000/team/app", "127.0.0.1:5000", "team/app", None, None),
        ("registry.example.com/a/b/c:v2-rc.1", "registry.example.com", "a/b/c", "v2-rc.1", None),
        ("[::1]:5000/x:y", "[::1]:5000", "x", "y", None),
        (f"reg.io/a:t@{DIGEST}", "reg.io", "a", "t", DIGEST),
        (f"user/a@{DIGEST}", None, "user/a", None, DIGEST),
        ("my_org/my__app-x:tag_1", None, "my_org/my__app-x", "tag_1", None),
    ],
)
def test_parse(
    text: str, registry: str | None, repository: str, tag: str | None, digest: str | None
) -> None:
    ref = parse_image_reference(text)
    assert ref == ImageReference(registry, repository, tag, digest)
    assert str(ref) == text


def test_docker_hash_keeps_the_registry_port_and_drops_the_tag() -> None:
    # Go cut at the first ':' and produced "localhost@sha256:...".
    ref = parse_image_reference("localhost:5000/x:1.0")
    assert ref.docker_hash(DIGEST) == f"localhost:5000/x@{DIGEST}"
    assert parse_image_reference("username/service:1.0").docker_hash(DIGEST) == (
        f"username/service@{DIGEST}"
    )


def test_tagged_form_defaults_to_latest_and_registry_to_docker_hub() -> None:
    ref = parse_image_reference("user/app")
    assert ref.tagged == "user/app:latest"
    assert ref.registry_host == "docker.io"
    assert parse_image_reference("127.0.0.1:5000/app:2").registry_host == "127.0.0.1:5000"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not an image name"),
        (" app", "not an image name"),
        ("User/app", "lowercase"),
        ("app:", "not a valid tag"),
        ("a:b:c", "not a valid repository"),
        ("app@sha256:short", "not a digest"),
        ("host:99999/app", "out of range"),
        ("host:port/app", "registry host"),
        ("-app", "not a valid repository"),
        ("localhost:5000/", "no repository"),
    ],
)
def test_invalid(text: str, message: str) -> None:
    with pytest.raises(InvalidImageReference, match=message):
        parse_image_reference(text)


def test_docker_hash_refuses_a_non_digest() -> None:
    with pytest.raises(InvalidImageReference):
        parse_image_reference("a/b:1").docker_hash("latest")
