"""The engine's progress messages and the credential sources, on recorded/handmade inputs.

No engine needed; these sit beside the Docker tests because they pin down what
the adapters make of what a real engine and `docker login` produce.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from adapters.docker.credentials import (
    RegistryCredentials,
    RegistryCredentialSource,
    from_docker_config,
    from_environment,
)
from adapters.docker.stream_messages import LayerProgress, digest_of, error_of, is_auth_failure
from application.publishing_ports import RegistryAuthFailed

DIGEST = "sha256:" + "0f" * 32


def test_push_digest_from_aux_and_from_the_status_line() -> None:
    assert digest_of({"aux": {"Tag": "1.0", "Digest": DIGEST, "Size": 527}}) == DIGEST
    assert digest_of({"status": f"1.0: digest: {DIGEST} size: 527"}) == DIGEST
    assert digest_of({"status": f"Digest: {DIGEST}"}) == DIGEST  # pull
    assert digest_of({"status": "Pushing", "id": "abc"}) is None


def test_errors_inside_a_200_stream() -> None:
    message = {
        "errorDetail": {"message": "unauthorized: authentication required"},
        "error": "unauthorized: authentication required",
    }
    assert error_of(message) == "unauthorized: authentication required"
    assert error_of({"error": "denied"}) == "denied"
    assert error_of({"status": "Pushed"}) is None


@pytest.mark.parametrize(
    ("text", "auth"),
    [
        ("unauthorized: authentication required", True),
        ("no basic auth credentials", True),
        ("denied: requested access to the resource is denied", True),
        ("unauthorized: incorrect username or password", True),
        ("blob upload unknown", False),
        ("manifest invalid", False),
    ],
)
def test_auth_failures_are_recognised(text: str, auth: bool) -> None:
    assert is_auth_failure(text) is auth


def test_layer_progress_sums_layers() -> None:
    layers = LayerProgress()
    assert layers.update({"id": "a", "progressDetail": {"current": 10, "total": 100}})
    assert layers.update({"id": "b", "progressDetail": {"current": 5, "total": 50}})
    assert layers.update({"id": "a", "progressDetail": {"current": 200, "total": 100}})
    assert not layers.update({"id": "a", "progressDetail": {}})
    assert not layers.update({"status": "Preparing"})
    assert (layers.current, layers.total) == (105, 150)


def test_environment_credentials_need_both_variables() -> None:
    assert from_environment({}) is None
    found = from_environment({"REGISTRY_CLI_USERNAME": "u", "REGISTRY_CLI_PASSWORD": "p"})
    assert found == RegistryCredentials("u", "p", source="environment")
    with pytest.raises(RegistryAuthFailed, match="both"):
        from_environment({"REGISTRY_CLI_USERNAME": "u"})


def test_docker_login_entry_is_read(tmp_path: Path) -> None:
    token = base64.b64encode(b"bob:hunter2").decode()
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"auths": {"127.0.0.1:5000": {"auth": token}}}))
    found = from_docker_config("127.0.0.1:5000", str(config))
    assert found is not None
    assert (found.username, found.password, found.source) == ("bob", "hunter2", "docker config")
    assert from_docker_config("other.example:5000", str(config)) is None
    assert "hunter2" not in repr(found)


def test_docker_hub_entry_under_its_legacy_url(tmp_path: Path) -> None:
    token = base64.b64encode(b"carol:pw").decode()
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"auths": {"https://index.docker.io/v1/": {"auth": token}}}))
    found = from_docker_config("docker.io", str(config))
    assert found is not None and found.username == "carol"


def test_missing_credential_helper_is_a_clean_failure(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"credsStore": "physarum-absent-helper"}))
    with pytest.raises(RegistryAuthFailed, match="cannot read credentials"):
        from_docker_config("127.0.0.1:5000", str(config))


def test_prompt_only_after_a_refusal_and_never_over_explicit_environment() -> None:
    asked: list[str] = []

    def prompt(registry: str, reason: str) -> RegistryCredentials:
        asked.append(reason)
        return RegistryCredentials("typed", "pw", source="prompt")

    source = RegistryCredentialSource(prompt=prompt, environ={}, config_path="/nonexistent")
    assert source.initial("127.0.0.1:5000") is None
    retry = source.after_refusal("127.0.0.1:5000", None, "no basic auth credentials")
    assert retry is not None and retry.username == "typed"
    from_env = RegistryCredentials("u", "p", source="environment")
    assert source.after_refusal("127.0.0.1:5000", from_env, "unauthorized") is None
    assert asked == ["no basic auth credentials"]
