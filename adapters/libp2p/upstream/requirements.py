"""What each of our changes needs of py-libp2p, checked before any is applied.

A change that overrides or reaches into a private name would otherwise stop working
silently after an upgrade (an override of a method that was renamed is simply never
called). ``check`` fails loudly instead, naming the change and the missing name.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from importlib.metadata import version

PINNED_VERSION = "0.8.1"


class UpstreamDrift(RuntimeError):
    """The installed py-libp2p is not the one our changes were written against."""


@dataclass(frozen=True)
class Needs:
    """``module:Qualified.name`` must exist; with ``params``, a callable taking them."""

    change: str
    target: str
    params: tuple[str, ...] | None = None

    def problem(self) -> str | None:
        module_name, _, path = self.target.partition(":")
        try:
            found: object = importlib.import_module(module_name)
        except ImportError as exc:
            return f"module {module_name} is gone ({exc})"
        for part in path.split("."):
            fields = getattr(found, "__dataclass_fields__", {})
            if part in fields and not hasattr(found, part):
                found = fields[part]
                continue
            if not hasattr(found, part):
                return f"{self.target} is gone"
            found = getattr(found, part)
        if self.params is None:
            return None
        try:
            have = tuple(inspect.signature(found).parameters)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return f"{self.target} is no longer callable"
        if have[: len(self.params)] != self.params:
            return f"{self.target} now takes {have}, not {self.params}"
        return None


def installed_version() -> str:
    return version("libp2p")


def check(needs: tuple[Needs, ...], *, expected_version: str = PINNED_VERSION) -> None:
    """Raise UpstreamDrift unless py-libp2p is ``expected_version`` and has every name."""
    have = installed_version()
    if have != expected_version:
        raise UpstreamDrift(
            f"py-libp2p {have} is installed; our changes to it (adapters/libp2p/upstream, "
            f"docs/py-libp2p.md) were written for {expected_version}: check each, then "
            "bump PINNED_VERSION"
        )
    problems = [f"{n.change}: {p}" for n in needs if (p := n.problem()) is not None]
    if problems:
        raise UpstreamDrift(
            "py-libp2p no longer has what our changes to it need (docs/py-libp2p.md): "
            + "; ".join(problems)
        )
