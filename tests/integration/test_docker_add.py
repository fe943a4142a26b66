"""`registry-cli add` end to end: real Docker engine, registry server and registry-service."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import docker
import pytest
from docker_fixtures import *  # noqa: F403  (fixtures)
from docker_fixtures import (
    RegistryServer,
    reference_content_id,
    run_cli,
    write_docker_login,
)

_names = itertools.count()
# Never dialled: these runs fail at the push, before registering.
UNUSED_BOOTSTRAP = "/ip4/127.0.0.1/tcp/9/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"


def service_dir(tmp_path: Path, base_image: str, run: list[str] | None = None) -> Path:
    """A --dir with a config, a script and a directory of files to copy."""
    directory = tmp_path / "service"
    (directory / "app" / "static").mkdir(parents=True)
    (directory / "app" / "serve.sh").write_text("#!/bin/sh\necho serving on $SERVICE_PORT\n")
    (directory / "app" / "static" / "index.html").write_text("<p>hello</p>\n")
    (directory / "VERSION").write_text("1.0\n")
    config = {
        "NetworkSoftReq": {"RTT": 100},
        "NetworkHardReq": {"RTT": 300},
        "CpuReq": 1,
        "MemoryReq": 64,
        "DockerConf": {
            "From": base_image,
            "Copy": [["app", "app"], ["VERSION", "."]],
            "Run": run if run is not None else ["test -f /app/app/static/index.html"],
            "Cmd": "sh app/serve.sh",
        },
    }
    (directory / "service-conf.json").write_text(json.dumps(config, indent=2))
    return directory


def image_name(registry: RegistryServer) -> tuple[str, str]:
    """A fresh repository on the test registry, so tests do not see each other's pushes."""
    repository = f"test/svc{next(_names)}"
    return f"{registry.address}/{repository}:1.0", repository


def add_args(directory: Path, image: str, service: str, proxy: Path, *extra: str) -> list[str]:
    return [
        "add",
        "--dir",
        str(directory),
        "--custom-proxy",
        str(proxy),
        *extra,
        str(directory / "service-conf.json"),
        image,
        service,
    ]


@pytest.fixture
def registry_login(
    registry_server: RegistryServer, monkeypatch: pytest.MonkeyPatch, docker_config_dir: Path
) -> RegistryServer:
    monkeypatch.setenv("REGISTRY_CLI_USERNAME", registry_server.username)
    monkeypatch.setenv("REGISTRY_CLI_PASSWORD", registry_server.password)
    return registry_server


def test_full_add_then_get_shows_the_pushed_digest_and_the_image_content_hash(
    registry, registry_login, docker_client, docker_test_images, proxy_binary, tmp_path
):
    directory = service_dir(tmp_path, docker_test_images["base"])
    image, repository = image_name(registry_login)

    added = registry.cli(
        "--json", *add_args(directory, image, "svc:1.0", proxy_binary), timeout=300
    )
    assert added.returncode == 0, added.stderr
    assert "Traceback" not in added.stderr
    record = json.loads(added.stdout)
    assert record["Registered"] is True
    assert record["Response"].startswith("Added {svc:1.0: {")

    digest = registry_login.manifest_digest(repository, "1.0")
    expected_hash = f"{registry_login.address}/{repository}@{digest}"
    got = registry.cli("--json", "get", "svc:1.0")
    assert got.returncode == 0, got.stderr
    info = json.loads(got.stdout)
    assert info["DockerHash"] == expected_hash
    assert info["NetworkSoftReq"] == {"RTT": 100_000_000}  # ns on the wire
    assert info["NetworkHardReq"] == {"RTT": 300_000_000}
    assert (info["CpuReq"], info["MemoryReq"]) == (1, 64)
    assert info["ContentHash"].startswith("Qm") and len(info["ContentHash"]) == 46
    # The JS importer, independent of our hasher.
    assert info["ContentHash"] == reference_content_id(docker_client, image)
    assert "RTT 100 ms" in registry.cli("get", "svc:1.0").stdout

    # The DockerHash really names the image that was built.
    built_id = docker_client.images.get(image).id
    docker_client.images.remove(image, force=True)
    login = {"username": registry_login.username, "password": registry_login.password}
    pulled = docker_client.images.pull(expected_hash, auth_config=login)
    assert pulled.id == built_id
    # Anyone can reproduce the ContentHash from the registry: pull, tag, save, hash.
    pulled.tag(f"{registry_login.address}/{repository}", "1.0")
    assert reference_content_id(docker_client, image) == info["ContentHash"]
    output = docker_client.containers.run(
        expected_hash, ["sh", "-c", "cat conf.json; echo; cat VERSION"], remove=True
    )
    assert json.loads(output.decode().splitlines()[0])["Perf"]["SoftReq"] == {"RTT": 100_000_000}


def test_no_add_builds_but_pushes_and_registers_nothing(
    registry,
    registry_server,
    docker_config_dir,
    docker_client,
    docker_test_images,
    proxy_binary,
    tmp_path,
):
    directory = service_dir(tmp_path, docker_test_images["base"])
    image, repository = image_name(registry_server)
    built = registry.cli(*add_args(directory, image, "untouched", proxy_binary, "--no-add"))
    assert built.returncode == 0, built.stderr
    assert "not pushed or registered" in built.stdout
    assert docker_client.images.get(image) is not None
    assert repository not in registry_server.catalog()
    listed = registry.cli("--json", "list")
    assert listed.returncode == 0 and "untouched" not in listed.stdout


