"""Crash-safe file writes: a reader sees the old file or the new one, never a partial one.

Every write goes to a temporary file in the destination's own folder, is flushed to disk with
``fsync``, then renamed over the destination with :func:`os.replace`, which POSIX and Windows
guarantee to be atomic within one file system. The folder is fsynced last so that the rename
itself survives a power loss.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

StrPath = str | os.PathLike[str]
"""A file-system path given as a string or a path object."""


@contextlib.contextmanager
def atomic_path(path: StrPath) -> Iterator[Path]:
    """Yield a temporary path to write to; on success it atomically becomes ``path``.

    The temporary file is created empty in the same folder as ``path`` (a rename is only
    atomic within one file system) with the permissions a plain ``open(path, "w")`` would give.
    The caller may write it with any library. When the block exits normally the file is
    fsynced, renamed onto ``path`` (replacing any previous file) and the folder is fsynced.
    When the block raises, the temporary file is removed, ``path`` is left untouched and the
    exception propagates.

    Args:
        path: the destination file. Its folder must already exist.

    Yields:
        The temporary path, in the same folder as ``path``.

    Example:
        >>> with atomic_path("out/table.parquet") as tmp:  # doctest: +SKIP
        ...     frame.write_parquet(tmp)
    """
    target = Path(path)
    tmp = _create_temporary(target)
    try:
        yield tmp
        _fsync_file(tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(target.parent)


def atomic_write_bytes(path: StrPath, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`).

    Args:
        path: the destination file. Its folder must already exist.
        data: the complete new contents.
    """
    with atomic_path(path) as tmp, tmp.open("wb") as file:
        file.write(data)


def atomic_write_text(path: StrPath, text: str, *, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_path`).

    Line endings are written as given, never translated, so the bytes on disk are the same
    on every platform.

    Args:
        path: the destination file. Its folder must already exist.
        text: the complete new contents.
        encoding: the text encoding.
    """
    atomic_write_bytes(path, text.encode(encoding))


def _create_temporary(target: Path) -> Path:
    """Create an empty, uniquely named hidden file next to ``target`` and return its path."""
    while True:
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
        try:
            # Mode 0o666 filtered by the umask, as for any new file; tempfile.mkstemp would
            # give 0o600 and the replaced file would silently lose group/other read access.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:  # pragma: no cover - a 48-bit random name collided
            continue
        os.close(fd)
        return tmp


def _fsync_file(path: Path) -> None:
    """Flush the contents of ``path`` from the OS cache to the disk."""
    fd = os.open(path, os.O_RDWR)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    """Flush a folder's entries (such as a rename) to disk; a no-op where unsupported."""
    if os.name == "nt":  # pragma: no cover - Windows cannot open a folder as a file
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
