"""The proxy from source: git clone of a repository, git checkout --proxy-version, go build.

The repository is a local one made by the test (a tiny Go program in ``proxy/``,
like service-manager's layout); Debian's Go builds it offline.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from docker_fixtures import *  # noqa: F403  (fixtures)
from docker_fixtures import make_proxy_repository, offline_go_environment, run_cli

from adapters.proxy.git_proxy_builder import GitProxyBuilder
from adapters.proxy.local_proxy import LocalProxyBinary
from application.publishing_ports import ProxyUnavailable


class Stage:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def set_total(self, total: int | None) -> None:
        pass

    def advance(self, amount: int) -> None:
        pass

    def status(self, text: str) -> None:
        self.lines.append(text)

    def log(self, line: str) -> None:
        self.lines.append(line)


@pytest.fixture
def proxy_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, dict[str, str]]:
    offline_go_environment(monkeypatch)
    repository = tmp_path / "service-manager"
    return repository, make_proxy_repository(repository)


def run(binary: Path) -> str:
    return subprocess.run([str(binary), "x"], capture_output=True, text=True, check=True).stdout


def test_builds_the_checked_out_version_and_caches_it_per_commit(proxy_repository, tmp_path):
    repository, commits = proxy_repository
    cache = tmp_path / "cache"
    stage = Stage()
    v1 = GitProxyBuilder(str(repository), "tags/v1", cache_dir=cache).proxy_binary(stage)
    assert run(v1) == "test proxy v1 [x]\n"
    assert commits["v1"] in str(v1)
    assert any(line.startswith("go build") for line in stage.lines)

    by_commit = GitProxyBuilder(str(repository), commits["v1"], cache_dir=cache)
    again = Stage()
    assert by_commit.proxy_binary(again) == v1
    assert any("from cache" in line for line in again.lines)

    latest = GitProxyBuilder(str(repository), None, cache_dir=cache).proxy_binary(Stage())
    assert run(latest) == "test proxy v2 [x]\n"


def test_the_built_proxy_is_static(proxy_repository, tmp_path):
    repository, _ = proxy_repository
    binary = GitProxyBuilder(str(repository), cache_dir=tmp_path / "c").proxy_binary(Stage())
    described = subprocess.run(["file", str(binary)], capture_output=True, text=True).stdout
    assert "statically linked" in described


def test_unknown_version_fails_cleanly(proxy_repository, tmp_path):
    repository, _ = proxy_repository
    builder = GitProxyBuilder(str(repository), "no-such-branch", cache_dir=tmp_path / "c")
    with pytest.raises(ProxyUnavailable, match=r"git .*checkout .*no-such-branch.*failed"):
        builder.proxy_binary(Stage())


def test_unreachable_repository_fails_cleanly(tmp_path):
    builder = GitProxyBuilder(str(tmp_path / "absent"), cache_dir=tmp_path / "c")
    with pytest.raises(ProxyUnavailable, match="git clone"):
        builder.proxy_binary(Stage())


def test_go_compile_error_is_quoted(proxy_repository, tmp_path):
    repository, _ = proxy_repository
    (repository / "proxy" / "main.go").write_text("package main\nfunc main() { nope }\n")
    subprocess.run(
        ["git", "-C", str(repository), "commit", "-qam", "broken"],
        check=True,
        env={
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@t",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@t",
            "PATH": "/usr/bin:/bin",
        },
    )
    with pytest.raises(ProxyUnavailable, match="undefined: nope"):
        GitProxyBuilder(str(repository), cache_dir=tmp_path / "c").proxy_binary(Stage())


def test_custom_proxy_must_exist(tmp_path):
    with pytest.raises(ProxyUnavailable, match="no such file"):
        LocalProxyBinary(tmp_path / "missing").proxy_binary(Stage())
    with pytest.raises(ProxyUnavailable, match="not a regular file"):
        LocalProxyBinary(tmp_path).proxy_binary(Stage())


def test_cli_builds_the_image_with_the_proxy_version_asked_for(
    proxy_repository, docker_client, docker_test_images, docker_config_dir, tmp_path, monkeypatch
):
    repository, _ = proxy_repository
    monkeypatch.setenv("REGISTRY_CLI_PROXY_REPOSITORY", str(repository))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    config = tmp_path / "conf.json"
    config.write_text(
        json.dumps({"DockerConf": {"From": docker_test_images["base"], "Cmd": "sleep 1"}})
    )
    result = run_cli(
        "add",
        "--no-add",
        "--proxy-version",
        "v1",
        "--dir",
        str(tmp_path),
        str(config),
        "physarum-test/proxied:1",
        "svc",
    )
    assert result.returncode == 0, result.stderr
    assert "[proxy]" in result.stderr
    out = docker_client.containers.run("physarum-test/proxied:1", ["./proxy", "hi"], remove=True)
    assert out.decode() == "test proxy v1 [hi]\n"