def test_use_existing_image_pulls_and_registers_with_given_content_id(
    registry, registry_login, docker_client, docker_test_images, proxy_binary, tmp_path
):
    directory = service_dir(tmp_path, docker_test_images["base"])
    image, repository = image_name(registry_login)
    pushed = registry.cli(
        *add_args(directory, image, "first", proxy_binary, "--content-id", "QmFirst")
    )
    assert pushed.returncode == 0, pushed.stderr
    docker_client.images.remove(image, force=True)

    existing = registry.cli(
        "--json",
        *add_args(
            directory,
            image,
            "again",
            proxy_binary,
            "--use-existing-image",
            "--content-id",
            "QmGiven",
        ),
    )
    assert existing.returncode == 0, existing.stderr
    assert "[build]" not in existing.stderr and "[pull]" in existing.stderr
    info = json.loads(registry.cli("--json", "get", "again").stdout)
    digest = registry_login.manifest_digest(repository, "1.0")
    assert info["DockerHash"] == f"{registry_login.address}/{repository}@{digest}"
    assert info["ContentHash"] == "QmGiven"


def test_wrong_password_fails_cleanly(
    registry_server, docker_config_dir, docker_test_images, proxy_binary, tmp_path, monkeypatch
):
    monkeypatch.setenv("REGISTRY_CLI_USERNAME", registry_server.username)
    monkeypatch.setenv("REGISTRY_CLI_PASSWORD", "not the password")
    directory = service_dir(tmp_path, docker_test_images["base"])
    image, repository = image_name(registry_server)
    result = run_cli(
        "--bootstrap",
        UNUSED_BOOTSTRAP,
        *add_args(directory, image, "svc", proxy_binary),
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert "unauthorized" in last and f"as {registry_server.username}" in last
    assert repository not in registry_server.catalog()


def test_no_credentials_and_no_terminal_fails_with_a_hint(
    registry_server, docker_config_dir, docker_test_images, proxy_binary, tmp_path
):
    directory = service_dir(tmp_path, docker_test_images["base"])
    image, _ = image_name(registry_server)
    result = run_cli(
        "--bootstrap",
        UNUSED_BOOTSTRAP,
        *add_args(directory, image, "svc", proxy_binary),
    )
    assert result.returncode == 1, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert "no basic auth credentials" in last or "unauthorized" in last
    assert f"docker login {registry_server.address}" in last


def test_credentials_from_docker_config_json(
    registry, registry_server, docker_config_dir, docker_test_images, proxy_binary, tmp_path
):
    write_docker_login(
        docker_config_dir,
        registry_server.address,
        registry_server.username,
        registry_server.password,
    )
    directory = service_dir(tmp_path, docker_test_images["base"])
    image, repository = image_name(registry_server)
    result = registry.cli(*add_args(directory, image, "svc", proxy_binary, "--content-id", "Qm1"))
    assert result.returncode == 0, result.stderr
    assert repository in registry_server.catalog()


def test_failing_run_fails_cleanly_quoting_the_builder(
    docker_config_dir, docker_test_images, proxy_binary, tmp_path
):
    directory = service_dir(tmp_path, docker_test_images["base"], run=["echo before; exit 7"])
    result = run_cli(
        *add_args(directory, "physarum-test/failing:1", "svc", proxy_binary, "--no-add")
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert "RUN echo before; exit 7" in last and "returned a non-zero code: 7" in last
    assert "before" in result.stderr  # the build log reached the user


def test_missing_base_image_fails_cleanly(docker_config_dir, proxy_binary, tmp_path):
    directory = service_dir(tmp_path, "physarum-test/no-such-base:never")
    result = run_cli(
        *add_args(directory, "physarum-test/nobase:1", "svc", proxy_binary, "--no-add")
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "base image 'physarum-test/no-such-base:never'" in result.stderr.splitlines()[-1]


def test_config_error_is_reported_with_line_and_column(proxy_binary, tmp_path):
    config = tmp_path / "bad.json"
    config.write_text('{\n  "CpuReq": "one"\n}\n')
    result = run_cli("add", "--no-add", str(config), "physarum-test/x:1", "svc")
    assert result.returncode == 2
    assert f"{config}:2:13:" in result.stderr and "Traceback" not in result.stderr


def test_copy_source_outside_dir_is_refused(docker_test_images, proxy_binary, tmp_path):
    directory = service_dir(tmp_path, docker_test_images["base"])
    (directory / "escape").symlink_to("/etc")
    config = json.loads((directory / "service-conf.json").read_text())
    config["DockerConf"]["Copy"] = [["escape/passwd", "."]]
    (directory / "service-conf.json").write_text(json.dumps(config))
    result = run_cli(*add_args(directory, "physarum-test/esc:1", "svc", proxy_binary, "--no-add"))
    assert result.returncode == 1
    assert "outside --dir" in result.stderr and "Traceback" not in result.stderr


def test_image_is_runnable_with_the_documented_layout(
    docker_config_dir,
    docker_client: docker.DockerClient,
    docker_test_images,
    proxy_binary,
    tmp_path,
):
    directory = service_dir(tmp_path, docker_test_images["base"])
    result = run_cli(
        *add_args(directory, "physarum-test/layout:1", "svc", proxy_binary, "--no-add")
    )
    assert result.returncode == 0, result.stderr
    out = docker_client.containers.run(
        "physarum-test/layout:1",
        ["sh", "-c", "pwd; ls /app | sort | tr '\\n' ' '; echo; ./proxy a b; echo $PROXY_PORT"],
        remove=True,
    ).decode()
    assert out.splitlines() == [
        "/app",
        "VERSION app conf.json proxy ",
        "test proxy v2 [a b]",
        "4201",
    ]
    config = docker_client.images.get("physarum-test/layout:1").attrs["Config"]
    assert config["Cmd"][-1].startswith("./proxy --configfile conf.json $PROXY_PORT svc ")
