import msgspec
import pytest

from domain import PerfInd, ServiceInfo, decode_service_info, encode_service_info
from domain.psk import InvalidPsk, psk_from_passphrase, psk_from_swarm_key, swarm_key_text
from domain.rendezvous import rendezvous_cid
from domain.service_info import InvalidServiceInfo
from domain.service_name import InvalidServiceName, validate_service_name


def test_service_info_uses_go_field_names_and_nanosecond_rtt():
    info = ServiceInfo(
        content_hash="QmX",
        docker_hash="r/x@sha256:ab",
        network_soft_req=PerfInd.from_millis(100),
        network_hard_req=PerfInd.from_millis(300),
        cpu_req=2,
        memory_req=64,
    )
    assert encode_service_info(info) == (
        '{"ContentHash":"QmX","DockerHash":"r/x@sha256:ab","NetworkSoftReq":{"RTT":100000000},'
        '"NetworkHardReq":{"RTT":300000000},"CpuReq":2,"MemoryReq":64}'
    )
    assert decode_service_info(encode_service_info(info)) == info
    assert info.network_soft_req.rtt_millis == 100


def test_decoding_ignores_fields_of_newer_clients_and_defaults_missing_ones():
    info = decode_service_info(
        '{"ContentHash":"a","GpuReq":1,"NetworkSoftReq":{"RTT":5,"Jitter":2}}'
    )
    assert info == ServiceInfo(content_hash="a", network_soft_req=PerfInd(rtt=5))


@pytest.mark.parametrize("bad", ["", "[]", '{"CpuReq":"two"}', "{"])
def test_decoding_garbage_is_a_clear_error(bad):
    with pytest.raises(InvalidServiceInfo):
        decode_service_info(bad)


@pytest.mark.parametrize("name", ["a", "my-service:1.0", "a b", "ünï", "x" * 256, "服务 1"])
def test_valid_service_names(name):
    assert validate_service_name(name) == name


@pytest.mark.parametrize("name", [
    "", " a", "a\n", "a\x00b", "a\tb", "a\x7fb", "x" * 257, "\u2028x", "ü\x00", "a\u200bb",
    "ü\u2029", "a\x85b",
])
def test_invalid_service_names(name):
    with pytest.raises(InvalidServiceName):
        validate_service_name(name)


def test_psk_is_sha3_256_of_the_raw_passphrase():
    # hashlib.sha3_256(b"secret").hexdigest(), computed independently with openssl
    assert psk_from_passphrase("secret").hex() == (
        "f5a5207a8729b1f709cb710311751eb2fc8acad5a1fb8ac991b736e69b6529a3"
    )
    assert psk_from_passphrase(" secret") != psk_from_passphrase("secret")


def test_swarm_key_round_trip_and_errors():
    key = psk_from_passphrase("p")
    text = swarm_key_text(key)
    assert text.splitlines() == ["/key/swarm/psk/1.0.0/", "/base16/", key.hex()]
    assert psk_from_swarm_key(text) == key
    with pytest.raises(InvalidPsk):
        psk_from_swarm_key("/key/swarm/psk/1.0.0/\n/base16/\nabcd\n")


def test_rendezvous_key_matches_go_routing_discovery():
    assert rendezvous_cid("registry-service") == (
        "bafkreib3awi7x6rvt6llc6uvuz7jlhlymmuzw4ke4iixjt4ieiz4yiq2xi"
    )


def test_perfind_is_a_msgspec_struct_without_io():
    assert msgspec.json.decode(b'{"RTT": 7}', type=PerfInd).rtt == 7
