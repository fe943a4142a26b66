"""The generated Dockerfile (byte for byte as the reference gives it) and build-context plan."""

from __future__ import annotations

import msgspec
import pytest

from domain.dockerfile import InvalidBuildPlan, plan_dockerfile
from domain.service_config import DockerConf, RttRequirement, ServiceConfig

CORE = (
    "WORKDIR /app\n"
    "COPY proxy .\n"
    "COPY conf.json .\n"
    "ENV PROXY_PORT=4201\n"
    "ENV PROXY_IP=127.0.0.1\n"
    "ENV SERVICE_PORT=8080\n"
    "ENV METRICS_PORT=9010\n"
    "ENV P2P_BOOTSTRAPS=\n"
    "ENV P2P_PSK=\n"
)


def config(**docker_conf: object) -> ServiceConfig:
    return ServiceConfig(
        network_soft_req=RttRequirement(100),
        network_hard_req=RttRequirement(300),
        docker_conf=DockerConf(**{"cmd": "python3 app.py", **docker_conf}),  # type: ignore[arg-type]
    )


def test_service_mode_dockerfile_byte_for_byte() -> None:
    plan = plan_dockerfile(
        config(
            from_="python:3.8",
            copy=[("app.py", "."), ("static", "static")],
            run=["pip install flask", "mkdir -p /data"],
        ),
        "my-service:1.0",
    )
    assert plan.dockerfile == (
        "FROM python:3.8\n" + CORE + "COPY app.py .\n"
        "COPY static static\n"
        "RUN pip install flask\n"
        "RUN mkdir -p /data\n"
        "CMD ./proxy --configfile conf.json $PROXY_PORT my-service:1.0 "
        "$PROXY_IP:$SERVICE_PORT $METRICS_PORT > proxy.log 2>&1 & python3 app.py\n"
    )


def test_default_base_image_and_client_mode() -> None:
    plan = plan_dockerfile(config(proxy_client_mode=True), "svc")
    assert plan.dockerfile == (
        "FROM ubuntu:16.04\n"
        + CORE
        + "CMD ./proxy --configfile conf.json $PROXY_PORT > proxy.log 2>&1 & python3 app.py\n"
    )
    assert plan.base_image == "ubuntu:16.04"


def test_custom_proxy_command_wins_over_both_modes() -> None:
    for client_mode in (False, True):
        plan = plan_dockerfile(
            config(proxy_client_mode=client_mode), "svc", "./proxy --configfile conf.json 1"
        )
        assert plan.dockerfile.endswith("CMD ./proxy --configfile conf.json 1 & python3 app.py\n")


def test_proxy_conf_json_carries_nanoseconds_and_null_bootstraps() -> None:
    plan = plan_dockerfile(config(), "svc")
    assert msgspec.json.decode(plan.proxy_config) == {
        "Perf": {"SoftReq": {"RTT": 100_000_000}, "HardReq": {"RTT": 300_000_000}},
        "Bootstraps": None,
    }


def test_context_sources_are_normalized_deduplicated_and_nested_ones_dropped() -> None:
    plan = plan_dockerfile(
        config(copy=[("./a/", "x"), ("a/b", "y"), ("c", "z"), ("a-b", "w"), ("c", "v")]), "svc"
    )
    assert plan.copy_sources == ("a", "a-b", "c")
    assert "COPY ./a/ x\n" in plan.dockerfile  # the Dockerfile keeps what the user wrote


def test_whole_directory_source_covers_everything() -> None:
    plan = plan_dockerfile(config(copy=[("app", "app"), (".", "all")]), "svc")
    assert plan.copy_sources == (".",)


def test_generated_names_of_the_context() -> None:
    assert plan_dockerfile(config(), "svc").generated_names == ("Dockerfile", "conf.json", "proxy")


@pytest.mark.parametrize(
    ("conf", "service", "proxy_cmd", "message"),
    [
        ({"cmd": ""}, "svc", None, "Cmd is empty"),
        ({}, "my svc", None, "service name"),
        ({}, "svc", "a\nRUN b", "--proxy-cmd"),
        ({"copy": [("../up", ".")]}, "svc", None, "leaves --dir"),
    ],
)
def test_plans_that_cannot_be_sound(
    conf: dict[str, object], service: str, proxy_cmd: str | None, message: str
) -> None:
    with pytest.raises(InvalidBuildPlan, match=message):
        plan_dockerfile(config(**conf), service, proxy_cmd)
