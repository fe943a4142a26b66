"""Real Docker engine, real registry server and base images for the `add` tests.

Reads testcontainers.ini (see its comments) and configures testcontainers from
it: loopback connection mode, Ryuk only where its image exists, and which
images serve (public ones, or ones built offline by scripts/setup-docker.sh).
Import the fixtures into a test module with ``from docker_fixtures import *``.
"""

from __future__ import annotations

import base64
import configparser
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest
import requests
from docker.errors import DockerException, ImageNotFound
from requests.auth import HTTPBasicAuth

REPO_ROOT = Path(__file__).resolve().parents[2]
INI_PATH = REPO_ROOT / "testcontainers.ini"
SETUP_SCRIPT = REPO_ROOT / "scripts" / "setup-docker.sh"
VENV_BIN = Path(sys.executable).parent
CID_REFERENCE = Path(__file__).parent / "cid_reference"

REGISTRY_USER = "alice"
REGISTRY_PASSWORD = "correct horse battery staple"


def _fail_with_hint(reason: str) -> None:
    # A missing engine or toolchain is a broken set-up, never a reason to pass quietly.
    # For a quick inner loop without Docker, deselect explicitly: -m "not docker".
    pytest.fail(reason, pytrace=False)


@dataclass(frozen=True)
class TestSettings:
    __test__ = False  # not a test class, whatever pytest thinks of the name

    connection_mode: str
    host: str
    ryuk: str
    ryuk_image: str
    image_source: str
    images: dict[str, tuple[str, str]]  # role -> (public, local)


def read_settings(path: Path = INI_PATH) -> TestSettings:
    parser = configparser.ConfigParser()
    if not parser.read(path):
        raise FileNotFoundError(path)
    images = {}
    for role, value in parser.items("images"):
        if role == "source":
            continue
        public, _, local = (part.strip() for part in value.partition("|"))
        images[role] = (public, local or public)
    return TestSettings(
        connection_mode=parser.get("connection", "mode"),
        host=parser.get("connection", "host"),
        ryuk=parser.get("connection", "ryuk"),
        ryuk_image=parser.get("connection", "ryuk_image"),
        image_source=os.environ.get("PHYSARUM_TEST_IMAGES") or parser.get("images", "source"),
        images=images,
    )


def _available(client: docker.DockerClient, image: str) -> bool:
    """Present in the engine, or pulled now (a failed pull is fast offline: DNS fails)."""
    try:
        client.images.get(image)
        return True
    except ImageNotFound:
        pass
    try:
        client.images.pull(image)
        return True
    except DockerException:
        return False


def _ensure_local_images(client: docker.DockerClient, names: list[str]) -> None:
    missing = [name for name in names if not _image_exists(client, name)]
    if missing:
        subprocess.run(["bash", str(SETUP_SCRIPT)], check=True, capture_output=True)


def _image_exists(client: docker.DockerClient, name: str) -> bool:
    try:
        client.images.get(name)
        return True
    except ImageNotFound:
        return False


def configure_testcontainers(settings: TestSettings, client: docker.DockerClient) -> None:
    from testcontainers.core.config import ConnectionMode, testcontainers_config

    testcontainers_config.connection_mode_override = ConnectionMode(settings.connection_mode)
    testcontainers_config.tc_host_override = settings.host
    testcontainers_config.ryuk_image = settings.ryuk_image
    if settings.ryuk == "auto":
        testcontainers_config.ryuk_disabled = not _available(client, settings.ryuk_image)
    else:
        testcontainers_config.ryuk_disabled = settings.ryuk in ("off", "false", "no")


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    try:
        client = docker.from_env()
        client.ping()
    except DockerException as exc:
        _fail_with_hint(f"no Docker engine answers ({exc}); run scripts/setup-docker.sh")
    yield client
    _remove_test_images(client)
    client.close()


# Tags the tests create: fixed names under physarum-test/, and pushes to the
# session's throw-away registries on loopback.
_TEST_TAG = re.compile(r"^(physarum-test/|127\.0\.0\.1:\d+/test/)")


def _remove_test_images(client: docker.DockerClient) -> None:
    # By name, never by id: a test may have tagged a shared base image.
    for image in client.images.list():
        names = list(image.tags)
        if not names:  # pulled by digest only
            names = list(image.attrs.get("RepoDigests") or [])
        for name in names:
            if _TEST_TAG.match(name):
                with contextlib.suppress(DockerException):
                    client.images.remove(name)


@pytest.fixture(scope="session")
def docker_test_images(docker_client: docker.DockerClient) -> dict[str, str]:
    """Role -> image name, per testcontainers.ini's [images] and PHYSARUM_TEST_IMAGES."""
    settings = read_settings()
    configure_testcontainers(settings, docker_client)
    chosen: dict[str, str] = {}
    for role, (public, local) in settings.images.items():
        if settings.image_source == "public":
            chosen[role] = public
        elif settings.image_source == "local":
            chosen[role] = local
        else:
            chosen[role] = public if _available(docker_client, public) else local
    _ensure_local_images(docker_client, [n for n in chosen.values() if n.endswith(":local")])
    return chosen


