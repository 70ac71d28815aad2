"""Reading and writing local files whose names may not lead where they should.

A name in a state directory, in a watched config tree or on the command line can stand,
by accident or on purpose, for a FIFO (opening it waits for a writer for ever), a device
(``/dev/zero`` never ends; a terminal would become the process's own), a directory, a
huge or sparse file, or a symbolic link leading anywhere. :func:`read_regular` reads only
a regular file of at most ``max_bytes``, never blocking, and through a link only when the
caller says following one is intended. :func:`write_replacing` puts a new file in the
name's place, whatever was there (a link is replaced, never written through).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

# Not waiting on a FIFO's writer, not taking a terminal, not leaking into children.
_READ_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_CHUNK = 1 << 20


class NotRegularFile(ValueError):
    """The name is a FIFO, a device, a socket, a directory or (not followed) a link:
    nothing of it was read."""

    def __init__(self, path: str | os.PathLike[str], kind: str) -> None:
        self.path = os.fspath(path)
        self.kind = kind
        super().__init__(f"{self.path} is {kind}, not a regular file")


class FileTooLarge(ValueError):
    """A regular file past the caller's cap: at most one byte past it was read."""

    def __init__(self, path: str | os.PathLike[str], size: int, limit: int) -> None:
        self.path = os.fspath(path)
        self.size = size
        self.limit = limit
        super().__init__(f"{self.path} is {size} bytes, over the limit of {limit} bytes")


def kind_of(mode: int) -> str:
    """What a file of ``mode`` is, for messages ("a FIFO", "a directory", ...)."""
    kinds = (
        (stat.S_ISREG, "a regular file"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def _check(path: str | os.PathLike[str], info: os.stat_result, max_bytes: int) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise NotRegularFile(path, kind_of(info.st_mode))
    if info.st_size > max_bytes:
        raise FileTooLarge(path, info.st_size, max_bytes)


def read_regular(
    path: str | os.PathLike[str], max_bytes: int, *, follow_links: bool = False
) -> bytes:
    """The bytes of the regular file ``path``, of at most ``max_bytes``.

    Raises :class:`NotRegularFile` or :class:`FileTooLarge` (both ValueError) having read
    nothing past the cap, and OSError when the name cannot be opened (missing, not
    allowed). A link is followed only with ``follow_links``; without it, a link is
    :class:`NotRegularFile`.
    """
    # Looked at before it is opened: opening a device may act on it.
    _check(path, os.stat(path, follow_symlinks=follow_links), max_bytes)
    fd = os.open(path, _READ_FLAGS if follow_links else _READ_FLAGS | os.O_NOFOLLOW)
    try:
        _check(path, os.fstat(fd), max_bytes)  # what was opened: swapped since the stat?
        chunks: list[bytes] = []
        size = 0
        while size <= max_bytes:  # a file growing while it is read is still refused
            chunk = os.read(fd, min(_CHUNK, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    if size > max_bytes:
        raise FileTooLarge(path, size, max_bytes)
    return b"".join(chunks)


def open_lock_file(path: str | os.PathLike[str], access: int, *, create: bool = False) -> int:
    """A descriptor on the lock file ``path`` (``access``: ``os.O_RDONLY`` or
    ``os.O_RDWR``), created if asked. Only a regular file of that very name with no
    other name is opened: a link is not followed (nor created through, when it dangles),
    a FIFO or device is refused (NotRegularFile) without waiting, and a second name (a
    hard link) would let a write to the lock land in another file."""
    flags = access | _READ_FLAGS | os.O_NOFOLLOW | (os.O_CREAT if create else 0)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP and stat.S_ISLNK(os.lstat(path).st_mode):
            raise NotRegularFile(path, "a symbolic link") from None
        raise
    info = os.fstat(fd)
    kind = kind_of(info.st_mode) if not stat.S_ISREG(info.st_mode) else None
    if kind is None and info.st_nlink > 1:
        kind = f"a file with {info.st_nlink} names (hard links)"
    if kind is not None:
        os.close(fd)
        raise NotRegularFile(path, kind)
    return fd


def write_replacing(path: Path, content: bytes, mode: int = 0o600) -> None:
    """Write ``content`` to a new file of ``mode`` beside ``path`` and rename it over
    ``path``: readers see the old file or the new one, whole, and whatever stood at
    ``path`` (a link to a file elsewhere included) is replaced, not written through."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(6).hex()}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(temporary, flags, mode)
    try:
        try:
            os.fchmod(fd, mode)  # whatever the umask left
            view = memoryview(content)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
