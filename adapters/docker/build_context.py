"""The build context for one `add`: generated files plus Copy sources, as a tar stream.

Symlink policy (deliberate, and the same as Docker's own context sender for
what lies inside directories):

- A Copy source path is resolved with every symlink followed; the result must
  lie inside --dir (else: BuildContextError). A source that is itself a
  symlink is stored *dereferenced* under its own name, so `COPY src dst`
  copies what the user sees at that path.
- Inside a copied directory, symlinks are stored as symlinks, target text
  unchanged (a link to /usr/lib stays a link to /usr/lib in the image), and
  are never followed, so nothing outside --dir is read through them.
- Sockets, FIFOs and device files are refused: a FIFO would block the reader
  and the others cannot be meaningfully copied.
"""

from __future__ import annotations

import os
import stat
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from application.publishing_ports import BuildContextError
from domain.dockerfile import (
    DOCKERFILE_NAME,
    PROXY_BINARY_NAME,
    PROXY_CONFIG_NAME,
    DockerfilePlan,
)

_TAR_BLOCK = tarfile.BLOCKSIZE
_COPY_BUFFER = 1 << 20


@dataclass(frozen=True)
class ContextEntry:
    """One member of the context: from ``source`` on disk, or ``data`` when generated."""

    name: str
    source: Path | None = None
    data: bytes | None = None
    mode: int | None = None  # overrides the file's own mode
    dereference: bool = False


@dataclass
class DirectoryBuildContext:
    """A checked list of entries; nothing is read until ``tar_chunks`` is iterated."""

    entries: list[ContextEntry] = field(default_factory=list)
    total_bytes: int = 0

    @property
    def file_count(self) -> int:
        return len(self.entries)

    @property
    def estimated_tar_bytes(self) -> int:
        # A header block per entry, data padded to blocks, two end blocks.
        return self.total_bytes + _TAR_BLOCK * (2 * len(self.entries) + 2)


def prepare_build_context(
    plan: DockerfilePlan, context_dir: Path, proxy_binary: Path
) -> DirectoryBuildContext:
    root = _checked_root(context_dir)
    context = DirectoryBuildContext()
    context.entries.append(ContextEntry(DOCKERFILE_NAME, data=plan.dockerfile.encode()))
    context.entries.append(ContextEntry(PROXY_CONFIG_NAME, data=plan.proxy_config))
    proxy = _checked_proxy(proxy_binary)
    context.entries.append(
        ContextEntry(PROXY_BINARY_NAME, source=proxy, mode=0o755, dereference=True)
    )
    context.total_bytes = len(plan.dockerfile.encode()) + len(plan.proxy_config)
    context.total_bytes += proxy.stat().st_size
    for src in plan.copy_sources:
        _add_source(context, root, src)
    return context


def _checked_root(context_dir: Path) -> Path:
    try:
        root = context_dir.resolve(strict=True)
    except OSError as exc:
        raise BuildContextError(f"--dir {context_dir}: {exc.strerror or exc}") from exc
    if not root.is_dir():
        raise BuildContextError(f"--dir {context_dir} is not a directory")
    return root


def _checked_proxy(proxy_binary: Path) -> Path:
    if not proxy_binary.is_file():
        raise BuildContextError(f"proxy binary {proxy_binary} is not a file")
    return proxy_binary


def _add_source(context: DirectoryBuildContext, root: Path, src: str) -> None:
    given = root / src if src != "." else root
    try:
        resolved = given.resolve(strict=True)
    except FileNotFoundError as exc:
        raise BuildContextError(f"Copy source {src!r} not found in --dir {root}") from exc
    except OSError as exc:  # e.g. a symlink loop
        raise BuildContextError(f"Copy source {src!r}: {exc.strerror or exc}") from exc
    if not resolved.is_relative_to(root):
        raise BuildContextError(
            f"Copy source {src!r} resolves to {resolved}, outside --dir {root} "
            "(through a symlink); copy the file into --dir instead"
        )
    if resolved.is_dir():
        _add_directory(context, resolved, src)
    else:
        _add_file(context, resolved, src, dereference=given.is_symlink())


