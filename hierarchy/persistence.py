"""Save and load a model directory: ``config.toml``, ``vocab.json``, ``weights.safetensors`` (tensors only, so
loading never unpickles code) and ``metrics.json``."""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .config import Config, read_config, save_config
from .errors import ConfigError
from .fileio import atomic_write, umask
from .model import Hierarchy
from .modules.transformer import encoder_files, encoder_identity
from .vocab import Vocabs


ENCODER = "encoder"  # a self-contained model directory's copy of its transformer encoder


def save_tensors(tensors: dict[str, torch.Tensor], path, metadata: dict[str, str] | None = None) -> None:
    """Write safetensors atomically (temporary file, then rename); ``metadata`` is stored in its header."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, tmp, metadata=metadata)
        os.chmod(tmp, 0o666 & ~umask())  # mkstemp (and save_file) make 0600; give the mode open() would
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def save_json(obj, path) -> None:
    with atomic_write(path) as f:
        json.dump(obj, f, indent=2)


def save_model(model: Hierarchy, config: Config, vocabs: Vocabs, directory, copy_encoder: bool = False) -> None:
    """Write the model directory; ``copy_encoder``: with the transformer input's files in ``encoder/`` (which
    its config then names), so the directory needs nothing outside it."""
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
    save_config(config, directory / "config.toml")
    vocabs.save(directory / "vocab.json")
    save_tensors(model.state_dict(), directory / "weights.safetensors")


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
    """Rebuild the model from its config and vocabularies, then fill in the weights."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ConfigError(f"{directory}: model directory not found")
    config = load_config_file(directory / "config.toml")
    vocabs = Vocabs.load(directory / "vocab.json")
    model = Hierarchy(config.model, vocabs, find_encoder(directory, config, vocabs), pretrained=False)
    weights = directory / "weights.safetensors"
    if not weights.is_file():
        raise ConfigError(f"{weights}: file not found (expected the model's weights)")
    try:
        state = load_file(weights)
    except (SafetensorError, OSError) as e:
        raise ConfigError(f"{weights}: not a valid safetensors file ({e})") from None
    check_state(model.state_dict(), state, weights)
    model.load_state_dict(state)
    model.eval()
    return model.to(device), config, vocabs


def find_encoder(directory, config: Config, vocabs: Vocabs) -> Path | None:
    """The model's transformer encoder directory: its configured path read from the model directory (a packaged
    model's ``encoder/``), else as given; it must be the encoder the model was trained with (``vocabs.encoder``)."""
    path = config.model.transformer.path
    if not path:
        return None
    found = next((p for p in (Path(directory) / path, Path(path)) if p.is_dir()), None)
    if found is None:
        raise ConfigError(f"{directory}: the transformer encoder '{path}' of this model was not found (expected "
                          "a local Hugging Face model directory, by that path from the model directory or from here)")
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


def check_state(expected: dict, found: dict, path) -> None:
    """The tensors of ``found`` are those of ``expected`` (names, shapes, floating point and finite); otherwise a
    ConfigError naming the first that is not."""
    for name in expected:
        if name not in found:
            raise ConfigError(f"{path}: weights do not match config.toml: tensor '{name}' is missing")
        if found[name].shape != expected[name].shape:
            raise ConfigError(f"{path}: weights do not match config.toml: tensor '{name}' has shape "
                              f"{tuple(found[name].shape)}, expected {tuple(expected[name].shape)}")
        if found[name].is_floating_point() != expected[name].is_floating_point():
            raise ConfigError(f"{path}: tensor '{name}' is {found[name].dtype}, expected {expected[name].dtype}")
        if found[name].is_floating_point() and not torch.isfinite(found[name]).all():
            raise ConfigError(f"{path}: tensor '{name}' holds NaN or infinite values")
    extra = sorted(set(found) - set(expected))
    if extra:
        raise ConfigError(f"{path}: weights do not match config.toml: unexpected tensor '{extra[0]}'")
