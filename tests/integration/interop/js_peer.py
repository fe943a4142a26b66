"""Drive the js-libp2p peer (peer.mjs) from tests: one JSON line per command and answer."""

from __future__ import annotations

import itertools
import json
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

PEER_DIR = Path(__file__).resolve().parent
SETUP_HINT = "run scripts/setup-interop.sh (npm ci of tests/integration/interop)"


class JsPeerError(RuntimeError):
    """The peer failed to start, exited, or did not answer in time."""


def check_installed() -> None:
    if shutil.which("node") is None:
        raise JsPeerError(f"node is not installed (Node >= 20 is needed): {SETUP_HINT}")
    version = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout
    if int(version.strip().lstrip("v").split(".")[0] or 0) < 20:
        raise JsPeerError(f"node {version.strip()} is older than 20: {SETUP_HINT}")
    if not (PEER_DIR / "node_modules" / "libp2p" / "package.json").exists():
        raise JsPeerError(f"the js-libp2p peer is not installed: {SETUP_HINT}")


def installed_version(package: str) -> str:
    manifest = PEER_DIR / "node_modules" / package / "package.json"
    return str(json.loads(manifest.read_text())["version"])


class JsPeer:
    """A running ``node peer.mjs``; ``call(op, ...)`` sends a command and waits for its answer."""

    def __init__(self, process: subprocess.Popen[str], log_path: Path) -> None:
        self._process = process
        self._log_path = log_path
        self._ids = itertools.count(1)
        self._answers: dict[int, queue.Queue[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        ready = self.next_event(timeout=30.0)
        if ready.get("event") != "ready":
            raise JsPeerError(f"unexpected first line from the peer: {ready}")
        self.peer_id: str = ready["peerId"]
        self.addrs: list[str] = ready["addrs"]
        self.swarm_key: str | None = ready.get("swarmKey")
        self.dht_mode: str = ready["dhtMode"]

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                continue
            if "id" in message:
                with self._lock:
                    box = self._answers.get(message["id"])
                if box is not None:
                    box.put(message)
            else:
                self.events.put(message)
        self.events.put({"event": "exited"})

    def next_event(self, timeout: float) -> dict[str, Any]:
        try:
            event = self.events.get(timeout=timeout)
        except queue.Empty:
            tail = self._log_tail()
            raise JsPeerError(f"no event from the JS peer in {timeout} s{tail}") from None
        if event.get("event") == "exited":
            raise JsPeerError(f"the JS peer exited{self._log_tail()}")
        return event

    def call(self, op: str, timeout: float = 30.0, **params: Any) -> dict[str, Any]:
        """Send one command; return its answer (``ok`` tells whether it succeeded)."""
        command_id = next(self._ids)
        box: queue.Queue[dict[str, Any]] = queue.Queue()
        with self._lock:
            self._answers[command_id] = box
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps({"id": command_id, "op": op, **params}) + "\n")
        self._process.stdin.flush()
        try:
            return box.get(timeout=timeout)
        except queue.Empty:
            raise JsPeerError(f"{op}: no answer in {timeout} s{self._log_tail()}") from None
        finally:
            with self._lock:
                del self._answers[command_id]

    def request(self, addr: str, protocol: str, payload: str = "", **params: Any) -> dict[str, Any]:
        return self.call("request", addr=addr, protocol=protocol, payload=payload, **params)

    def wait_for_provider(self, namespace: str, provider_id: str, timeout: float) -> dict[str, Any]:
        """Look providers up until ``provider_id`` is among them (advertising is asynchronous)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.call("find_providers", namespace=namespace, timeout_ms=5000)
            if found["ok"] and any(p["id"] == provider_id for p in found["providers"]):
                return found
            if time.monotonic() > deadline:
                raise JsPeerError(f"{provider_id} never showed up as a provider: {found}")
            time.sleep(0.3)

    def stop(self) -> None:
        if self._process.poll() is None:
            try:
                assert self._process.stdin is not None
                self._process.stdin.close()  # end of stdin: the peer stops cleanly
                self._process.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                self._process.kill()
                self._process.wait()

    def _log_tail(self) -> str:
        try:
            tail = self._log_path.read_text()[-2000:]
        except OSError:
            return ""
        return f"\n--- JS peer stderr ---\n{tail}" if tail else ""


@contextmanager
def js_peer(
    workdir: Path,
    passphrase: str | None,
    *,
    canned_get: str | None = None,
    muxer: str = "yamux",
    listen: str | None = None,
    mdns: bool = False,
    netns_argv: list[str] | None = None,
) -> Iterator[JsPeer]:
    """Start the JS peer (on 127.0.0.1 unless ``listen``) and stop it afterwards.

    ``netns_argv``: a prefix such as ``ip netns exec NAME`` to run it in a namespace;
    ``mdns``: with @libp2p/mdns (it then prints "discovered" events).
    """
    check_installed()
    workdir.mkdir(parents=True, exist_ok=True)
    argv = ["node", "--import", "./polyfill.mjs", "peer.mjs", "--muxer", muxer]
    if passphrase is not None:
        argv += ["--passphrase", passphrase]
    if canned_get is not None:
        argv += ["--canned-get", canned_get]
    if listen is not None:
        argv += ["--listen", listen]
    if mdns:
        argv.append("--mdns")
    argv = [*(netns_argv or []), *argv]
    log_path = workdir / "js-peer.stderr"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            argv, cwd=PEER_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
            text=True, bufsize=1,
        )
    try:
        peer = JsPeer(process, log_path)
    except BaseException:
        process.kill()
        process.wait()
        raise
    try:
        yield peer
    finally:
        peer.stop()
