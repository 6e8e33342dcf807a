"""Reading text files with errors that name the file and line, and crash-safe writing: write a temporary file
beside the target, then rename it into place."""
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from .errors import CorpusError, HierarchyError


def umask() -> int:
    """The process's file-creation mask (read by setting it, then restoring it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_write(path, mode: str = "w", encoding: str | None = "utf-8"):
    """Yield a file handle; on success the file replaces ``path`` atomically, on error nothing is left."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~umask())  # mkstemp makes 0600; give the file the mode open() would
        with os.fdopen(fd, mode, encoding=None if "b" in mode else encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_text(path, expected: str = "a file") -> str:
    """The UTF-8 text of ``path``, without a byte-order mark at its start. Raises CorpusError naming the file (and
    the line of the first byte that is not UTF-8); other operating-system errors (permissions) propagate."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise CorpusError(path, None, f"file not found (expected {expected})") from None
    except IsADirectoryError:
        raise CorpusError(path, None, f"expected {expected}, found a directory") from None
    return decode(data, path)


def decode(data: bytes, name) -> str:
    """``data`` as UTF-8 text without a leading byte-order mark; CorpusError naming ``name`` and the line of the
    first byte that is not UTF-8."""
    try:
        return data.decode("utf-8").removeprefix("\ufeff")  # a byte-order mark, as some editors write
    except UnicodeDecodeError as e:
        raise CorpusError(name, data[: e.start].count(b"\n") + 1,
                          f"expected UTF-8 text, found byte 0x{data[e.start]:02x}") from None


def check_writable(path, directory: bool = False) -> None:
    """Raise HierarchyError, before any work is done, when ``path`` cannot be written: a file where a directory is
    expected or the reverse, a directory that is a symbolic link (it would be replaced, not followed), a parent that
    is a file, or a place without write permission."""
    path = Path(path)
    kind = "a directory" if directory else "a file"
    if directory and path.is_symlink():
        raise HierarchyError(f"{path}: is a symbolic link (to {os.readlink(path)}); expected {kind}, give the real "
                             "path")
    if path.exists() and path.is_dir() != directory:
        raise HierarchyError(f"{path}: expected {kind}, found {'a directory' if path.is_dir() else 'a file'}")
    place = path if directory and path.exists() else path.parent
    while not place.exists() and place != place.parent:  # the first ancestor that exists: the rest gets created
        place = place.parent
    if not place.is_dir():
        raise HierarchyError(f"{path}: cannot be created, {place} is a file (expected a directory)")
    if not os.access(place, os.W_OK | os.X_OK):
        raise HierarchyError(f"{path}: cannot write in {place} (permission denied)")