@dataclass(frozen=True)
class RegistryServer:
    address: str  # host:port, on loopback
    username: str
    password: str

    def auth(self) -> HTTPBasicAuth:
        return HTTPBasicAuth(self.username, self.password)

    def manifest_digest(self, repository: str, tag: str) -> str:
        response = requests.head(
            f"http://{self.address}/v2/{repository}/manifests/{tag}",
            auth=self.auth(),
            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
            timeout=10,
        )
        response.raise_for_status()
        return response.headers["Docker-Content-Digest"]

    def catalog(self) -> list[str]:
        response = requests.get(f"http://{self.address}/v2/_catalog", auth=self.auth(), timeout=10)
        response.raise_for_status()
        return list(response.json().get("repositories") or [])


@pytest.fixture(scope="session")
def registry_server(docker_test_images: dict[str, str]) -> Iterator[RegistryServer]:
    """A Docker registry with htpasswd basic auth, run by testcontainers, on 127.0.0.1."""
    from testcontainers.community.registry import DockerRegistryContainer

    container = DockerRegistryContainer(
        image=docker_test_images["registry"], username=REGISTRY_USER, password=REGISTRY_PASSWORD
    )
    with container:
        # Engines trust registries on 127.0.0.0/8 as insecure (plain HTTP) by default.
        yield RegistryServer(container.get_registry(), REGISTRY_USER, REGISTRY_PASSWORD)


@pytest.fixture
def docker_config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Docker client config, so the machine's own logins cannot leak into a test."""
    directory = tmp_path / "docker-config"
    directory.mkdir()
    (directory / "config.json").write_text("{}")
    monkeypatch.setenv("DOCKER_CONFIG", str(directory))
    monkeypatch.delenv("REGISTRY_CLI_USERNAME", raising=False)
    monkeypatch.delenv("REGISTRY_CLI_PASSWORD", raising=False)
    return directory


def write_docker_login(config_dir: Path, registry: str, username: str, password: str) -> None:
    """What `docker login` writes when no credential helper is configured."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    (config_dir / "config.json").write_text(json.dumps({"auths": {registry: {"auth": token}}}))


GO_PROXY_SOURCE = textwrap.dedent(
    """\
    package main

    import (
    \t"fmt"
    \t"os"
    )

    const version = "%s"

    func main() {
    \tfmt.Println("test proxy", version, os.Args[1:])
    }
    """
)


def make_proxy_repository(path: Path) -> dict[str, str]:
    """A git repository shaped like service-manager (a ``proxy/`` main package).

    Two commits: ``v1`` (tagged) and ``v2`` (main). Returns version -> commit.
    """
    if shutil.which("go") is None or shutil.which("git") is None:
        _fail_with_hint("go and git are needed (scripts/setup-docker.sh installs golang-go)")
    (path / "proxy").mkdir(parents=True)
    (path / "go.mod").write_text("module example.test/service-manager\n\ngo 1.19\n")
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.test",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.test",
    }

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=path, env=env, check=True, capture_output=True, text=True
        )
        return done.stdout.strip()

    git("init", "--quiet", "--initial-branch=main")
    commits = {}
    for version in ("v1", "v2"):
        (path / "proxy" / "main.go").write_text(GO_PROXY_SOURCE % version)
        git("add", ".")
        git("commit", "--quiet", "-m", f"proxy {version}")
        commits[version] = git("rev-parse", "HEAD")
        if version == "v1":
            git("tag", "v1")
    return commits


def offline_go_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # The test proxy has no dependencies: nothing may be fetched.
    monkeypatch.setenv("GOPROXY", "off")
    monkeypatch.setenv("GOFLAGS", "-mod=mod")
    monkeypatch.setenv("GOTOOLCHAIN", "local")


@pytest.fixture(scope="session")
def proxy_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small static Linux executable standing in for the proxy (built by Go, offline)."""
    source = tmp_path_factory.mktemp("proxy-source")
    make_proxy_repository(source)
    out = source / "proxy-bin"
    env = {**os.environ, "CGO_ENABLED": "0", "GOPROXY": "off", "GOTOOLCHAIN": "local"}
    subprocess.run(
        ["go", "build", "-o", str(out), "./proxy"],
        cwd=source,
        env=env,
        check=True,
        capture_output=True,
    )
    return out


def reference_content_id(docker_client: docker.DockerClient, image: str) -> str:
    """CIDv0 of `docker save image` by the JS reference importer (independent of ours)."""
    if shutil.which("node") is None or not (CID_REFERENCE / "node_modules").is_dir():
        _fail_with_hint("the JS reference CID importer is missing: run "
                        "scripts/setup-cid-reference.sh (needs node and npm)")
    process = subprocess.Popen(
        ["node", str(CID_REFERENCE / "cid.mjs"), "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert process.stdin is not None
    for chunk in docker_client.api.get_image(image):
        process.stdin.write(chunk)
    process.stdin.close()
    out = process.stdout.read().decode().strip() if process.stdout else ""
    assert process.wait() == 0
    assert out.startswith("Qm") and len(out) == 46, out
    return out


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """registry-cli without a registry-service (for --no-add runs and early failures)."""
    return subprocess.run(
        [str(VENV_BIN / "registry-cli"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


__all__ = [
    "RegistryServer",
    "docker_client",
    "docker_config_dir",
    "docker_test_images",
    "make_proxy_repository",
    "offline_go_environment",
    "proxy_binary",
    "reference_content_id",
    "registry_server",
    "run_cli",
    "write_docker_login",
]
