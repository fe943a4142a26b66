"""`registry-service status` and `registry-cli status` against real instances and etcd."""

from __future__ import annotations

import json
import os
import subprocess

import trio
from cluster_fixtures import PASSPHRASE, Cluster, all_healthy, wait_until
from registry_process import VENV_BIN, RegistryProcess

from adapters.libp2p.identity import ephemeral_identity
from adapters.libp2p.node import NodeSettings, connect_bootstraps, running_node
from adapters.libp2p.registry_server import Libp2pRegistryServer
from adapters.memory.metrics import RecordingMetrics
from adapters.memory.repository import InMemoryClusterMembership, InMemoryServiceRepository
from application.server import RegistryRequestHandler
from domain.bootstrap import parse_bootstraps
from domain.psk import psk_from_passphrase
from domain.rendezvous import REGISTRY_RENDEZVOUS


def local_status(proc: RegistryProcess, *args: str) -> subprocess.CompletedProcess[str]:
    """`registry-service status` with the --etcd-* flags the daemon was started with."""
    argv = [
        str(VENV_BIN / "registry-service"), "status",
        "--etcd-ip", proc.ip,
        "--etcd-client-port", str(proc.etcd_client_port),
        "--etcd-peer-port", str(proc.etcd_peer_port),
        "--etcd-data-dir", str(proc.data_dir),
        *args,
    ]
    env = {k: v for k, v in os.environ.items() if k not in ("P2P_PSK", "P2P_PSK_FILE")}
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)


def test_local_and_remote_status_of_a_healthy_instance(registry):
    local = local_status(registry, "--json")
    assert local.returncode == 0, local.stderr
    view = json.loads(local.stdout)
    assert view["format"] == 1
    assert view["peer_id"] == registry.addrs[0].rsplit("/", 1)[1]
    assert sorted(view["addresses"]) == sorted(registry.addrs)
    assert view["quorum"] is True
    assert view["db_size"] > 0 and view["revision"] >= 1
    [member] = view["members"]
    assert member["name"] == view["member"] == f"{registry.ip}-{registry.etcd_client_port}-" \
        f"{registry.etcd_peer_port}"
    assert (member["leader"], member["learner"], member["healthy"]) == (True, False, True)
    assert member["raft_index"] > 0

    remote = registry.cli("--json", "status")
    assert remote.returncode == 0, remote.stderr
    remote_view = json.loads(remote.stdout)
    assert remote_view["peer_id"] == view["peer_id"]
    assert remote_view["members"][0]["name"] == member["name"]

    human = local_status(registry)
    assert human.returncode == 0, human.stderr
    assert view["peer_id"] in human.stdout and "quorum     yes" in human.stdout
    assert "1 of 1 healthy" in human.stdout


def test_status_counts_services(registry):
    before = json.loads(local_status(registry, "--json").stdout)
    from entrypoints import library

    trio.run(library.add_service, registry.addrs, psk_from_passphrase(registry.passphrase),
             "counted", library.ServiceInfo(content_hash="QmC"))
    after = json.loads(local_status(registry, "--json").stdout)
    assert after["services"] == before["services"] + 1
    assert after["revision"] > before["revision"]


def test_status_of_a_stopped_instance_is_one_line_and_exit_1(registry):
    registry.stop()
    result = local_status(registry, "--etcd-timeout", "1")
    assert result.returncode == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    # Named as the operator knows it, not gRPC's "No such file or directory" (issue 26).
    assert line.startswith(
        f"registry-service: no registry-service is running with data dir {registry.data_dir}"
    ), line
    assert "No such file or directory" not in line and "FAILED_PRECONDITION" not in line


def test_without_quorum_status_exits_4_and_names_the_down_member(tmp_path):
    cluster = Cluster(tmp_path)
    try:
        first = cluster.add_instance()
        second = cluster.add_instance()
        wait_until(lambda: all_healthy(cluster), 60, "2 healthy members")
        second.proc.stop()
        result = local_status(first.proc, "--json", "--etcd-timeout", "1")
        assert result.returncode == 4, result.stderr
        view = json.loads(result.stdout)
        assert view["quorum"] is False
        down = next(m for m in view["members"] if m["name"] == second.name)
        assert (down["healthy"], down["raft_index"]) == (False, None)

        remote = first.proc.cli("--json", "status")
        assert remote.returncode == 4, remote.stderr
        assert json.loads(remote.stdout)["quorum"] is False
    finally:
        cluster.stop_all()


