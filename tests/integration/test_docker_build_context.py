"""The build context on a real file system: recursion, symlink policy, streaming tar."""

from __future__ import annotations

import io
import os
import tarfile
import threading
import time
from pathlib import Path

import pytest

from adapters.docker.build_context import prepare_build_context, write_tar
from adapters.docker.streaming import written_in_thread
from application.publishing_ports import BuildContextError
from domain.dockerfile import plan_dockerfile
from domain.service_config import DockerConf, ServiceConfig


def plan(*copies: tuple[str, str]):
    return plan_dockerfile(
        ServiceConfig(docker_conf=DockerConf(copy=list(copies), cmd="run")), "svc"
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "dir"
    (root / "app" / "lib" / "deep").mkdir(parents=True)
    (root / "app" / "main.sh").write_text("echo main\n")
    (root / "app" / "main.sh").chmod(0o755)
    (root / "app" / "lib" / "deep" / "data.bin").write_bytes(os.urandom(3 * 1024 * 1024 + 7))
    (root / "app" / "to-system").symlink_to("/usr/lib")  # stays a link
    (root / "app" / "sibling").symlink_to("main.sh")
    (root / "app" / "libdir").symlink_to("lib")  # a link to a directory: not walked twice
    (root / "README").write_text("readme\n")
    (root / "readme-link").symlink_to("README")
    return root


@pytest.fixture
def proxy(tmp_path: Path) -> Path:
    path = tmp_path / "proxy-build"
    path.write_bytes(b"\x7fELF fake")
    return path


def members(context) -> dict[str, tarfile.TarInfo]:
    data = b"".join(written_in_thread(lambda sink: write_tar(context, sink), chunk_size=65536))
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: m for m in tar.getmembers()} | {"__data__": data}  # type: ignore[dict-item]


def test_directories_are_copied_recursively_and_symlinks_inside_kept_as_links(tree, proxy):
    context = prepare_build_context(plan(("app", "app")), tree, proxy)
    found = members(context)
    assert {
        "Dockerfile",
        "conf.json",
        "proxy",
        "app",
        "app/main.sh",
        "app/lib",
        "app/lib/deep",
        "app/lib/deep/data.bin",
    } <= found.keys()
    assert found["app/to-system"].issym() and found["app/to-system"].linkname == "/usr/lib"
    assert found["app/sibling"].issym()
    assert found["app/libdir"].issym() and "app/libdir/deep" not in found
    assert found["app/main.sh"].mode & 0o777 == 0o755
    assert found["proxy"].mode & 0o777 == 0o755
    assert found["app/lib/deep/data.bin"].size == 3 * 1024 * 1024 + 7
    assert all(m.uid == 0 and m.uname == "" for k, m in found.items() if k != "__data__")


def test_a_source_that_is_itself_a_symlink_inside_dir_is_dereferenced(tree, proxy):
    found = members(prepare_build_context(plan(("readme-link", ".")), tree, proxy))
    assert found["readme-link"].isfile() and found["readme-link"].size == len("readme\n")


def test_symlink_escaping_dir_is_refused(tree, proxy, tmp_path):
    (tmp_path / "secret").write_text("s")
    (tree / "leak").symlink_to(tmp_path / "secret")
    with pytest.raises(BuildContextError, match="outside --dir"):
        prepare_build_context(plan(("leak", ".")), tree, proxy)


def test_symlinked_parent_directory_escaping_dir_is_refused(tree, proxy):
    (tree / "etc").symlink_to("/etc")
    with pytest.raises(BuildContextError, match="outside --dir"):
        prepare_build_context(plan(("etc/hostname", ".")), tree, proxy)


def test_missing_source_and_fifo_are_refused(tree, proxy):
    with pytest.raises(BuildContextError, match="not found"):
        prepare_build_context(plan(("nope", ".")), tree, proxy)
    os.mkfifo(tree / "app" / "pipe")
    with pytest.raises(BuildContextError, match="FIFO"):
        prepare_build_context(plan(("app", ".")), tree, proxy)


def test_whole_dir_source_clashing_with_generated_files_is_refused(tree, proxy):
    (tree / "Dockerfile").write_text("FROM x\n")
    with pytest.raises(BuildContextError, match="clashes"):
        prepare_build_context(plan((".", ".")), tree, proxy)


def test_whole_dir_source_puts_its_entries_at_the_root(tree, proxy):
    found = members(prepare_build_context(plan((".", ".")), tree, proxy))
    assert {"README", "app/main.sh", "Dockerfile"} <= found.keys()


def test_stream_is_chunked_and_stops_when_the_consumer_stops(tree, proxy):
    context = prepare_build_context(plan(("app", "app")), tree, proxy)
    whole = len(members(context)["__data__"])  # type: ignore[arg-type]
    stopped = threading.Event()
    written_when_stopped: list[int] = []

    def produce(sink) -> None:
        try:
            write_tar(context, sink)
        finally:
            written_when_stopped.append(sink.tell())
            stopped.set()

    chunks = written_in_thread(produce, chunk_size=4096, depth=2, name="producer-under-test")
    first = next(chunks)
    assert len(first) == 4096
    chunks.close()  # type: ignore[attr-defined]
    # The producer gave up at its next write: it did not run on to the end of the tar...
    assert stopped.wait(30), "the producer is still writing after the consumer stopped"
    assert written_when_stopped[0] < whole // 2, (written_when_stopped, whole)
    # ...and its thread is gone, not parked on a full queue.
    deadline = time.monotonic() + 30
    while any(t.name == "producer-under-test" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "the producer thread never ended"
        time.sleep(0.01)


def test_errors_in_the_producer_reach_the_consumer(tree, proxy):
    context = prepare_build_context(plan(("app", "app")), tree, proxy)
    (tree / "app" / "main.sh").unlink()  # vanishes between check and read
    with pytest.raises(FileNotFoundError):
        b"".join(written_in_thread(lambda sink: write_tar(context, sink)))
