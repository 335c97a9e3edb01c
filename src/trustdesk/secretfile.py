"""Key files a process reads its secrets from (the platform's signing key, the TOTP encryption key).

Both follow the same rules: a file that exists must be a regular file that neither group nor others may
access (symlinks are followed, as Kubernetes mounts secrets as links; the checks apply to the file
opened, and ``O_NONBLOCK`` keeps a FIFO planted at the path from blocking the open); a file that does not
exist is created atomically with mode 0600 (written to a temporary file in the same folder and linked into
place), so that concurrent processes either see no file or the whole key, and all use the key that won.
"""

import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

__all__ = ["load_or_create", "read_private"]

_TOO_OPEN = stat.S_IRWXG | stat.S_IRWXO
T = TypeVar("T")


def read_private(path: Path, what: str, error: type[Exception], *, limit: int, exposure: str = "") -> bytes:
    """The content of the key file at ``path`` (at most ``limit`` bytes, else ``error``).

    Raises `FileNotFoundError` when there is no file, and ``error`` naming ``what`` (e.g. "the signing key
    file") when it cannot be used; ``exposure`` adds what an open file would let others do.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise error(f"cannot open {what} {path}: {exc.strerror}") from exc
    info = os.fstat(descriptor)
    if not stat.S_ISREG(info.st_mode):
        os.close(descriptor)
        raise error(f"{what} {path} is not a regular file")
    with os.fdopen(descriptor, "rb") as handle:
        mode = stat.S_IMODE(info.st_mode)
        if mode & _TOO_OPEN:
            raise error(
                f"{what} {path} has mode {mode:04o}: group and others may access it{exposure}; run "
                f"`chmod 600 {path}`"
            )
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise error(f"{what} {path} is too large to hold a key")
    return data


def load_or_create(path: Path, load: Callable[[Path], T], new: Callable[[], tuple[T, bytes]]) -> T:
    """``load(path)``; when there is no file, a new key from ``new()`` (the key and the bytes to store),
    stored atomically with mode 0600. If another process stored its key first, that key is loaded."""
    path = Path(path)
    try:
        return load(path)
    except FileNotFoundError:
        pass
    key, content = new()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        try:
            os.fchmod(descriptor, 0o600)  # the mode of os.open is narrowed by the umask, never widened
            os.write(descriptor, content)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        try:
            path.hardlink_to(temporary)
        except FileExistsError:
            return load(path)  # another process created it first: use theirs
    finally:
        temporary.unlink(missing_ok=True)
    return key
