"""The etcd command line, built without starting anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.etcd.process_args import build_etcd_argv, default_etcd_data_dir, holds_member
from domain.cluster import EtcdEndpoint

ENDPOINT = EtcdEndpoint(ip="10.0.0.5", client_port=2379, peer_port=2380)
NAME = "10.0.0.5-2379-2380"


def flags(argv: list[str]) -> dict[str, str]:
    """``--flag value`` pairs after the binary; booleans as ``--flag=value``."""
    found: dict[str, str] = {}
    args = iter(argv[1:])
    for arg in args:
        name, _, value = arg.partition("=")
        found[name] = value if value else next(args)
    return found


def test_new_cluster_uses_the_reference_flags() -> None:
    argv = build_etcd_argv(binary="/usr/bin/etcd", endpoint=ENDPOINT, data_dir=Path("/d"))
    assert argv[0] == "/usr/bin/etcd"
    assert flags(argv) == {
        "--name": NAME,
        "--data-dir": "/d",
        "--listen-client-urls": "http://10.0.0.5:2379",
        "--advertise-client-urls": "http://10.0.0.5:2379",
        "--listen-peer-urls": "http://10.0.0.5:2380",
        "--initial-advertise-peer-urls": "http://10.0.0.5:2380",
        "--initial-cluster": f"{NAME}=http://10.0.0.5:2380",
        "--initial-cluster-state": "new",
        "--logger": "zap",
        "--log-outputs": "stderr",
        "--pre-vote": "true",
    }


def test_joining_passes_the_member_add_answer_and_state_existing() -> None:
    cluster = f"10.0.0.1-2379-2380=http://10.0.0.1:2380,{NAME}=http://10.0.0.5:2380"
    argv = build_etcd_argv(
        binary="etcd",
        endpoint=ENDPOINT,
        data_dir=Path("/d"),
        initial_cluster=cluster,
        initial_cluster_state="existing",
    )
    assert flags(argv)["--initial-cluster"] == cluster
    assert flags(argv)["--initial-cluster-state"] == "existing"


def test_restart_leaves_out_every_bootstrap_flag() -> None:
    argv = build_etcd_argv(
        binary="etcd",
        endpoint=ENDPOINT,
        data_dir=Path("/d"),
        initial_cluster="whatever=http://x:1",
        initial_cluster_state="existing",
        restart=True,
    )
    assert "--initial-cluster" not in argv
    assert "--initial-cluster-state" not in argv
    assert flags(argv)["--name"] == NAME
    assert flags(argv)["--data-dir"] == "/d"


def test_joining_without_an_initial_cluster_is_refused() -> None:
    with pytest.raises(ValueError, match="member add"):
        build_etcd_argv(
            binary="etcd", endpoint=ENDPOINT, data_dir=Path("/d"), initial_cluster_state="existing"
        )


def test_initial_cluster_must_name_this_member_with_its_peer_url() -> None:
    with pytest.raises(ValueError, match="does not contain this member"):
        build_etcd_argv(
            binary="etcd",
            endpoint=ENDPOINT,
            data_dir=Path("/d"),
            initial_cluster=f"{NAME}=http://10.0.0.5:9999",
        )


def test_unknown_cluster_state_is_refused() -> None:
    with pytest.raises(ValueError, match="new or existing"):
        build_etcd_argv(
            binary="etcd",
            endpoint=ENDPOINT,
            data_dir=Path("/d"),
            initial_cluster_state="old",  # type: ignore[arg-type]
        )


def test_ipv6_endpoint_brackets_urls_but_not_the_name() -> None:
    endpoint = EtcdEndpoint(ip="::1", client_port=12379, peer_port=12380)
    found = flags(build_etcd_argv(binary="etcd", endpoint=endpoint, data_dir=Path("/d")))
    assert found["--name"] == "::1-12379-12380"
    assert found["--listen-client-urls"] == "http://[::1]:12379"
    assert found["--initial-cluster"] == "::1-12379-12380=http://[::1]:12380"


def test_default_data_dir_follows_xdg_data_home() -> None:
    found = default_etcd_data_dir(ENDPOINT, environ={"XDG_DATA_HOME": "/xdg"})
    assert found == Path("/xdg/physarum-registry/etcd-10.0.0.5-2379-2380")


def test_default_data_dir_falls_back_to_local_share() -> None:
    found = default_etcd_data_dir(ENDPOINT, environ={})
    assert found == Path.home() / ".local/share/physarum-registry/etcd-10.0.0.5-2379-2380"


def test_a_member_subdirectory_means_restart(tmp_path: Path) -> None:
    assert not holds_member(tmp_path)
    (tmp_path / "member").mkdir()
    assert holds_member(tmp_path)
