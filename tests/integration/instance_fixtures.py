"""Announced instances for the resolve tests: delay relays, and `registry-cli announce`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from registry_process import VENV_BIN, default_signal_dispositions

_RELAY = Path(__file__).parent / "delay_relay.py"


@dataclass
class DelayRelay:
    """tests/integration/delay_relay.py in front of 127.0.0.1:target_port."""

    target_port: int
    rtt_ms: float
    process: subprocess.Popen | None = None
    port: int = 0

    def start(self) -> DelayRelay:
        self.process = subprocess.Popen(
            [sys.executable, str(_RELAY), str(self.target_port), str(self.rtt_ms)],
            stdout=subprocess.PIPE, text=True, preexec_fn=default_signal_dispositions,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().split()
        assert line[:1] == ["ready"], f"the relay did not start: {line}"
        self.port = int(line[1])
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@dataclass
class AnnounceProcess:
    """`registry-cli announce NAME` as an operator runs it."""

    name: str
    bootstraps: list[str]
    passphrase: str | None
    log: Path
    process: subprocess.Popen | None = None
    peer_id: str = ""
    addrs: list[str] = field(default_factory=list)

    def start(self) -> AnnounceProcess:
        argv = [str(VENV_BIN / "registry-cli")]
        for b in self.bootstraps:
            argv += ["--bootstrap", b]
        if self.passphrase is not None:
            argv += ["--psk", self.passphrase]
        argv += ["announce", self.name, "--listen", "/ip4/127.0.0.1/tcp/0"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("P2P_")}
        self.process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=self.log.open("ab"), text=True, env=env,
            preexec_fn=default_signal_dispositions,
        )
        assert self.process.stdout is not None
        self.peer_id = self.process.stdout.readline().strip()
        if not self.peer_id:
            self.process.wait(10)
            raise RuntimeError(f"announce exited {self.process.returncode}: "
                               f"{self.log.read_text()[-2000:]}")
        while (line := self.process.stdout.readline().strip()).startswith("/"):
            self.addrs.append(line)
        self.first_line = line  # "announcing NAME: ContentHash ..."
        return self

    def readline(self) -> str:
        assert self.process is not None and self.process.stdout is not None
        return self.process.stdout.readline().strip()

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()
