"""py-libp2p stays quiet in our CLIs and in library users, unless somebody asks for more."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from entrypoints.common.log_levels import quiet_libp2p


@pytest.fixture
def libp2p_logger(monkeypatch: pytest.MonkeyPatch) -> Iterator[logging.Logger]:
    logger = logging.getLogger("libp2p")
    saved = (logger.level, logger.propagate, list(logger.handlers))
    monkeypatch.delenv("REGISTRY_LOG_LEVEL", raising=False)
    monkeypatch.delenv("LIBP2P_DEBUG", raising=False)
    # As py-libp2p's import leaves it: WARNING, no handler, no propagation.
    logger.setLevel(logging.WARNING)
    logger.handlers.clear()
    logger.propagate = False
    yield logger
    logger.setLevel(saved[0])
    logger.propagate = saved[1]
    logger.handlers[:] = saved[2]


def test_py_libp2p_defaults_are_silenced(libp2p_logger: logging.Logger) -> None:
    quiet_libp2p()
    assert libp2p_logger.level == logging.CRITICAL


def test_registry_log_level_asks_for_more(
    libp2p_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGISTRY_LOG_LEVEL", "debug")
    quiet_libp2p()
    assert libp2p_logger.level == logging.DEBUG and libp2p_logger.propagate


def test_a_callers_own_setting_is_kept(libp2p_logger: logging.Logger) -> None:
    libp2p_logger.setLevel(logging.INFO)
    quiet_libp2p()
    assert libp2p_logger.level == logging.INFO
