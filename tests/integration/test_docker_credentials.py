"""Registry credentials against a real registry: credential helpers, and the terminal prompt."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import time
from pathlib import Path

import pytest
from docker_fixtures import *  # noqa: F403  (fixtures)
from docker_fixtures import VENV_BIN, RegistryServer
from test_docker_add import UNUSED_BOOTSTRAP, add_args, image_name, service_dir

from adapters.docker.credentials import RegistryCredentialSource
from adapters.docker.image_publisher import DockerImagePublisher
from application.publishing_ports import RegistryAuthFailed
from domain.image_ref import parse_image_reference


class Stage:
    def set_total(self, total: int | None) -> None:
        pass

    def advance(self, amount: int) -> None:
        pass

    def status(self, text: str) -> None:
        pass

    def log(self, line: str) -> None:
        pass


def install_helper(directory: Path, registry: RegistryServer, password: str) -> Path:
    """A `docker-credential-<name>` program, as credential helpers are, on a private PATH."""
    bin_dir = directory / "bin"
    bin_dir.mkdir()
    helper = bin_dir / "docker-credential-phystest"
    helper.write_text(
        "#!/bin/sh\n"
        '[ "$1" = get ] || exit 1\n'
        "read server\n"
        f'printf \'{{"ServerURL":"%s","Username":"{registry.username}",'
        f'"Secret":"{password}"}}\' "$server"\n'
    )
    helper.chmod(0o755)
    (directory / "config.json").write_text(
        json.dumps({"credHelpers": {registry.address: "phystest"}})
    )
    return bin_dir


def tag_busybox(docker_client, docker_test_images, registry: RegistryServer) -> str:
    image, _ = image_name(registry)
    docker_client.images.get(docker_test_images["base"]).tag(image)
    return image


def test_push_with_credentials_from_a_credential_helper(
    registry_server, docker_config_dir, docker_client, docker_test_images, monkeypatch
):
    bin_dir = install_helper(docker_config_dir, registry_server, registry_server.password)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    image = tag_busybox(docker_client, docker_test_images, registry_server)
    publisher = DockerImagePublisher(docker_client, RegistryCredentialSource())
    digest = publisher.push(parse_image_reference(image), Stage())
    reference = parse_image_reference(image)
    assert digest == registry_server.manifest_digest(reference.repository, "1.0")


def test_wrong_secret_from_a_credential_helper_is_a_clean_auth_failure(
    registry_server, docker_config_dir, docker_client, docker_test_images, monkeypatch
):
    bin_dir = install_helper(docker_config_dir, registry_server, "stale password")
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    image = tag_busybox(docker_client, docker_test_images, registry_server)
    publisher = DockerImagePublisher(docker_client, RegistryCredentialSource(prompt=None))
    with pytest.raises(RegistryAuthFailed, match="unauthorized"):
        publisher.push(parse_image_reference(image), Stage())


def test_pull_of_existing_image_reads_the_digest(
    registry_server, docker_config_dir, docker_client, docker_test_images, monkeypatch
):
    monkeypatch.setenv("REGISTRY_CLI_USERNAME", registry_server.username)
    monkeypatch.setenv("REGISTRY_CLI_PASSWORD", registry_server.password)
    image = tag_busybox(docker_client, docker_test_images, registry_server)
    publisher = DockerImagePublisher(docker_client, RegistryCredentialSource())
    pushed = publisher.push(parse_image_reference(image), Stage())
    docker_client.images.remove(image)
    assert publisher.pull(parse_image_reference(image), Stage()) == pushed
    by_digest = parse_image_reference(image.rsplit(":", 1)[0] + "@" + pushed)
    assert publisher.pull(by_digest, Stage()) == pushed


def _converse(master: int, process: subprocess.Popen[bytes], answers: dict[bytes, bytes]) -> bytes:
    """Read the terminal; type each answer once its prompt shows. Returns all output."""
    seen = b""
    pending = dict(answers)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            seen += data
        for prompt in list(pending):
            if prompt in seen:
                os.write(master, pending.pop(prompt))
        if process.poll() is not None and not ready:
            break
    return seen


def test_terminal_prompt_asks_with_hidden_password_and_the_push_succeeds(
    registry_server, docker_config_dir, docker_test_images, proxy_binary, tmp_path
):
    directory = service_dir(tmp_path, docker_test_images["base"])
    image, repository = image_name(registry_server)
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [
            str(VENV_BIN / "registry-cli"),
            "--bootstrap",
            UNUSED_BOOTSTRAP,
            *add_args(directory, image, "svc", proxy_binary, "--content-id", "QmTerm"),
        ],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**os.environ, "TERM": "xterm", "COLUMNS": "120"},
        start_new_session=True,
    )
    os.close(slave)
    try:
        output = _converse(
            master,
            process,
            {
                b"Username for": registry_server.username.encode() + b"\n",
                b"Password for": registry_server.password.encode() + b"\n",
            },
        )
        process.wait(timeout=60)
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
    text = output.decode(errors="replace")
    assert "needs credentials" in text
    assert registry_server.password not in text  # typed, never echoed
    assert repository in registry_server.catalog()  # pushed with the typed credentials
    # Registering then fails (no registry-service at that address): a clean exit, no traceback.
    assert process.returncode == 4 and "Traceback" not in text
