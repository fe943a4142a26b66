"""Which InfoStrs may be stored: what Go's encoding/json decodes into ServiceInfo."""

from pathlib import Path

import pytest

from domain import PerfInd, ServiceInfo
from domain.config_errors import ConfigError
from domain.record_rules import (
    INT64_MAX,
    INT64_MIN,
    InvalidRecord,
    check_info_str,
    check_service_info,
)
from domain.service_config import decode_service_config

GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("service_info*.json")), ids=lambda p: p.name)
def test_go_records_are_accepted(path: Path) -> None:
    check_info_str(path.read_text())


@pytest.mark.parametrize("info_str", [
    "{}",
    '{"ContentHash":"x","FutureField":[1.5,{"a":null}]}',  # unknown fields: Go ignores them
    f'{{"CpuReq":{INT64_MIN},"MemoryReq":{INT64_MAX}}}',
    '{"NetworkSoftReq":{"RTT":-0}} ',
])
def test_what_go_decodes_is_accepted(info_str: str) -> None:
    check_info_str(info_str)


# Each class of junk the record rules refuse, with a word its refusal must say (also read
# back from the store in test_record_rules_on_read.py).
REFUSED = [
    ("not a record", "not valid JSON"),
    ("", "not valid JSON"),
    ("[]", "JSON object"),
    ("null", "JSON object"),
    ('"text"', "JSON object"),
    ('{"CpuReq":1e400}', "CpuReq"),
    ('{"CpuReq":1.0}', "fraction or exponent"),
    ('{"CpuReq":1e3}', "CpuReq"),
    (f'{{"MemoryReq":{INT64_MAX + 1}}}', "int64 - at `$.MemoryReq`"),
    (f'{{"MemoryReq":{INT64_MIN - 1}}}', "MemoryReq"),
    ('{"NetworkHardReq":{"RTT":1.5}}', "NetworkHardReq.RTT"),
    (f'{{"NetworkSoftReq":{{"RTT":{INT64_MAX + 1}}}}}', "NetworkSoftReq.RTT"),
    ('{"NetworkSoftReq":5}', "NetworkSoftReq"),
    ('{"ContentHash":5}', "ContentHash"),
    ('{"DockerHash":null}', "DockerHash"),
    ('{"CpuReq":"1"}', "CpuReq"),
    ('{"CpuReq":true}', "CpuReq"),
    ('{"cpureq":"x"}', "only by case"),
    ('{"NetworkSoftReq":{"rtt":1.5}}', "only by case"),
    ('{"CpuReq":1,"CpuReq":"x"}', "CpuReq"),  # a duplicate key is checked too
    ('{"CpuReq":1} trailing', "not valid JSON"),
]


@pytest.mark.parametrize(("info_str", "says"), REFUSED)
def test_what_go_cannot_decode_is_refused(info_str: str, says: str) -> None:
    with pytest.raises(InvalidRecord, match=None) as caught:
        check_info_str(info_str)
    assert says in str(caught.value)
    assert "\n" not in str(caught.value)


def test_client_side_check_names_the_field() -> None:
    check_service_info(ServiceInfo(memory_req=INT64_MAX, cpu_req=INT64_MIN))
    with pytest.raises(InvalidRecord, match="MemoryReq"):
        check_service_info(ServiceInfo(memory_req=INT64_MAX + 1))
    with pytest.raises(InvalidRecord, match=r"NetworkHardReq\.RTT"):
        check_service_info(ServiceInfo(network_hard_req=PerfInd(rtt=2**64)))
    with pytest.raises(InvalidRecord, match="CpuReq"):
        check_service_info(ServiceInfo(cpu_req=1.5))  # type: ignore[arg-type]


@pytest.mark.parametrize(("config", "field"), [
    (b'{"MemoryReq": 1000000000000000000000000000000}', "MemoryReq"),
    (b'{"CpuReq": 9223372036854775808}', "CpuReq"),
    (b'{"NetworkSoftReq": {"RTT": 9223372036855}}', "RTT"),  # ms * 10^6 > int64
])
def test_configs_whose_numbers_do_not_fit_go_are_refused_naming_the_field(
    config: bytes, field: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        decode_service_config(config, "conf.json")
    assert field in str(caught.value)
    decode_service_config(b'{"MemoryReq": 9223372036854775807, "NetworkSoftReq": {"RTT": '
                          b'9223372036854}}', "conf.json")