def test_local_status_every_member_fills_in_the_other_members_figures(tmp_path):
    cluster = Cluster(tmp_path)
    try:
        first = cluster.add_instance()
        second = cluster.add_instance()
        wait_until(lambda: all_healthy(cluster), 60, "2 healthy members")
        psk_file = tmp_path / "psk"
        psk_file.write_text(PASSPHRASE + "\n")
        psk_file.chmod(0o600)

        alone = local_status(first.proc, "--json")
        assert alone.returncode == 0, alone.stderr
        rows = {m["name"]: m for m in json.loads(alone.stdout)["members"]}
        assert rows[first.name]["raft_index"] > 0
        assert (rows[second.name]["raft_index"], rows[second.name]["db_size"]) == (None, None)
        assert "--every-member" in local_status(first.proc).stdout  # the hint line

        every = local_status(first.proc, "--json", "--psk-file", str(psk_file))
        assert every.returncode == 0, every.stderr
        view = json.loads(every.stdout)
        assert set(view) == set(json.loads(alone.stdout))  # same fields, nulls filled
        for name in (first.name, second.name):
            row = next(m for m in view["members"] if m["name"] == name)
            assert row["raft_index"] > 0 and row["db_size"] > 0, row
        human = local_status(first.proc, "--every-member", "--psk-file", str(psk_file))
        assert human.returncode == 0 and "not readable" not in human.stdout, human

        # The wrong passphrase: today's output, the same exit code, one line why.
        psk_file.write_text("not the passphrase\n")
        wrong = local_status(first.proc, "--json", "--psk-file", str(psk_file))
        assert wrong.returncode == 0, wrong.stderr
        unfilled = next(m for m in json.loads(wrong.stdout)["members"] if m["name"] == second.name)
        assert (unfilled["raft_index"], unfilled["db_size"]) == (None, None)
        [line] = wrong.stderr.splitlines()
        assert line.startswith("registry-service: other members' figures not fetched"), line

        no_psk = local_status(first.proc, "--every-member")
        assert no_psk.returncode == 0
        assert no_psk.stderr.startswith("registry-service: --every-member needs the passphrase")

        # A stopped instance: its member stays unknown, the exit code is the local view's.
        psk_file.write_text(PASSPHRASE + "\n")
        second.proc.stop()
        down = local_status(first.proc, "--json", "--etcd-timeout", "1",
                            "--psk-file", str(psk_file))
        assert down.returncode == 4, down.stderr
        rows = {m["name"]: m for m in json.loads(down.stdout)["members"]}
        assert rows[first.name]["raft_index"] > 0
        assert (rows[second.name]["raft_index"], rows[second.name]["db_size"]) == (None, None)
    finally:
        cluster.stop_all()


async def test_a_peer_without_status_protocol_is_named_in_one_line(tmp_path):
    """An older registry-service, found through the DHT, answers "na" to /status/0.1."""
    passphrase = "old peer passphrase"

    def settings() -> NodeSettings:
        return NodeSettings(key_pair=ephemeral_identity(), psk=psk_from_passphrase(passphrase),
                            listen=["/ip4/127.0.0.1/tcp/0"])

    # A plain DHT node as the client's bootstrap, and the old instance beside it.
    async with running_node(settings()) as dht_node, running_node(settings()) as old:
        await connect_bootstraps(old, parse_bootstraps(dht_node.full_addrs()[:1]), 5)
        handler = RegistryRequestHandler(
            InMemoryServiceRepository(), InMemoryClusterMembership([]), RecordingMetrics()
        )
        Libp2pRegistryServer(handler).attach(old.host)
        await old.rendezvous.advertise(REGISTRY_RENDEZVOUS)
        env = {k: v for k, v in os.environ.items() if k not in ("P2P_PSK", "P2P_BOOTSTRAPS")}
        result = await trio.run_process(
            [str(VENV_BIN / "registry-cli"), "--bootstrap", dht_node.full_addrs()[0],
             "--psk", passphrase, "status"],
            capture_stdout=True, capture_stderr=True, check=False, env=env,
        )
    assert result.stdout == b""
    [line] = result.stderr.decode().splitlines()
    assert line == f"registry-cli: registry-service {old.peer_id} does not speak /status/0.1"
    assert result.returncode == 1


def test_a_js_libp2p_peer_reads_status_as_documented(tmp_path, registry):
    """docs/protocol.md's framing, from js-libp2p: empty request, JSON answer."""
    from interop.js_peer import js_peer

    with js_peer(tmp_path / "js", registry.passphrase) as js:
        answer = js.request(registry.addrs[0], "/status/0.1")
        assert answer["ok"], answer
        view = json.loads(answer["reply"])
        assert view["format"] == 1
        assert view["peer_id"] == registry.addrs[0].rsplit("/", 1)[1]
        assert view["quorum"] is True and len(view["members"]) == 1
        refused = js.request(registry.addrs[0], "/status/0.1", "not empty")
        assert (refused["ok"], refused.get("errorName")) == (False, "StreamResetError"), refused
        # ...and the daemon carries on: the same peer's next status is answered in full
        again = js.request(registry.addrs[0], "/status/0.1")
        assert again["ok"] and json.loads(again["reply"])["peer_id"] == view["peer_id"], again
    assert registry.alive()
    assert json.loads(registry.cli("--json", "status").stdout)["quorum"] is True

