"""The one refusal a client gets when its peer id is not on the writers list."""

from __future__ import annotations

from application.write_policy import WriteRefused


def not_a_writer(answer: str) -> WriteRefused:
    """The same words whichever write was refused (add, put, delete).

    How to get on the list depends on the key this client used, which only the
    program that chose it knows: registry-cli adds that part (see key_advice).
    """
    return WriteRefused(
        f"not allowed to write: the registry-service answered {answer!r}; its operator must "
        "add this client's peer id to its --writers-file"
    )
