"""Write a file whole or not at all: the one atomic-write helper (plan files, import output).

The text goes to a temporary file beside the target (created exclusively with ``mode``, so the
umask applies), is flushed and fsynced, then moved into place: a reader never sees half a file,
and a crash leaves the old file (or none) and no stray temporary file. Without ``overwrite`` an
existing target is never replaced, even one that appears while writing (published with a hard
link, which fails if the target exists).
"""

from __future__ import annotations

import os
import secrets

from adapter_sync.errors import AdapterSyncError


def exists_error(path: str) -> AdapterSyncError:
    return AdapterSyncError(f"{path} exists; use --force to overwrite")


def write_atomic(path: str, text: str, *, overwrite: bool, mode: int = 0o666,
                 keep_mode: bool = False, what: str = "file") -> None:
    """Write ``text`` (UTF-8, ``\\n`` newlines) to ``path`` atomically.

    ``overwrite``: replace an existing file (else refuse with "exists; use --force");
    ``mode``: permissions of a new file (before the umask); ``keep_mode``: a replaced file keeps
    its permissions. Every failure is one :class:`AdapterSyncError` naming ``path``.
    """
    if not overwrite and os.path.lexists(path):
        raise exists_error(path)
    if os.path.isdir(path):
        raise AdapterSyncError(f"{path} is a directory")
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(text.encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())
            if overwrite:
                if keep_mode and os.path.exists(path):
                    os.chmod(tmp, os.stat(path).st_mode & 0o7777)
                os.replace(tmp, path)
            else:
                _publish_exclusive(tmp, path)
        finally:
            if os.path.lexists(tmp):
                os.unlink(tmp)
    except OSError as exc:
        raise AdapterSyncError(f"cannot write {what} {path}: {exc.strerror or exc}") from exc


def _publish_exclusive(tmp: str, path: str) -> None:
    """Move ``tmp`` to ``path`` unless ``path`` appeared meanwhile (no silent overwrite)."""
    try:
        os.link(tmp, path)  # atomic, and fails if path exists
    except FileExistsError:
        raise exists_error(path) from None
    except OSError:  # a filesystem without hard links
        if os.path.lexists(path):
            raise exists_error(path) from None
        os.replace(tmp, path)
