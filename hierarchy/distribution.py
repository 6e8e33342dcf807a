"""A packaged spaCy pipeline as an installable distribution: a wheel (written here with zipfile: a wheel is a zip
with three metadata files, and building it needs nothing that is not installed) or an sdist (built by setuptools
when pip installs it). The package imports as ``name``; ``spacy.load(name)`` calls its ``load``, and
``hierarchy.load(name)`` reads the model directory its ``MODEL_DIR`` names."""
from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import zipfile
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as installed
from pathlib import Path

from hierarchy import DISTRIBUTION

VERSION = r"\d+(\.\d+)*([ab]|rc)?\d*(\.post\d+)?(\.dev\d+)?"  # what --version takes (PEP 440, public versions)

INIT = '''"""{name} {version}: {description}

    import spacy, hierarchy
    nlp = spacy.load("{name}")
    pipeline = hierarchy.load("{name}")
"""
from pathlib import Path

from spacy.util import load_model_from_init_py

__version__ = "{version}"
MODEL_DIR = Path(__file__).parent / "{data}" / "hierarchy"  # the model directory (hierarchy.load)


def load(**overrides):
    """The spaCy pipeline (spacy.load("{name}") calls this)."""
    return load_model_from_init_py(__file__, **overrides)
'''

PYPROJECT = '''[build-system]
requires = ["setuptools>=77"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "{version}"
description = "{description}"
readme = "README.md"
license = {{text = "{license}"}}
requires-python = ">=3.11"
dependencies = [{dependencies}]

[tool.setuptools]
packages = ["{name}"]
include-package-data = true

[tool.setuptools.package-data]
"{name}" = ["**/*"]
'''


def own_version() -> str:
    """This project's installed version ("0.0.0" when it runs from a checkout that is not installed)."""
    try:
        return installed(DISTRIBUTION)
    except PackageNotFoundError:
        return "0.0.0"


def package_files(pipeline_dir: Path, meta: dict, card: str) -> dict[str, bytes]:
    """``{path in the distribution: content}``: the package's ``__init__.py``, ``meta.json``, README and the pipeline
    directory under ``<lang>_<name>-<version>/``, where spaCy's ``load_model_from_init_py`` looks for it."""
    name, version = meta["name"], meta["version"]
    data = f"{meta['lang']}_{name}-{version}"
    files = {f"{name}/__init__.py": INIT.format(name=name, version=version, data=data,
                                                 description=meta["description"]).encode(),
             f"{name}/meta.json": (pipeline_dir / "meta.json").read_bytes(),
             f"{name}/README.md": card.encode()}
    for path in sorted(p for p in pipeline_dir.rglob("*") if p.is_file()):
        files[f"{name}/{data}/{path.relative_to(pipeline_dir).as_posix()}"] = path.read_bytes()
    return files


def core_metadata(meta: dict, card: str) -> str:
    """The METADATA / PKG-INFO of the distribution (core metadata 2.1)."""
    lines = ["Metadata-Version: 2.1", f"Name: {meta['name']}", f"Version: {meta['version']}",
             f"Summary: {meta['description']}", f"License: {meta['license']}", "Requires-Python: >=3.11"]
    lines += [f"Requires-Dist: {r}" for r in meta["requirements"]]
    return "\n".join(lines + ["Description-Content-Type: text/markdown", "", card])


def record_line(path: str, content: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(content)}"


def write_wheel(files: dict[str, bytes], meta: dict, card: str, out_dir: Path) -> Path:
    """``<name>-<version>-py3-none-any.whl`` in ``out_dir``: ``files`` with the dist-info (METADATA, WHEEL, RECORD)."""
    name, version = meta["name"], meta["version"]
    info = f"{name}-{version}.dist-info"
    files = files | {
        f"{info}/METADATA": core_metadata(meta, card).encode(),
        f"{info}/WHEEL": (f"Wheel-Version: 1.0\nGenerator: {DISTRIBUTION} {own_version()}\n"
                          "Root-Is-Purelib: true\nTag: py3-none-any\n").encode(),
        f"{info}/top_level.txt": f"{name}\n".encode(),
    }
    record = "\n".join([record_line(path, content) for path, content in files.items()] + [f"{info}/RECORD,,", ""])
    path = out_dir / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as wheel:
        for member, content in files.items():
            wheel.writestr(member, content)
        wheel.writestr(f"{info}/RECORD", record)
    return path


def write_sdist(files: dict[str, bytes], meta: dict, card: str, out_dir: Path) -> Path:
    """``<name>-<version>.tar.gz`` in ``out_dir``: a setuptools project (pyproject.toml, PKG-INFO, README.md) around
    ``files``; pip builds it with setuptools when it installs it."""
    name, version = meta["name"], meta["version"]
    root = f"{name}-{version}"
    dependencies = ", ".join(f'"{r}"' for r in meta["requirements"])
    project = PYPROJECT.format(name=name, version=version, description=meta["description"].replace('"', "'"),
                               license=meta["license"].replace('"', "'"), dependencies=dependencies)
    files = files | {"pyproject.toml": project.encode(), "PKG-INFO": core_metadata(meta, card).encode(),
                     "README.md": card.encode()}
    path = out_dir / f"{root}.tar.gz"
    with tarfile.open(path, "w:gz") as sdist:
        for member, content in files.items():
            entry = tarfile.TarInfo(f"{root}/{member}")
            entry.size, entry.mode = len(content), 0o644
            sdist.addfile(entry, io.BytesIO(content))
    return path
