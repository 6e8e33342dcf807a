"""A pretrained encoder's directory (a local Hugging Face model directory): its files, its identity (what a model
records of the encoder it was trained with) and loading it with ``transformers`` (the ``transformers`` extra), from
the directory only, never from the network."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch

from hierarchy.io.errors import ConfigError

# what [model.transformer] path names
ENCODER_EXPECTED = "a local Hugging Face model directory, or an installed Python package that ships one"

#: The tokenizer files a pipeline needs besides config.json and the weights (see :func:`encoder_files`).
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
                   "vocab.txt", "vocab.json", "merges.txt", "spiece.model", "sentencepiece.bpe.model")


def weight_files(path) -> list[Path]:
    """The weights of the model directory ``path``: its safetensors file(s) (one, or shards), else PyTorch's."""
    for pattern in ("*.safetensors", "pytorch_model*.bin"):
        found = sorted(Path(path).glob(pattern))
        if found:
            return found
    return []


def encoder_identity(path, weights: bool = True) -> dict:
    """``{"name", "config_sha256", "weights_sha256"}`` of the model directory ``path`` (``weights``: hash the
    weight files too): what a model directory records of the encoder it was trained with, and checks at load."""
    config = Path(path) / "config.json"
    try:
        data = config.read_bytes()
    except OSError:
        raise ConfigError(f"{path}: not a Hugging Face model directory (expected config.json, weights and a "
                          "tokenizer)") from None
    try:
        name = json.loads(data).get("_name_or_path") or Path(path).resolve().name
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        raise ConfigError(f"{config}: not a valid JSON model configuration") from None
    identity = {"name": name, "config_sha256": hashlib.sha256(data).hexdigest()}
    if weights:
        digest = hashlib.sha256()
        for file in weight_files(path):
            with open(file, "rb") as f:
                while block := f.read(1 << 20):
                    digest.update(block)
        identity["weights_sha256"] = digest.hexdigest()
    return identity


def encoder_files(path, weights: bool = True) -> list[Path]:
    """The files of the model directory ``path`` a pipeline needs: config, weights (with ``weights``; a
    fine-tuned encoder's are in the model's own weights) and tokenizer; what ``hierarchy package`` copies."""
    path = Path(path)
    weight = [*weight_files(path), *sorted(path.glob("*.index.json"))] if weights else []
    return [path / "config.json", *weight, *(path / f for f in TOKENIZER_FILES if (path / f).is_file())]


def load_encoder(path, pretrained: bool = True):
    """``(model, tokenizer)`` from the local directory ``path`` (``pretrained=False``: the architecture only, for
    a fine-tuned encoder whose weights the model directory holds); a :class:`ConfigError` naming it otherwise."""
    try:
        import transformers
    except ImportError:
        raise ConfigError("a [model.transformer] input needs transformers: pip install 'hierarchy-nlp[transformers]'"
                          ) from None
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    encoder_identity(path, weights=False)  # a clear error for a directory without config.json
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        if getattr(tokenizer, "add_prefix_space", True) is False:  # byte-level BPE: words given one by one
            tokenizer = transformers.AutoTokenizer.from_pretrained(str(path), local_files_only=True,
                                                                   add_prefix_space=True)
        if pretrained and torch.empty(()).device.type != "meta":  # on the meta device: shapes only, no weights
            model = transformers.AutoModel.from_pretrained(str(path), local_files_only=True)
        else:
            config = transformers.AutoConfig.from_pretrained(str(path), local_files_only=True)
            model = transformers.AutoModel.from_config(config)
    except (OSError, ValueError, KeyError) as e:
        raise ConfigError(f"{path}: cannot load the transformer ({str(e).splitlines()[0]})") from None
    if not tokenizer.is_fast:
        raise ConfigError(f"{path}: the tokenizer has no fast version (word alignment needs one)")
    return model, tokenizer
