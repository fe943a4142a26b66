"""Registry credentials: environment, Docker's config (and its helpers), or a prompt.

Order: ``REGISTRY_CLI_USERNAME``/``REGISTRY_CLI_PASSWORD`` when set (explicit
beats ambient), else what `docker login` stored in ``$DOCKER_CONFIG/config.json``
(``~/.docker`` by default) including ``credsStore``/``credHelpers`` programs,
else nothing: the push is tried anonymously, and if the registry wants
credentials and a terminal is attached, the user is asked (password hidden).
"""

from __future__ import annotations

import getpass
import os
import sys
import warnings
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from docker import auth
from docker.errors import DockerException

from application.publishing_ports import RegistryAuthFailed

USERNAME_VARIABLE = "REGISTRY_CLI_USERNAME"
PASSWORD_VARIABLE = "REGISTRY_CLI_PASSWORD"


@dataclass(frozen=True)
class RegistryCredentials:
    username: str | None
    password: str | None
    source: str  # "environment", "docker config", "prompt"
    identity_token: str | None = None
    server_address: str | None = None

    def auth_config(self) -> dict[str, str]:
        """The X-Registry-Auth payload the engine expects."""
        config: dict[str, str] = {}
        if self.identity_token:
            config["identitytoken"] = self.identity_token
        if self.username is not None:
            config["username"] = self.username
        if self.password is not None:
            config["password"] = self.password
        if self.server_address:
            config["serveraddress"] = self.server_address
        return config

    def __repr__(self) -> str:  # never print a password by accident
        return f"RegistryCredentials(username={self.username!r}, source={self.source!r})"


def from_environment(environ: dict[str, str] | None = None) -> RegistryCredentials | None:
    env = os.environ if environ is None else environ
    username, password = env.get(USERNAME_VARIABLE), env.get(PASSWORD_VARIABLE)
    if username is None and password is None:
        return None
    if not username or password is None:
        raise RegistryAuthFailed(
            f"set both {USERNAME_VARIABLE} and {PASSWORD_VARIABLE}, or neither"
        )
    return RegistryCredentials(username, password, source="environment")


def from_docker_config(registry: str, config_path: str | None = None) -> RegistryCredentials | None:
    """What `docker login` stored for ``registry`` (``docker.io`` for Docker Hub)."""
    try:
        with warnings.catch_warnings():
            # The SDK warns about a missing helper program, then fails; the failure says it.
            warnings.simplefilter("ignore", UserWarning)
            stored = auth.load_config(config_path=config_path).resolve_authconfig(registry)
    except DockerException as exc:  # e.g. a credential helper that fails or is missing
        raise RegistryAuthFailed(f"cannot read credentials for {registry}: {exc}") from exc
    if not stored:
        return None
    # Entries from config.json use lower-case keys; those from helpers capitalised ones.
    fields = {key.lower(): value for key, value in stored.items()}
    if not (fields.get("username") or fields.get("identitytoken")):
        return None
    return RegistryCredentials(
        username=fields.get("username"),
        password=fields.get("password"),
        identity_token=fields.get("identitytoken"),
        server_address=fields.get("serveraddress"),
        source="docker config",
    )


Prompt = Callable[[str, str], RegistryCredentials | None]


def terminal_prompt(
    suspend: Callable[[], AbstractContextManager[None]] = nullcontext,
) -> Prompt | None:
    """A prompt on the controlling terminal, or None when there is none to ask."""
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        return None

    def ask(registry: str, reason: str) -> RegistryCredentials | None:
        with suspend():
            print(f"{registry} needs credentials ({reason}).", file=sys.stderr)
            try:
                username = input(f"Username for {registry}: ").strip()
                if not username:
                    return None
                password = getpass.getpass(f"Password for {username}@{registry}: ")
            except (EOFError, KeyboardInterrupt):
                return None
        return RegistryCredentials(username, password, source="prompt")

    return ask


@dataclass
class RegistryCredentialSource:
    """Finds credentials for a registry; asks (once per registry) when allowed."""

    prompt: Prompt | None = None
    config_path: str | None = None
    environ: dict[str, str] | None = None

    def initial(self, registry: str) -> RegistryCredentials | None:
        return from_environment(self.environ) or from_docker_config(registry, self.config_path)

    def after_refusal(
        self, registry: str, refused: RegistryCredentials | None, reason: str
    ) -> RegistryCredentials | None:
        """New credentials to retry with, or None when there is nobody to ask."""
        if self.prompt is None or (refused is not None and refused.source == "environment"):
            return None
        return self.prompt(registry, reason)


def how_to_authenticate(registry: str) -> str:
    login = "docker login" if registry == "docker.io" else f"docker login {registry}"
    return f"run `{login}`, or set {USERNAME_VARIABLE} and {PASSWORD_VARIABLE}"
