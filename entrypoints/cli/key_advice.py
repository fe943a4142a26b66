"""How to get on a writers list, told from the key this run of registry-cli used."""

from __future__ import annotations


def key_advice(keyfile: str | None) -> str:
    if keyfile is None:
        return (
            "this run used a key of its own, made for it (no --keyfile): write one "
            "(registry-cli keygen FILE), have the peer id it prints added, and use that key "
            "(--keyfile FILE or REGISTRY_CLI_KEYFILE)"
        )
    return f"the key used was {keyfile}: `registry-cli id --keyfile {keyfile}` prints its peer id"


def with_key_advice(exc: BaseException, keyfile: str | None) -> BaseException:
    """``exc`` with the advice added if it is the writers list's refusal."""
    from application.write_policy import WriteRefused

    if not isinstance(exc, WriteRefused):
        return exc
    return WriteRefused(f"{exc}; {key_advice(keyfile)}", exc.peer_id)