def _add_file(context: DirectoryBuildContext, path: Path, name: str, dereference: bool) -> None:
    info = path.stat() if dereference else path.lstat()
    if stat.S_ISREG(info.st_mode):
        context.total_bytes += info.st_size
    elif not stat.S_ISLNK(info.st_mode) and not stat.S_ISDIR(info.st_mode):
        raise BuildContextError(
            f"{path} is a socket, FIFO or device file; only files, directories and "
            "symlinks can be copied into an image"
        )
    context.entries.append(ContextEntry(name, source=path, dereference=dereference))


def _add_directory(context: DirectoryBuildContext, directory: Path, name: str) -> None:
    generated = {DOCKERFILE_NAME, PROXY_CONFIG_NAME, PROXY_BINARY_NAME}
    if name != ".":
        context.entries.append(ContextEntry(name, source=directory, dereference=True))
    for current, dirs, files in os.walk(directory, followlinks=False):
        dirs.sort()
        relative = Path(current).relative_to(directory)
        for entry_name in sorted(files) + [d for d in dirs if (Path(current) / d).is_symlink()]:
            member = (relative / entry_name).as_posix()
            if name == "." and member in generated:
                raise BuildContextError(
                    f"Copy source '.' holds {member!r}, which clashes with the {member!r} "
                    "the build generates; rename it or copy subdirectories instead"
                )
            arcname = member if name == "." else f"{name}/{member}"
            _add_file(context, Path(current) / entry_name, arcname, dereference=False)
        # os.walk lists symlinks to directories in ``dirs``; they were stored as links.
        dirs[:] = [d for d in dirs if not (Path(current) / d).is_symlink()]
        for d in dirs:
            member = (relative / d).as_posix()
            if name == "." and member in generated:
                raise BuildContextError(
                    f"Copy source '.' holds a directory {member!r}, which clashes with "
                    "a generated file"
                )
            arcname = member if name == "." else f"{name}/{member}"
            context.entries.append(ContextEntry(arcname, source=Path(current) / d))


def _tar_info(entry: ContextEntry, tar: tarfile.TarFile) -> tarfile.TarInfo:
    if entry.data is not None:
        info = tarfile.TarInfo(entry.name)
        info.size = len(entry.data)
        info.mode = 0o644
    else:
        assert entry.source is not None
        if entry.dereference:
            info = tar.gettarinfo(os.path.realpath(entry.source), arcname=entry.name)
        else:
            info = tar.gettarinfo(entry.source, arcname=entry.name)
    if entry.mode is not None:
        info.mode = entry.mode
    # Owners are the builder's business (COPY makes everything root's anyway);
    # the local user's names would only leak into the context.
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def write_tar(context: DirectoryBuildContext, sink: _Writable) -> None:
    """Write the context as an uncompressed tar, file by file in bounded memory."""
    # Mode "w" (not the "w|" stream mode, which re-buffers everything in 10 KiB
    # records) with a large copy buffer: file data reaches the sink in big writes.
    with tarfile.TarFile(
        fileobj=sink,  # type: ignore[arg-type]  # writing needs only write() and tell()
        mode="w",
        format=tarfile.PAX_FORMAT,
        copybufsize=_COPY_BUFFER,
    ) as tar:
        for entry in context.entries:
            info = _tar_info(entry, tar)
            if entry.data is not None:
                tar.addfile(info, _BytesReader(entry.data))
            elif info.isreg():
                assert entry.source is not None
                with open(entry.source, "rb") as handle:
                    tar.addfile(info, handle)
            else:
                tar.addfile(info)


class _Writable(Protocol):
    def write(self, data: bytes, /) -> int: ...

    def tell(self) -> int: ...


class _BytesReader:
    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._pos = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size < 0 else self._pos + size
        chunk = bytes(self._data[self._pos : end])
        self._pos += len(chunk)
        return chunk

