"""The add-image use case with in-memory fakes of its ports (the real ones: integration tests)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from application.publish import AddImage, AddImageRequest, PublishRequestInvalid
from application.publishing_ports import PushFailed, RegistryAuthFailed
from domain.dockerfile import DockerfilePlan
from domain.image_ref import ImageReference, parse_image_reference
from domain.service_config import decode_service_config
from domain.service_info import ServiceInfo
from domain.service_name import InvalidServiceName

DIGEST = "sha256:" + "d1" * 32
PULLED = "sha256:" + "e2" * 32
CONFIG = decode_service_config(
    b'{"NetworkSoftReq": {"RTT": 100}, "NetworkHardReq": {"RTT": 250}, "CpuReq": 2,'
    b' "MemoryReq": 512, "DockerConf": {"From": "busybox", "Cmd": "sleep 1"}}'
)
IMAGE_TAR = [b"layer-one" * 1000, b"layer-two" * 1000, b"manifest"]


class FakeStage:
    def __init__(self) -> None:
        self.advanced = 0

    def set_total(self, total: int | None) -> None:
        pass

    def advance(self, amount: int) -> None:
        self.advanced += amount

    def status(self, text: str) -> None:
        pass

    def log(self, line: str) -> None:
        pass


@dataclass
class Recorder:
    """Shared log of what the fakes were asked to do, in order."""

    calls: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, call: str) -> None:
        with self.lock:
            self.calls.append(call)


@dataclass
class FakeProgress:
    recorder: Recorder

    @contextmanager
    def stage(self, name: str) -> Iterator[FakeStage]:
        self.recorder.note(f"stage:{name}")
        yield FakeStage()

    @contextmanager
    def suspended(self) -> Iterator[None]:
        yield

    def timings(self) -> dict[str, float]:
        return {"build": 1.0}


@dataclass
class FakeContext:
    total_bytes: int = 10
    file_count: int = 3


@dataclass
class FakeBuilder:
    recorder: Recorder
    plans: list[DockerfilePlan] = field(default_factory=list)

    def prepare_context(self, plan: DockerfilePlan, context_dir: Path, proxy: Path) -> FakeContext:
        self.recorder.note(f"context:{context_dir}:{proxy}")
        return FakeContext()

    def build(self, plan: DockerfilePlan, context: object, tag: str, progress: object) -> str:
        self.plans.append(plan)
        self.recorder.note(f"build:{tag}")
        return "sha256:image"


@dataclass
class FakeArchive:
    recorder: Recorder
    chunks_read: int = 0

    @contextmanager
    def saved(self, image: str, progress: object) -> Iterator[Iterator[bytes]]:
        self.recorder.note(f"save:{image}")

        def chunks() -> Iterator[bytes]:
            for chunk in IMAGE_TAR:
                self.chunks_read += 1
                yield chunk

        yield chunks()


@dataclass
class FakePublisher:
    recorder: Recorder
    push_error: Exception | None = None

    def push(self, image: ImageReference, progress: object) -> str:
        self.recorder.note(f"push:{image.tagged}")
        if self.push_error:
            raise self.push_error
        return DIGEST

    def pull(self, image: ImageReference, progress: object) -> str:
        self.recorder.note(f"pull:{image}")
        return PULLED


@dataclass
class FakeProxy:
    recorder: Recorder

    def proxy_binary(self, progress: object) -> Path:
        self.recorder.note("proxy")
        return Path("/bin/proxy")


class Sha256Hasher:
    """Unit tests only: any deterministic digest of the stream will do here."""

    def content_id(self, chunks: Iterable[bytes]) -> str:
        digest = hashlib.sha256()
        for chunk in chunks:
            digest.update(chunk)
        return "fake-" + digest.hexdigest()[:16]


EXPECTED_HASH = Sha256Hasher().content_id(IMAGE_TAR)


@dataclass
class Harness:
    recorder: Recorder = field(default_factory=Recorder)
    registered: list[tuple[str, ServiceInfo]] = field(default_factory=list)
    push_error: Exception | None = None

    def use_case(self) -> AddImage:
        self.builder = FakeBuilder(self.recorder)
        self.archive = FakeArchive(self.recorder)

        def register(name: str, info: ServiceInfo) -> str:
            self.recorder.note(f"register:{name}")
            self.registered.append((name, info))
            return f"Added {{{name}: ...}}"

        return AddImage(
            builder=self.builder,
            archive=self.archive,
            publisher=FakePublisher(self.recorder, self.push_error),
            proxy_source=FakeProxy(self.recorder),
            hasher=Sha256Hasher(),
            progress=FakeProgress(self.recorder),
            register=register,
        )


def request(image: str = "localhost:5000/team/svc:1.0", **options: object) -> AddImageRequest:
    return AddImageRequest(
        config=CONFIG,
        image=parse_image_reference(image),
        service_name="svc:1.0",
        context_dir=Path("/ctx"),
        **options,  # type: ignore[arg-type]
    )


def test_full_add_builds_pushes_hashes_and_registers_the_record() -> None:
    harness = Harness()
    result = harness.use_case().run(request())
    assert result.registered
    assert result.info == ServiceInfo(
        content_hash=EXPECTED_HASH,
        docker_hash=f"localhost:5000/team/svc@{DIGEST}",
        network_soft_req=CONFIG.network_soft_req.as_perf_ind(),
        network_hard_req=CONFIG.network_hard_req.as_perf_ind(),
        cpu_req=2,
        memory_req=512,
    )
    assert result.info.network_soft_req.rtt == 100_000_000
    assert harness.registered == [("svc:1.0", result.info)]
    calls = harness.recorder.calls
    assert calls[:6] == [
        "stage:proxy",
        "proxy",
        "stage:context",
        "context:/ctx:/bin/proxy",
        "stage:build",
        "build:localhost:5000/team/svc:1.0",
    ]
    # The tagged form is what gets saved (and so hashed).
    assert "save:localhost:5000/team/svc:1.0" in calls
    assert "push:localhost:5000/team/svc:1.0" in calls
    assert calls[-2:] == ["stage:register", "register:svc:1.0"]
    assert result.timings == {"build": 1.0}
    assert "CMD ./proxy --configfile conf.json $PROXY_PORT svc:1.0 " in (
        harness.builder.plans[0].dockerfile
    )


def test_no_add_builds_only() -> None:
    harness = Harness()
    result = harness.use_case().run(request(no_add=True))
    assert not result.registered and result.info is None
    assert not any(c.startswith(("push", "save", "register")) for c in harness.recorder.calls)
    assert result.image == "localhost:5000/team/svc:1.0"


def test_content_id_skips_saving_and_hashing() -> None:
    harness = Harness()
    result = harness.use_case().run(request(content_id="QmGiven"))
    assert result.info is not None and result.info.content_hash == "QmGiven"
    assert not any(c.startswith("save") for c in harness.recorder.calls)


def test_use_existing_image_pulls_instead_of_building_and_pushing() -> None:
    harness = Harness()
    result = harness.use_case().run(request("user/app:2", use_existing_image=True))
    assert result.info is not None
    assert result.info.docker_hash == f"user/app@{PULLED}"
    assert result.info.content_hash == EXPECTED_HASH
    calls = harness.recorder.calls
    assert "pull:user/app:2" in calls and "save:user/app:2" in calls
    assert not any(c.startswith(("build", "push", "proxy")) for c in calls)


def test_existing_image_by_digest_is_saved_by_digest() -> None:
    harness = Harness()
    harness.use_case().run(request(f"user/app@{DIGEST}", use_existing_image=True))
    assert f"save:user/app@{DIGEST}" in harness.recorder.calls


def test_existing_image_with_no_add_only_pulls() -> None:
    harness = Harness()
    result = harness.use_case().run(request("user/app:2", use_existing_image=True, no_add=True))
    assert not result.registered
    assert [c for c in harness.recorder.calls if not c.startswith("stage")] == ["pull:user/app:2"]


def test_push_failure_stops_hashing_and_is_the_error_reported() -> None:
    import threading

    harness = Harness(push_error=RegistryAuthFailed("unauthorized: authentication required"))
    use_case = harness.use_case()
    many = 10_000

    class LongArchive(FakeArchive):
        """An image of ``many`` chunks; after the first, the push has already failed."""

        @contextmanager
        def saved(self, image: str, progress: object) -> Iterator[Iterator[bytes]]:
            def chunks() -> Iterator[bytes]:
                for n in range(many):
                    self.chunks_read += 1
                    yield b"x"
                    if n == 0:
                        [push] = [t for t in threading.enumerate() if t.name == "push"]
                        push.join(10)  # the push has failed and said so

            yield chunks()

    use_case.archive = archive = LongArchive(harness.recorder)
    with pytest.raises(RegistryAuthFailed, match="unauthorized"):
        use_case.run(request())
    assert archive.chunks_read <= 2, archive.chunks_read  # not the other 9 998
    assert harness.registered == []


def test_other_push_failures_propagate_too() -> None:
    harness = Harness(push_error=PushFailed("blob upload unknown"))
    with pytest.raises(PushFailed):
        harness.use_case().run(request())
    assert not any(c.startswith("register") for c in harness.recorder.calls)


def test_building_to_a_digest_is_refused() -> None:
    with pytest.raises(PublishRequestInvalid, match="digest"):
        Harness().use_case().run(request(f"user/app@{DIGEST}"))


def test_invalid_service_name_fails_before_any_work() -> None:
    harness = Harness()
    with pytest.raises(InvalidServiceName):
        harness.use_case().run(
            AddImageRequest(config=CONFIG, image=parse_image_reference("a/b"), service_name=" x")
        )
    assert harness.recorder.calls == []


def test_empty_content_id_is_refused() -> None:
    with pytest.raises(PublishRequestInvalid):
        Harness().use_case().run(request(content_id=" "))
