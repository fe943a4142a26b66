"""Run this registry-service's own etcd member as a child process."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Self

import trio

from adapters.etcd.backend_lock import database_locked
from adapters.etcd.connection import EtcdConnection
from adapters.etcd.local_client import (
    dialable_socket_path,
    local_client_url,
    socket_file_name,
)
from adapters.etcd.peer_tls import PeerTlsFiles
from adapters.etcd.process_args import (
    ClusterState,
    build_etcd_argv,
    default_etcd_data_dir,
    holds_member,
)
from adapters.etcd.status import answers, check_health
from domain.cluster import EtcdEndpoint
from domain.etcd_timing import EtcdTiming

_POLL_INTERVAL = 0.05
_PROBE_TIMEOUT = 1.0
# A linearizable read from a follower costs two round trips to the leader (its read index,
# then the leader's heartbeat round): 1 s at 500 ms between members. Each probe that
# times out waits twice as long, so a far member becomes ready instead of never.
_PROBE_TIMEOUT_MAX = 8.0
_TAIL_LINES = 20
# What etcd logs, then exits, when it starts on the data dir of a removed member.
_REMOVED_MARK = "the member has been permanently removed from the cluster"
def _parent_death_prefix(sig: signal.Signals) -> list[str]:
    """A command prefix that has the kernel send ``sig`` to etcd when we die, or [].

    Without it a SIGKILLed daemon leaves its etcd running: the member still
    votes and serves, so "this instance is gone" would be untrue for the
    cluster. util-linux's setpriv sets it and execs etcd, so no Python runs
    between fork and exec: a preexec_fn there ran gRPC's fork handlers, which
    now and then aborted the child. The kernel sends the signal when the
    *thread* that forked the child ends, so it is only safe from the main
    thread, which lives as long as the process.
    """
    on_main_thread = threading.current_thread() is threading.main_thread()
    setpriv = shutil.which("setpriv")
    if not sys.platform.startswith("linux") or not on_main_thread or setpriv is None:
        return []
    return [setpriv, "--pdeathsig", sig.name.removeprefix("SIG")]


def _remove_stale_socket(path: Path) -> None:
    """Remove the socket a killed etcd left behind (etcd would not bind over it).

    One that still accepts connections belongs to a live etcd and stays:
    etcd then says "address already in use", which is the truth.
    """
    if not path.is_socket():
        return
    dialable, directory = dialable_socket_path(str(path))
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            try:
                probe.connect(dialable)
            except ConnectionRefusedError:
                path.unlink(missing_ok=True)
            except OSError:
                pass  # no access: leave it to etcd
    finally:
        if directory is not None:
            os.close(directory)


class EtcdNotInstalled(FileNotFoundError):
    """The etcd binary is not where we were told to look."""


class EtcdStartFailed(RuntimeError):
    """etcd exited during start-up or did not become ready in time (message quotes its log)."""


class EtcdProcess:
    """One etcd member: ``await start()`` returns once it serves requests; ``stop()`` ends it.

    If ``data_dir`` already holds a member, ``start()`` restarts that member and
    ``initial_cluster``/``initial_cluster_state`` are not used. With
    ``require_quorum`` (default) "ready" means healthy: a leader and linearizable
    reads; without it, merely answering gRPC.

    Beware: etcd 3.4 serves no client request at all, not even a serializable
    read, until its member has published itself through raft since it started,
    which takes a quorum. A member restarted while most others are down
    therefore does not even "answer"; ``start(wait=False)`` lets the caller go
    on without it (and watch ``running``).
    """

    def __init__(
        self,
        endpoint: EtcdEndpoint,
        data_dir: Path | None = None,
        *,
        initial_cluster: str | None = None,
        initial_cluster_state: ClusterState = "new",
        binary: str = "etcd",
        log_path: Path | None = None,
        start_timeout: float = 30.0,
        stop_timeout: float = 10.0,
        require_quorum: bool = True,
        client_socket: bool = False,
        peer_tls: PeerTlsFiles | None = None,
        timing: EtcdTiming | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.data_dir = (data_dir or default_etcd_data_dir(endpoint)).expanduser().absolute()
        # Beside the data dir, not in it: etcd warns about foreign files in its data dir.
        self.log_path = log_path or self.data_dir.with_name(self.data_dir.name + ".log")
        self.initial_cluster = initial_cluster
        self.initial_cluster_state = initial_cluster_state
        self.binary = binary
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.require_quorum = require_quorum
        self.client_socket = client_socket
        self.peer_tls = peer_tls
        self.timing = timing
        self.relaunching = False  # see relaunch()
        self.restarted = False  # set by start(): did the data dir already hold the member?
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._log_offset = 0

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def exit_code(self) -> int | None:
        """None while running (or never started)."""
        return self._process.poll() if self._process else None

    @property
    def client_url(self) -> str:
        """What EtcdConnection dials to reach this member."""
        if self.client_socket:
            return local_client_url(self.endpoint, self.data_dir)
        return self.endpoint.tcp_client_url

    def was_removed(self) -> bool:
        """Whether etcd said, since the latest start(), that this member was removed."""
        return _REMOVED_MARK in self.log_tail(max_lines=200)

    async def wait_removed(self, timeout: float = 5.0) -> bool:
        """Whether etcd exits within ``timeout`` s, saying this member was removed."""
        deadline = time.monotonic() + timeout
        while self.running and time.monotonic() < deadline:
            await trio.sleep(_POLL_INTERVAL)
        return not self.running and self.was_removed()

    def argv(self) -> list[str]:
        return build_etcd_argv(
            binary=self._resolve_binary(),
            endpoint=self.endpoint,
            data_dir=self.data_dir,
            initial_cluster=self.initial_cluster,
            initial_cluster_state=self.initial_cluster_state,
            restart=holds_member(self.data_dir),
            client_socket=self.client_socket,
            peer_tls=self.peer_tls,
            timing=self.timing,
        )

    async def start(self, *, wait: bool = True) -> None:
        """Launch etcd; with ``wait``, return once it is ready (see the class docstring)."""
        if self.running:
            raise RuntimeError(f"etcd {self.endpoint.member_name} is already running")
        self.restarted = holds_member(self.data_dir)
        argv = self.argv()
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        # etcd makes it 0700 too, but our client socket needs it before etcd runs.
        self.data_dir.mkdir(mode=0o700, exist_ok=True)
        self.data_dir.chmod(0o700)
        if self.client_socket:
            _remove_stale_socket(self.data_dir / socket_file_name(self.endpoint))
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self._log_offset = self._log.tell()
        self._log.write(f"--- physarum-registry starts: {' '.join(argv)}\n".encode())
        self._log.flush()
        self._process = subprocess.Popen(
            # ...and when we die (even by SIGKILL), it ends too: a clean SIGTERM.
            [*_parent_death_prefix(signal.SIGTERM), *argv],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            # The client socket's relative name is resolved in here.
            cwd=self.data_dir,
            # Our stop() is the one way it ends while we live: a Ctrl-C meant for
            # the daemon must not kill etcd before the daemon has stopped using it.
            start_new_session=True,
        )
        if not wait:
            return
        try:
            await self._wait_until_ready()
        except BaseException:
            with trio.CancelScope(shield=True):
                await self.stop()
            raise

    async def _wait_until_ready(self) -> None:
        started = time.monotonic()
        connection = EtcdConnection(self.client_url, timeout=_PROBE_TIMEOUT_MAX)
        probe = check_health if self.require_quorum else answers
        timeout = _PROBE_TIMEOUT
        try:
            while True:
                asked = time.monotonic()
                if await probe(connection, timeout=timeout):
                    return
                if time.monotonic() - asked >= timeout:
                    timeout = min(2 * timeout, _PROBE_TIMEOUT_MAX)
                assert self._process is not None
                code = self._process.poll()
                if code is not None:
                    raise EtcdStartFailed(
                        f"etcd {self.endpoint.member_name} exited with code {code} during "
                        f"start-up; last lines of {self.log_path}:\n{self.log_tail()}"
                    )
                if time.monotonic() - started > self.start_timeout:
                    wanted = "healthy" if self.require_quorum else "answering"
                    raise EtcdStartFailed(
                        f"etcd {self.endpoint.member_name} not {wanted} at "
                        f"{self.client_url} after {self.start_timeout:g} s; "
                        f"last lines of {self.log_path}:\n{self.log_tail()}"
                    )
                await trio.sleep(_POLL_INTERVAL)
        finally:
            connection.close()

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL after ``stop_timeout`` s; returns once it has exited.

        Once etcd has closed its database it only waits (1 s) for the peers' idle
        connections: it is killed then, which keeps a daemon's SIGTERM under 1 s.
        """
        process = self._process
        if process is not None and process.poll() is None:
            had_database_open = database_locked(self.data_dir)
            process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + self.stop_timeout
            while process.poll() is None and time.monotonic() < deadline:
                await trio.sleep(_POLL_INTERVAL / 2)
                if had_database_open and not database_locked(self.data_dir):
                    break
            if process.poll() is None:
                process.kill()
                await trio.to_thread.run_sync(process.wait)
        self._close_log()

    async def relaunch(self, timing: EtcdTiming) -> None:
        """Stop and start again on the same data dir with ``timing`` (not waiting for
        quorum); ``relaunching`` is true meanwhile, so that nobody takes the stop for a
        death."""
        self.relaunching = True
        try:
            await self.stop()
            self.timing = timing
            await self.start(wait=False)
        finally:
            self.relaunching = False

    def stop_sync(self) -> None:
        """stop() for code outside trio (atexit, plain pytest fixtures)."""
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._close_log()

    def log_tail(self, max_lines: int = _TAIL_LINES) -> str:
        """The last lines etcd logged since the latest start()."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(self._log_offset)
                text = log.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-max_lines:])

    def _resolve_binary(self) -> str:
        found = shutil.which(self.binary)
        if found is None:
            raise EtcdNotInstalled(
                f"etcd binary {self.binary!r} not found; install Debian's etcd-server "
                "(apt-get install etcd-server) or pass the path of an etcd 3.4+ binary"
            )
        return found

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        with trio.CancelScope(shield=True):
            await self.stop()
