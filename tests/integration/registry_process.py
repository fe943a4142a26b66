"""Start real registry-service processes (each with its own etcd) for tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

VENV_BIN = Path(sys.executable).parent
_NETWORK_VARIABLES = ("P2P_PSK", "P2P_PSK_FILE", "P2P_BOOTSTRAPS")


# A shell's background job (`cmd &`) starts with SIGINT and SIGQUIT ignored, `nohup` with
# SIGHUP ignored, and children inherit that; Python then never installs its SIGINT
# handler. A child the suite signals starts with the defaults, however pytest was launched.
_SIGNALS_THE_SUITE_SENDS = (signal.SIGINT, signal.SIGQUIT, signal.SIGHUP, signal.SIGTERM)


def default_signal_dispositions() -> None:
    """``preexec_fn`` for a child that a test signals."""
    for sig in _SIGNALS_THE_SUITE_SENDS:
        signal.signal(sig, signal.SIG_DFL)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@dataclass
class RegistryProcess:
    workdir: Path
    passphrase: str | None = "test passphrase"
    ip: str = "127.0.0.1"
    new_cluster: bool = True
    bootstraps: list[str] = field(default_factory=list)
    extra_args: list[str] = field(default_factory=list)
    etcd_client_port: int = field(default_factory=free_port)
    etcd_peer_port: int = field(default_factory=free_port)
    prom_port: int = field(default_factory=free_port)
    listen_port: int = 0  # 0: the OS chooses; fix it to keep the address across restarts
    psk_via_file: bool = False  # --psk-file (mode 0600) instead of --psk on the command line
    process: subprocess.Popen | None = None
    addrs: list[str] = field(default_factory=list)
    # No --keyfile and no --etcd-data-dir: the defaults under $HOME, as a new user runs it.
    default_paths: bool = False
    env: dict[str, str] = field(default_factory=dict)  # added to the environment

    @property
    def addr_file(self) -> Path:
        return self.workdir / "addrs"

    @property
    def log_file(self) -> Path:
        return self.workdir / "registry-service.log"

    @property
    def data_dir(self) -> Path:
        return self.workdir / "etcd-data"

    def argv(self) -> list[str]:
        paths = [] if self.default_paths else [
            "--keyfile", str(self.workdir / "key"), "--algo", "Ed25519",
            "--etcd-data-dir", str(self.data_dir),
        ]
        args = [
            str(VENV_BIN / "registry-service"), *paths,
            "--listen", f"/ip4/{self.ip}/tcp/{self.listen_port}",
            "--etcd-ip", self.ip,
            "--etcd-client-port", str(self.etcd_client_port),
            "--etcd-peer-port", str(self.etcd_peer_port),
            "--prom-listen-addr", f"{self.ip}:{self.prom_port}",
            "--addr-file", str(self.addr_file),
        ]
        if self.new_cluster:
            args.append("--new-etcd-cluster")
        if not self.bootstraps:
            args.append("--local")
        for b in self.bootstraps:
            args += ["--bootstrap", b]
        if self.passphrase is not None and self.psk_via_file:
            args += ["--psk-file", str(self.psk_file)]
        elif self.passphrase is not None:
            args += ["--psk", self.passphrase]
        return args + self.extra_args

    @property
    def psk_file(self) -> Path:
        return self.workdir / "passphrase"

    def _write_psk_file(self) -> None:
        if self.passphrase is not None and self.psk_via_file:
            self.psk_file.unlink(missing_ok=True)
            fd = os.open(self.psk_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(self.passphrase + "\n")

    def start(self, timeout: float = 30.0) -> RegistryProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.addr_file.unlink(missing_ok=True)
        self._write_psk_file()
        env = {k: v for k, v in os.environ.items() if k not in _NETWORK_VARIABLES}
        env.update(self.env)
        with self.log_file.open("ab") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen(self.argv(), stdout=log, stderr=subprocess.STDOUT,
                                            env=env, preexec_fn=default_signal_dispositions)
        deadline = time.monotonic() + timeout
        while not self.addr_file.exists():
            if self.process.poll() is not None:
                raise RuntimeError(f"registry-service exited:\n{self.log_file.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"registry-service not up:\n{self.log_file.read_text()[-3000:]}")
            time.sleep(0.05)
        self.addrs = self.addr_file.read_text().split()
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def cli(self, *args: str, passphrase: str | None = None, timeout: float = 60.0,
            bootstraps: list[str] | None = None) -> subprocess.CompletedProcess[str]:
        argv = [str(VENV_BIN / "registry-cli")]
        for b in self.addrs if bootstraps is None else bootstraps:
            argv += ["--bootstrap", b]
        phrase = self.passphrase if passphrase is None else passphrase
        if phrase is not None:
            argv += ["--psk", phrase]
        env = {k: v for k, v in os.environ.items() if k not in _NETWORK_VARIABLES}
        return subprocess.run(argv + list(args), capture_output=True, text=True,
                              timeout=timeout, env=env)
