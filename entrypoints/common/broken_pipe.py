"""A reader that went away (`registry-cli list | head -3`): stop quietly, as Unix tools do."""

from __future__ import annotations

import os
import signal
import sys

# What a shell reports for a process killed by SIGPIPE: 128 + 13.
EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE


def exit_quietly_on_broken_pipe() -> int:
    """No message; stdout pointed at /dev/null so that no later flush fails again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
    return EXIT_BROKEN_PIPE
