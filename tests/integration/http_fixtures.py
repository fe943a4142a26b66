"""A real registry-service (with its real etcd) serving the HTTP API on loopback."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from registry_process import VENV_BIN, RegistryProcess, free_port

RECORD = '{"ContentHash":"QmHttp","DockerHash":"sha256:1","CpuReq":2,"MemoryReq":64}'


def add_token(tokens_file: Path, name: str, role: str) -> str:
    """`registry-service http-token add`; the token is the last line it prints."""
    done = subprocess.run(
        [str(VENV_BIN / "registry-service"), "http-token", "add", name, "--role", role,
         "--tokens-file", str(tokens_file)],
        capture_output=True, text=True, check=True, timeout=30,
    )
    return done.stdout.splitlines()[-1]


def remove_token(tokens_file: Path, name: str) -> None:
    subprocess.run(
        [str(VENV_BIN / "registry-service"), "http-token", "remove", name,
         "--tokens-file", str(tokens_file)],
        capture_output=True, text=True, check=True, timeout=30,
    )


@dataclass
class HttpRegistry:
    process: RegistryProcess
    url: str  # http://127.0.0.1:PORT
    tokens_file: Path
    write_token: str
    read_token: str

    def client(self, token: str | None = None, **kwargs: object) -> httpx.Client:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kwargs)  # type: ignore[arg-type]

    def put(self, name: str, record: str = RECORD, cas: int | None = None) -> httpx.Response:
        params = {} if cas is None else {"cas": cas}
        with self.client(self.write_token) as c:
            return c.put(f"/v1/services/{name}", content=record, params=params)

    def stop(self) -> None:
        self.process.stop()


def start_http_registry(workdir: Path, extra_args: list[str] | None = None) -> HttpRegistry:
    workdir.mkdir(parents=True, exist_ok=True)
    tokens_file = workdir / "http-tokens"
    write_token = add_token(tokens_file, "ci-publisher", "write")
    read_token = add_token(tokens_file, "dashboard", "read")
    port = free_port()
    process = RegistryProcess(
        workdir / "registry",
        extra_args=["--http-listen", f"127.0.0.1:{port}", "--http-tokens-file", str(tokens_file),
                    *(extra_args or [])],
    ).start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while True:  # the address file is written once HTTP serves; this only double-checks
        try:
            httpx.get(url + "/v1/health", timeout=2)
            break
        except httpx.TransportError:
            if time.monotonic() > deadline:
                process.stop()
                raise
            time.sleep(0.1)
    return HttpRegistry(process, url, tokens_file, write_token, read_token)


@contextmanager
def with_a_second_instance(workdir: Path) -> Iterator[tuple[HttpRegistry, RegistryProcess]]:
    """A registry with HTTP on, and a second instance joined to its cluster; both stopped
    at the end whatever happens."""
    first = start_http_registry(workdir / "first")
    second = None
    try:
        second = RegistryProcess(workdir / "second", new_cluster=False,
                                 bootstraps=first.process.addrs).start(timeout=60)
        yield first, second
    finally:
        if second is not None:
            second.stop()
        first.stop()
