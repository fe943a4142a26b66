"""The proxy built from source: git clone, git checkout --proxy-version, go build.

Built binaries are cached per (repository, commit), so repeated `add`s of one
proxy version do not rebuild it; a branch name is resolved to its commit on
every run, so a moved branch is rebuilt.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from application.publishing_ports import ProxyUnavailable, StageProgress

DEFAULT_PROXY_REPOSITORY = "https://github.com/PhysarumSM/service-manager"
PROXY_REPOSITORY_VARIABLE = "REGISTRY_CLI_PROXY_REPOSITORY"
DEFAULT_PROXY_PACKAGE = "./proxy"
_OUTPUT_TAIL_LINES = 15


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "physarum-registry" / "proxy"


class GitProxyBuilder:
    def __init__(
        self,
        repository: str,
        version: str | None = None,
        *,
        package: str = DEFAULT_PROXY_PACKAGE,
        goarch: str | None = None,
        cache_dir: Path | None = None,
        git: str = "git",
        go: str = "go",
    ) -> None:
        self._repository = repository
        self._version = version
        self._package = package
        self._goarch = goarch
        self._cache_dir = cache_dir or default_cache_dir()
        self._git = git
        self._go = go

    def proxy_binary(self, progress: StageProgress) -> Path:
        for tool in (self._git, self._go):
            if shutil.which(tool) is None:
                raise ProxyUnavailable(
                    f"building the proxy needs `{tool}`, which is not installed; install it "
                    "or pass --custom-proxy PATH"
                )
        with tempfile.TemporaryDirectory(prefix="registry-cli-proxy-") as scratch:
            source = Path(scratch) / "source"
            progress.status(f"git clone {self._repository}")
            self._run(
                [self._git, "clone", "--quiet", self._repository, str(source)],
                progress,
                # No credential prompt hidden behind the progress display.
                env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
            )
            if self._version:
                progress.status(f"git checkout {self._version}")
                self._run(
                    [
                        self._git,
                        "-c",
                        "advice.detachedHead=false",
                        "checkout",
                        "--quiet",
                        self._version,
                        "--",
                    ],
                    progress,
                    cwd=source,
                )
            commit = self._run([self._git, "rev-parse", "HEAD"], progress, cwd=source).strip()
            cached = self._cached_path(commit)
            if cached.is_file():
                progress.status(f"proxy {commit[:12]} from cache {cached}")
                return cached
            progress.status(f"go build {self._package} at {commit[:12]}")
            built = Path(scratch) / "proxy"
            self._run(
                [self._go, "build", "-trimpath", "-o", str(built), self._package],
                progress,
                cwd=source,
                env=self._go_environment(),
            )
            cached.parent.mkdir(parents=True, exist_ok=True)
            partial = cached.with_suffix(".partial")
            shutil.copyfile(built, partial)
            partial.chmod(0o755)
            partial.replace(cached)  # atomic: a concurrent run never sees half a binary
            return cached

    def _cached_path(self, commit: str) -> Path:
        repository_key = hashlib.sha256(self._repository.encode()).hexdigest()[:16]
        arch = self._goarch or "host"
        return self._cache_dir / repository_key / f"{commit}-{arch}" / "proxy"

    def _go_environment(self) -> dict[str, str]:
        env = dict(os.environ)
        # Static, Linux: the binary runs inside images of any base (busybox, alpine, ...).
        env["CGO_ENABLED"] = "0"
        env["GOOS"] = "linux"
        if self._goarch:
            env["GOARCH"] = self._goarch
        return env

    def _run(
        self,
        command: list[str],
        progress: StageProgress,
        *,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> str:
        try:
            done = subprocess.run(
                command, cwd=cwd, env=env, capture_output=True, text=True, check=False
            )
        except OSError as exc:
            raise ProxyUnavailable(f"cannot run {command[0]}: {exc.strerror}") from exc
        for line in done.stderr.splitlines():
            progress.log(line)
        if done.returncode != 0:
            tail = "\n".join(done.stderr.strip().splitlines()[-_OUTPUT_TAIL_LINES:])
            raise ProxyUnavailable(
                f"`{' '.join(command)}` failed (exit {done.returncode}):\n{tail}\n"
                "(pass --custom-proxy PATH to use a proxy built by other means)"
            )
        return done.stdout
