"""--custom-proxy: a proxy binary the user built."""

from __future__ import annotations

from pathlib import Path

from application.publishing_ports import ProxyUnavailable, StageProgress

_ELF_MAGIC = b"\x7fELF"


class LocalProxyBinary:
    def __init__(self, path: Path) -> None:
        self._path = path

    def proxy_binary(self, progress: StageProgress) -> Path:
        path = self._path.expanduser()
        if not path.exists():
            raise ProxyUnavailable(f"--custom-proxy {self._path}: no such file")
        if not path.is_file():
            raise ProxyUnavailable(f"--custom-proxy {self._path}: not a regular file")
        try:
            with path.open("rb") as handle:
                magic = handle.read(4)
        except OSError as exc:
            raise ProxyUnavailable(f"--custom-proxy {self._path}: {exc.strerror}") from exc
        # Not fatal: a script with a shebang also runs, if the image has its interpreter.
        if magic != _ELF_MAGIC and not magic.startswith(b"#!"):
            progress.log(f"warning: {path} is neither an ELF executable nor a script")
        progress.status(f"using {path}")
        return path
