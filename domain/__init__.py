"""Pure domain objects: no I/O, only the standard library and msgspec."""

from domain.bootstrap import (
    BootstrapAddress,
    InvalidBootstrapAddress,
    parse_bootstrap,
    parse_bootstraps,
)
from domain.psk import InvalidPsk, psk_from_passphrase, swarm_key_text
from domain.service_info import (
    InvalidServiceInfo,
    PerfInd,
    ServiceInfo,
    decode_service_info,
    encode_service_info,
)
from domain.service_name import InvalidServiceName, validate_service_name

__all__ = [
    "BootstrapAddress",
    "InvalidBootstrapAddress",
    "InvalidPsk",
    "InvalidServiceInfo",
    "InvalidServiceName",
    "PerfInd",
    "ServiceInfo",
    "decode_service_info",
    "encode_service_info",
    "parse_bootstrap",
    "parse_bootstraps",
    "psk_from_passphrase",
    "swarm_key_text",
    "validate_service_name",
]
