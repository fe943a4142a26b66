"""deploy/compose.yaml with the real engine, the locally built image, Compose v1 and v2.

Up; 3 healthy members; `registry-cli put` and `get` from the host; one instance stopped while the
others keep reading and writing; started again, it rejoins as the same member with
the writes it missed; down (always, volumes included).
"""

from __future__ import annotations

import json
import subprocess

import pytest
from compose_fixtures import ComposeCluster, ComposeMissing, image_present

pytestmark = pytest.mark.docker  # the real engine and image (-m 'not docker' leaves it out)


@pytest.fixture(params=["v1", "v2"])
def compose_cluster(request, tmp_path):
    if not image_present():
        pytest.fail("no physarum-registry image: run scripts/setup-deploy.sh")
    try:
        cluster = ComposeCluster(request.param, tmp_path / "compose")
    except ComposeMissing as exc:
        pytest.fail(str(exc))
    try:
        cluster.up()
        yield cluster
    finally:
        cluster.down()


def put(cluster: ComposeCluster, bootstraps: list[str], name: str, content: str) -> None:
    """`registry-cli put NAME -` from the host: a record in the Go JSON shape on stdin."""
    record = json.dumps({"ContentHash": content})
    put = cluster.cli(bootstraps, "put", name, "-", stdin=record)
    assert put.returncode == 0, put.stderr
    assert int(put.stdout) > 0, put.stdout  # the record's new revision


def content_of(cluster: ComposeCluster, bootstraps: list[str], name: str) -> str:
    got = cluster.cli(bootstraps, "--json", "get", name)
    assert got.returncode == 0, got.stderr
    return json.loads(got.stdout)["ContentHash"]


def test_three_instances_survive_one_stopped_and_rejoin(compose_cluster):
    cluster = compose_cluster
    first = cluster.wait_healthy("registry-1", 3, within=300)
    assert first["quorum"] is True
    names = sorted(m["name"] for m in first["members"])
    assert len(names) == 3 and all(names)
    peers = {s: cluster.wait_healthy(s, 3, within=60)["peer_id"] for s in
             ("registry-1", "registry-2", "registry-3")}
    assert len(set(peers.values())) == 3
    everyone = [cluster.bootstrap(s, p) for s, p in peers.items()]

    # Every instance lists the others (docs/cluster.md): its bootstraps are the rest.
    for service in peers:
        env = cluster.compose("exec", "-T", service, "sh", "-c",
                              "tr '\\0' '\\n' < /proc/1/environ | grep ^P2P_BOOTSTRAPS=").stdout
        others = [p for s, p in peers.items() if s != service]
        assert all(p in env for p in others) and peers[service] not in env, (service, env)

    # docs/security.md: non-root, passphrase not on the command line, 127.0.0.1 only.
    for service in peers:
        uid = cluster.compose("exec", "-T", service, "id", "-u").stdout.strip()
        assert uid == "10001", (service, uid)
        cmdline = cluster.compose("exec", "-T", service, "cat", "/proc/1/cmdline").stdout
        environ = cluster.compose("exec", "-T", service, "cat", "/proc/1/environ").stdout
        assert "registry-service" in cmdline and "P2P_PSK_FILE=" in environ
        assert cluster.passphrase not in cmdline + environ
        container = cluster.compose("ps", "-q", service).stdout.strip()
        config = subprocess.run(["docker", "inspect", container], capture_output=True,
                                text=True, check=True).stdout
        assert cluster.passphrase not in config
        published = cluster.compose("port", service, "4001").stdout.strip()
        assert published == f"127.0.0.1:{cluster.ports[service]}", published

    remote = cluster.cli(everyone[:1], "--json", "status")  # /status/0.1 from the host
    assert remote.returncode == 0, remote.stderr
    remote_view = json.loads(remote.stdout)
    assert sorted(m["name"] for m in remote_view["members"]) == names
    # Each member's raft index and db size, from its own instance (docs/deploy.md, Status).
    assert all(m["raft_index"] > 0 and m["db_size"] > 0 for m in remote_view["members"])
    local = cluster.status("registry-1")[1]
    assert local is not None
    assert sum(m["raft_index"] is not None for m in local["members"]) == 1  # its own only

    put(cluster, everyone, "compose-svc", "QmBefore")
    assert content_of(cluster, everyone, "compose-svc") == "QmBefore"

    cluster.compose("stop", "-t", "30", "registry-2")
    code, view = cluster.status("registry-1")
    assert code == 0 and view is not None and view["quorum"] is True
    assert sum(m["healthy"] for m in view["members"]) == 2
    survivors = [cluster.bootstrap(s, peers[s]) for s in ("registry-1", "registry-3")]
    during = cluster.cli(everyone, "--json", "status")  # registry-2's address refuses
    assert during.returncode == 0, during.stderr
    known = {m["name"]: m["raft_index"] for m in json.loads(during.stdout)["members"]}
    assert sum(index is not None for index in known.values()) == 2, known
    put(cluster, survivors, "while-down", "QmDuring")
    assert content_of(cluster, survivors, "while-down") == "QmDuring"
    assert content_of(cluster, survivors, "compose-svc") == "QmBefore"
    deleted = cluster.cli(survivors, "delete", "compose-svc")
    assert deleted.returncode == 0, deleted.stderr

    cluster.compose("start", "registry-2")
    again = cluster.wait_healthy("registry-2", 3, within=180)
    assert again["peer_id"] == peers["registry-2"]  # same identity, from its volume
    assert sorted(m["name"] for m in again["members"]) == names  # same member, none added
    assert again["services"] == 1  # it caught up: the add and the delete it missed
    own = [cluster.bootstrap("registry-2", peers["registry-2"])]
    assert content_of(cluster, own, "while-down") == "QmDuring"
    missing = cluster.cli(own, "get", "compose-svc")
    assert missing.returncode == 3, missing.stderr
