"""The HTTP actor of the threat model (docs/security.md, "The HTTP API")."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import stat
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from http_fixtures import RECORD, add_token, remove_token
from registry_process import VENV_BIN, RegistryProcess, free_port


def _exists(http_registry, name: str) -> bool:
    with http_registry.client() as c:
        return c.get(f"/v1/services/{name}").status_code == 200


def test_a_write_without_a_token_is_401_and_writes_nothing_even_on_loopback(http_registry):
    with httpx.Client(base_url=http_registry.url) as c:
        put = c.put("/v1/services/sec-anon", content=RECORD)
        delete = c.delete("/v1/services/sec-anon")
    assert put.status_code == 401 and delete.status_code == 401
    assert put.headers["WWW-Authenticate"].startswith("Bearer")
    assert not _exists(http_registry, "sec-anon")


def test_a_bad_token_is_401_on_every_read_too(http_registry):
    with httpx.Client(base_url=http_registry.url,
                      headers={"Authorization": "Bearer rgt_made-up"}) as c:
        for path in ("/v1/services", "/v1/services/x", "/v1/events", "/v1/status",
                     "/v1/prometheus/targets"):
            answer = c.get(path)
            assert answer.status_code == 401, path
            assert answer.json() == {"Error": "a valid bearer token is needed"}, path


def test_a_read_token_that_tries_to_write_is_403_and_writes_nothing(http_registry):
    http_registry.put("sec-kept")
    with http_registry.client(http_registry.read_token) as c:
        put = c.put("/v1/services/sec-read", content=RECORD)
        delete = c.delete("/v1/services/sec-kept")
        read = c.get("/v1/services/sec-kept")
    assert put.status_code == 403 and delete.status_code == 403
    assert read.status_code == 200
    assert not _exists(http_registry, "sec-read") and _exists(http_registry, "sec-kept")


def test_refusals_say_nothing_of_the_registry(http_registry):
    """The same answer whether the record exists or not, whatever the body."""
    http_registry.put("sec-present")
    answers = []
    for token in (None, "rgt_not-a-token", http_registry.read_token):
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=http_registry.url, headers=headers) as c:
            for name in ("sec-present", "sec-absent"):
                for body in (RECORD, "junk"):
                    answer = c.put(f"/v1/services/{name}", content=body, params={"cas": 0})
                    answers.append((token, answer.status_code, answer.text,
                                    "X-Registry-Index" in answer.headers))
    for token in (None, "rgt_not-a-token", http_registry.read_token):
        mine = {(status, text, index) for t, status, text, index in answers if t == token}
        assert len(mine) == 1, mine  # one answer for all four requests
        ((status, text, index),) = mine
        assert status in (401, 403) and not index
        assert "sec-" not in text and "revision" not in text.lower()


def test_a_removed_token_stops_working_after_sighup(http_registry):
    token = add_token(http_registry.tokens_file, "short-lived", "write")
    http_registry.process.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    with httpx.Client(base_url=http_registry.url,
                      headers={"Authorization": f"Bearer {token}"}) as c:
        while c.put("/v1/services/sec-before", content=RECORD).status_code != 200:
            assert time.monotonic() < deadline, "the added token never worked"
            time.sleep(0.1)
        remove_token(http_registry.tokens_file, "short-lived")
        http_registry.process.process.send_signal(signal.SIGHUP)
        while (answer := c.put("/v1/services/sec-after", content=RECORD)).status_code == 200:
            assert time.monotonic() < deadline, "the removed token still works"
            c.delete("/v1/services/sec-after", headers={
                "Authorization": f"Bearer {http_registry.write_token}"})
            time.sleep(0.1)
    assert answer.status_code == 401
    assert not _exists(http_registry, "sec-after")
    assert "HTTP tokens reloaded" in http_registry.process.log_file.read_text()


def test_the_tokens_file_holds_only_hashes_and_is_private(http_registry):
    text = http_registry.tokens_file.read_text()
    assert http_registry.write_token not in text and http_registry.read_token not in text
    assert "sha256:" in text
    assert stat.S_IMODE(os.stat(http_registry.tokens_file).st_mode) == 0o600


@pytest.mark.parametrize("body", [b"junk", b"\xff\xfe", b"[1,2]", b'{"CpuReq":"x"}', b""])
def test_a_junk_body_is_a_400_and_stores_nothing(http_registry, body):
    answer = http_registry.put("sec-junk", body)  # type: ignore[arg-type]
    assert answer.status_code == 400
    assert set(answer.json()) == {"Error"}
    assert not _exists(http_registry, "sec-junk")
    with http_registry.client() as c:
        assert c.get("/v1/health").status_code == 200  # and the daemon is fine


def test_an_oversized_body_is_a_413_declared_or_not(http_registry):
    big = b'{"ContentHash":"' + b"x" * (1 << 20) + b'"}'
    declared = http_registry.put("sec-big", big)  # type: ignore[arg-type]

    def chunks():
        yield big[: 1 << 19]
        yield big[1 << 19:]

    with http_registry.client(http_registry.write_token) as c:
        streamed = c.put("/v1/services/sec-big", content=chunks())  # chunked: no length
    assert declared.status_code == 413 and streamed.status_code == 413
    assert not _exists(http_registry, "sec-big")


def _closed_after(sock: socket.socket, limit: float) -> tuple[float, bytes]:
    """Seconds until the server ends the connection, and what it sent."""
    started = time.monotonic()
    sock.settimeout(limit)
    received = b""
    while chunk := sock.recv(4096):
        received += chunk
    return time.monotonic() - started, received


def test_a_slow_client_cannot_hold_a_connection(http_registry):
    """A request head that never completes, and a body that never comes, are cut off."""
    host, port = "127.0.0.1", int(http_registry.url.rsplit(":", 1)[1])
    with socket.create_connection((host, port)) as head_only, \
            socket.create_connection((host, port)) as body_never:
        head_only.sendall(b"GET /v1/services HTTP/1.1\r\nHost: x\r\n")  # no blank line
        body_never.sendall(
            b"PUT /v1/services/sec-slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
            b"Authorization: Bearer " + http_registry.write_token.encode() + b"\r\n\r\n{")
        head_seconds, head_answer = _closed_after(head_only, 30)
        body_seconds, body_answer = _closed_after(body_never, 30)
    assert 9 < head_seconds < 15 and head_answer == b""  # the header timeout: 10 s
    assert body_seconds < 15 and b" 408" in body_answer.split(b"\r\n")[0]
    assert not _exists(http_registry, "sec-slow")


def test_an_idle_keep_alive_connection_is_closed(http_registry):
    host, port = "127.0.0.1", int(http_registry.url.rsplit(":", 1)[1])
    with socket.create_connection((host, port)) as sock:
        sock.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
        seconds, received = _closed_after(sock, 30)
    assert received.startswith(b"HTTP/1.1 200")
    assert 9 < seconds < 15


@pytest.mark.parametrize("missing", ["--http-cert", "--http-tokens-file"])
def test_a_non_loopback_listener_is_refused_without_tls_and_tokens(tmp_path, missing):
    cert, key, tokens = tmp_path / "c.pem", tmp_path / "k.pem", tmp_path / "tokens"
    add_token(tokens, "reader", "read")
    args = {"--http-cert": ["--http-cert", str(cert), "--http-key", str(key)],
            "--http-tokens-file": ["--http-tokens-file", str(tokens)]}
    kept = [a for flag, part in args.items() if flag != missing for a in part]
    process = RegistryProcess(tmp_path / "r", extra_args=[
        "--http-listen", f"0.0.0.0:{free_port()}", *kept])
    done = subprocess.run(process.argv(), capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "is not a loopback address" in done.stderr
    assert "Traceback" not in done.stderr
    assert not process.data_dir.exists()  # refused before etcd started


def test_http_token_add_prints_the_token_once_on_its_last_line(tmp_path):
    tokens = tmp_path / "tokens"
    done = subprocess.run(
        [str(VENV_BIN / "registry-service"), "http-token", "add", "ops", "--role", "read",
         "--tokens-file", str(tokens)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    *before, token = done.stdout.splitlines()
    assert token.startswith("rgt_") and len(token) > 40
    assert token not in "\n".join(before) and token not in tokens.read_text()
    again = subprocess.run(
        [str(VENV_BIN / "registry-service"), "http-token", "add", "ops", "--role", "read",
         "--tokens-file", str(tokens)], capture_output=True, text=True, timeout=30)
    assert again.returncode != 0 and "already has a token named ops" in again.stderr


def test_a_request_head_growing_past_16_kib_is_refused_and_the_daemon_keeps_serving(
    http_registry,
):
    host, port = "127.0.0.1", int(http_registry.url.rsplit(":", 1)[1])
    with socket.create_connection((host, port)) as sock:
        sock.sendall(b"GET /v1/services HTTP/1.1\r\nHost: x\r\nX-Big: ")
        try:
            for _ in range(100):  # 800 KiB of one header, in pieces, never ended
                sock.sendall(b"a" * 8192)
                time.sleep(0.01)
        except OSError:
            pass  # refused and closed while we were still sending
        _, received = _closed_after(sock, 30)
    assert received.split(b"\r\n")[0].split(b" ")[1] in (b"400", b"431")
    with http_registry.client() as c:
        assert c.get("/v1/health").status_code == 200


def _self_signed(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-days", "1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=30)
    return cert, key


def test_a_tls_listener_on_all_interfaces_needs_a_token_even_to_read(tmp_path):
    """Bound to 0.0.0.0 (reached here on 127.0.0.1 only): HTTPS, and no open reads."""
    cert, key = _self_signed(tmp_path)
    tokens = tmp_path / "tokens"
    read_token = add_token(tokens, "reader", "read")
    port = free_port("0.0.0.0")
    process = RegistryProcess(tmp_path / "r", extra_args=[
        "--http-listen", f"0.0.0.0:{port}", "--http-cert", str(cert), "--http-key", str(key),
        "--http-tokens-file", str(tokens)]).start()
    try:
        url = f"https://127.0.0.1:{port}"
        with httpx.Client(base_url=url, verify=ssl.create_default_context(cafile=str(cert))) as c:
            anonymous = c.get("/v1/services")
            reader = c.get("/v1/services", headers={"Authorization": f"Bearer {read_token}"})
            health = c.get("/v1/health")
        assert anonymous.status_code == 401
        assert reader.status_code == 200 and reader.json() == {}
        assert health.status_code == 200
        with pytest.raises(httpx.TransportError):  # no plain HTTP on that port
            httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=5)
        assert f"HTTP API at https://0.0.0.0:{port}/v1/" in process.log_file.read_text()
    finally:
        process.stop()
