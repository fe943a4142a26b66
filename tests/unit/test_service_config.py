"""The service config file: decoding, defaults, units, and errors that point at the line."""

from __future__ import annotations

import pytest

from domain.config_errors import ConfigError, locate, parse_msgspec_path
from domain.service_config import DEFAULT_BASE_IMAGE, ServiceConfig, decode_service_config

# The original's sample config (registry-cli/add-test in the Go repository, by its documented
# shape): RTTs in milliseconds.
SAMPLE = b"""{
    "NetworkSoftReq": {
        "RTT": 100
    },
    "NetworkHardReq": {
        "RTT": 300
    },
    "CpuReq": 1,
    "MemoryReq": 128,
    "DockerConf": {
        "From": "python:3.8",
        "Copy": [
            ["app.py", "."],
            ["requirements.txt", "."]
        ],
        "Run": [
            "pip install -r requirements.txt"
        ],
        "Cmd": "python3 app.py $SERVICE_PORT"
    }
}
"""


def decode_error(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        decode_service_config(text.encode(), "svc.json")
    return caught.value


def test_sample_config_decodes() -> None:
    config = decode_service_config(SAMPLE)
    assert config.network_soft_req.rtt_millis == 100
    assert config.network_hard_req.rtt_millis == 300
    assert (config.cpu_req, config.memory_req) == (1, 128)
    assert config.docker_conf.from_ == "python:3.8"
    assert config.docker_conf.copy == [("app.py", "."), ("requirements.txt", ".")]
    assert config.docker_conf.run == ["pip install -r requirements.txt"]
    assert config.docker_conf.proxy_client_mode is False


def test_rtt_is_milliseconds_in_config_and_nanoseconds_on_the_wire() -> None:
    info = decode_service_config(SAMPLE).service_info(content_hash="Qm", docker_hash="a@b")
    assert info.network_soft_req.rtt == 100_000_000
    assert info.network_hard_req.rtt == 300_000_000
    assert info.network_soft_req.rtt_millis == 100  # what people are shown


def test_defaults_as_documented() -> None:
    config = decode_service_config(b"{}")
    assert config == ServiceConfig()
    assert config.docker_conf.from_ == DEFAULT_BASE_IMAGE == "ubuntu:16.04"
    assert config.docker_conf.proxy_client_mode is False
    assert config.network_soft_req.rtt_millis == 0


def test_wrong_type_names_line_column_and_shows_the_line() -> None:
    error = decode_error('{\n  "CpuReq": 1,\n  "MemoryReq": "lots"\n}\n')
    assert (error.line, error.column) == (3, 16)
    assert error.line_text == '  "MemoryReq": "lots"'
    assert "Expected `int`, got `str`" in str(error)
    assert str(error).splitlines()[0].startswith("svc.json:3:16:")
    assert str(error).splitlines()[-1] == "    " + " " * 15 + "^"


def test_wrong_type_deep_inside_copy_pairs() -> None:
    error = decode_error('{"DockerConf": {\n  "Copy": [\n    ["a", "b"],\n    ["c", 7]\n  ]\n}}')
    assert (error.line, error.column) == (4, 11)
    assert "$.DockerConf.Copy[1][1]" in error.message


def test_unknown_key_points_at_the_key_and_hints_at_case() -> None:
    error = decode_error('{\n  "NetworkSoftReq": {"rtt": 100}\n}')
    assert (error.line, error.column) == (2, 22)
    assert "unknown field `rtt`" in error.message
    assert "did you mean `RTT`?" in error.message


def test_unknown_top_level_key() -> None:
    error = decode_error('{"CpuReq": 1,\n "Bogus": true}')
    assert (error.line, error.column) == (2, 2)


def test_json_syntax_error_has_line_and_column() -> None:
    error = decode_error('{\n  "CpuReq": 1\n  "MemoryReq": 2\n}')
    assert error.line == 3
    assert error.message.startswith("invalid JSON")


def test_truncated_file_points_at_its_end() -> None:
    error = decode_error('{\n  "CpuReq": 1')
    assert error.line == 2
    assert "truncated" in error.message


def test_columns_count_characters_not_bytes() -> None:
    error = decode_error('{"DockerConf": {"Cmd": "héllo wörld", "Run": 5}}')
    assert error.column == len('{"DockerConf": {"Cmd": "héllo wörld", "Run": ') + 1


def test_empty_file_and_non_utf8() -> None:
    assert "empty" in str(decode_error("  \n"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        decode_service_config(b'{"Cmd": "\xff"}')


def test_byte_order_mark_is_accepted() -> None:
    assert decode_service_config(b"\xef\xbb\xbf{}") == ServiceConfig()


def test_negative_rtt_is_refused() -> None:
    assert ">= 0" in decode_error('{"NetworkHardReq": {"RTT": -5}}').message


def test_rtt_too_large_for_go_duration_is_refused() -> None:
    assert decode_error('{"NetworkHardReq": {"RTT": 9223372036855}}').line == 1


@pytest.mark.parametrize(
    ("copy_source", "reason"),
    [
        ("../secret", "leaves --dir"),
        ("a/../../secret", "leaves --dir"),
        ("/etc/passwd", "absolute"),
        ("my file", "without spaces"),
        ("proxy", "clashes"),
        ("conf.json", "clashes"),
    ],
)
def test_bad_copy_sources_are_refused_where_they_stand(copy_source: str, reason: str) -> None:
    text = '{"DockerConf": {\n  "Copy": [["ok", "."], ["SRC", "."]]\n}}'.replace("SRC", copy_source)
    error = decode_error(text)
    assert reason in error.message
    assert (error.line, error.column) == (2, 26)


def test_line_breaks_that_would_inject_dockerfile_lines_are_refused() -> None:
    assert "one line" in decode_error('{"DockerConf": {"Run": ["ok", "a\\nRUN b"]}}').message
    assert "one line" in decode_error('{"DockerConf": {"Cmd": "a\\nb"}}').message
    assert "one image" in decode_error('{"DockerConf": {"From": "a\\nRUN b"}}').message


def test_inner_dot_dot_that_stays_inside_is_fine() -> None:
    config = decode_service_config(b'{"DockerConf": {"Copy": [["a/../b", "."]]}}')
    assert config.docker_conf.copy == [("a/../b", ".")]


def test_locate_and_paths() -> None:
    assert parse_msgspec_path("$.A.B[2][0].C") == ["A", "B", 2, 0, "C"]
    text = '{"a": [1, {"b": "x"}], "c": 2}'
    assert text[locate(text, ["a", 1, "b"]) :].startswith('"x"')
    assert text[locate(text, [], key="c") :].startswith('"c"')
    assert locate(text, ["missing"]) == 0
