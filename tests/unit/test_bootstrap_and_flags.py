import pytest

from domain import psk_from_passphrase
from domain.bootstrap import InvalidBootstrapAddress, parse_bootstrap, parse_bootstraps
from entrypoints.common.flags import go_style_flags, resolve_bootstraps, resolve_psk

PEER = "12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp"
RSA_PEER = "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"


def test_p2p_and_ipfs_forms_name_the_same_peer():
    a = parse_bootstrap(f"/ip4/10.0.0.5/tcp/4001/p2p/{PEER}")
    b = parse_bootstrap(f"/ip4/10.0.0.5/tcp/4001/ipfs/{PEER}")
    assert a == b
    assert a.transport == "/ip4/10.0.0.5/tcp/4001"
    assert str(a) == f"/ip4/10.0.0.5/tcp/4001/p2p/{PEER}"
    assert parse_bootstrap(f"/dns4/boot.example/tcp/1/p2p/{RSA_PEER}").peer_id == RSA_PEER


@pytest.mark.parametrize(
    "bad",
    [
        "10.0.0.5:4001",
        "/ip4/10.0.0.5/tcp/4001",
        f"/p2p/{PEER}",
        "/ip4/10.0.0.5/tcp/4001/p2p/not-a-peer",
        f"/ip4//tcp/4001/p2p/{PEER}",
    ],
)
def test_bad_bootstraps_are_rejected_with_the_reason(bad):
    with pytest.raises(InvalidBootstrapAddress) as info:
        parse_bootstrap(bad)
    assert repr(bad) in str(info.value)


def test_duplicates_are_dropped_in_order():
    addrs = [
        f"/ip4/1.1.1.1/tcp/1/p2p/{PEER}",
        f"/ip4/2.2.2.2/tcp/1/p2p/{RSA_PEER}",
        f"/ip4/1.1.1.1/tcp/1/ipfs/{PEER}",
    ]
    assert [b.transport for b in parse_bootstraps(addrs)] == [
        "/ip4/1.1.1.1/tcp/1",
        "/ip4/2.2.2.2/tcp/1",
    ]


def test_env_bootstraps_used_only_without_flags(monkeypatch):
    monkeypatch.setenv(
        "P2P_BOOTSTRAPS", f" /ip4/1.1.1.1/tcp/1/p2p/{PEER}\n/ip4/2.2.2.2/tcp/2/p2p/{PEER} "
    )
    assert len(resolve_bootstraps(None)) == 2
    assert [b.transport for b in resolve_bootstraps([f"/ip4/3.3.3.3/tcp/3/p2p/{PEER}"])] == [
        "/ip4/3.3.3.3/tcp/3"
    ]


def test_psk_flag_wins_over_env_and_empty_passphrase_is_refused(monkeypatch):
    monkeypatch.setenv("P2P_PSK", "from-env")
    assert resolve_psk("flag") == psk_from_passphrase("flag")  # the flag's, not the env's
    assert resolve_psk(None) == psk_from_passphrase("from-env")
    monkeypatch.delenv("P2P_PSK")
    assert resolve_psk(None) is None
    with pytest.raises(ValueError):
        resolve_psk("")


def test_go_style_single_dash_flags():
    argv = ["-bootstrap", "/x", "-psk=abc", "-json", "get", "-n", "--", "-psk"]
    assert go_style_flags(argv, ["bootstrap", "psk", "json"]) == [
        "--bootstrap",
        "/x",
        "--psk=abc",
        "--json",
        "get",
        "-n",
        "--",
        "-psk",
    ]


def test_registry_cli_hash_reads_stdin_via_dash(monkeypatch, capsys):
    import io
    import sys

    from entrypoints.cli.main import main

    data = b"Ivan, Michael, Andrew, Henry, and Thomas are pretty cool eh\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert main(["hash", "-"]) == 0
    assert capsys.readouterr().out.strip() == "QmX37CLME3bh8oJyLy858CZino5cbRg7Bd1zf5qoen4aQn"
