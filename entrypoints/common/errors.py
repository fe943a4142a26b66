"""Expected failures: shown as one clear line and an exit code, never a traceback."""

from __future__ import annotations

from application.client import RequestTooLarge, ServiceNotFound, UnreadableRecord
from application.conditional_client import RevisionConflict
from application.ports import (
    ProtocolNotSpoken,
    RegistryUnavailable,
    RequestRejected,
    StorageUnavailable,
)
from application.watch_client import WatchLost, WatchRefused
from application.write_policy import WriteRefused
from domain.bootstrap import InvalidBootstrapAddress
from domain.psk import InvalidPsk
from domain.service_info import InvalidServiceInfo
from domain.service_name import InvalidServiceName
from domain.wire import MalformedMessage

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_UNAVAILABLE = 4
EXIT_NOT_ALLOWED = 5
EXIT_CONDITION_FAILED = 6

EXPECTED_ERRORS: tuple[type[BaseException], ...] = (
    WriteRefused,
    ServiceNotFound,
    RevisionConflict,
    WatchRefused,
    WatchLost,
    RegistryUnavailable,
    RequestRejected,
    StorageUnavailable,
    RequestTooLarge,
    InvalidBootstrapAddress,
    InvalidPsk,
    InvalidServiceInfo,
    InvalidServiceName,
    MalformedMessage,
    ValueError,
    OSError,
)


def single_error(exc: BaseException) -> BaseException:
    """The one real error inside trio's nested ExceptionGroups, if there is exactly one."""
    import trio  # only groups from trio code come here; the CLI's --help must not load trio

    leaves: list[BaseException] = []

    def collect(err: BaseException) -> None:
        if isinstance(err, BaseExceptionGroup):
            for inner in err.exceptions:
                collect(inner)
        elif not isinstance(err, trio.Cancelled):
            leaves.append(err)

    collect(exc)
    return leaves[0] if len(leaves) == 1 else exc


def exit_code_for(exc: BaseException) -> int:
    if isinstance(exc, WriteRefused):
        return EXIT_NOT_ALLOWED
    if isinstance(exc, ServiceNotFound):
        return EXIT_NOT_FOUND
    if isinstance(exc, RevisionConflict):
        return EXIT_CONDITION_FAILED
    if isinstance(exc, ProtocolNotSpoken):
        return EXIT_FAILURE  # reached, but it is an older (or Go) registry-service
    if isinstance(exc, RegistryUnavailable | StorageUnavailable):
        return EXIT_UNAVAILABLE
    if isinstance(exc, InvalidBootstrapAddress | InvalidServiceName | InvalidPsk):
        return EXIT_USAGE
    return EXIT_FAILURE


def explain(exc: BaseException) -> str:
    if isinstance(exc, UnreadableRecord):
        return str(exc)
    if isinstance(exc, MalformedMessage | InvalidServiceInfo):
        return f"the registry-service sent an answer this client cannot read: {exc}"
    return str(exc) or type(exc).__name__
