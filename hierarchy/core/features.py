"""The on-disk cache of a frozen transformer's per-word features: one safetensors file per corpus, named by a hash
of the encoder (its config and weights), the pooling and the corpus's text, so a second run over the same corpus
with the same encoder reads the file instead of running the encoder. A cache that cannot be written (a read-only
or full disk) is skipped with a warning."""
from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from hierarchy.core.persistence import save_tensors
from hierarchy.modules.transformer import TransformerInput


def cache_key(identity: dict, pooling: str, sentences: list[list[str]]) -> str:
    """A hash of the encoder's ``identity`` (:func:`encoder_identity`), the pooling and the text of ``sentences``."""
    digest = hashlib.sha256(json.dumps({"encoder": identity, "pooling": pooling}, sort_keys=True).encode())
    for words in sentences:
        digest.update("\t".join(words).encode() + b"\n")
    return digest.hexdigest()[:32]


def cached_features(transformer: TransformerInput, sentences: list[list[str]], directory,
                    progress: bool = False) -> bool:
    """Fill ``transformer.features`` for ``sentences`` (word lists; the empty ones are skipped): from
    ``directory``'s file for them when there is one (True), else computed and written there (False).
    ``directory`` empty: computed, nothing written."""
    sentences = [s for s in sentences if s]
    if not directory:
        transformer.precompute(sentences, progress=progress)
        return False
    identity = transformer.identity
    path = Path(directory).expanduser() / f"{cache_key(identity, transformer.pooling, sentences)}.safetensors"
    if path.is_file():
        try:
            tensors = load_file(path)
            rows = torch.split(tensors["features"], tensors["lengths"].tolist())
        except (SafetensorError, OSError, KeyError, RuntimeError):
            rows = None  # a damaged file is recomputed and replaced
        if rows is not None and len(rows) == len(sentences):
            for words, row in zip(sentences, rows):
                transformer.features[tuple(words)] = row
            return True
    transformer.precompute(sentences, progress=progress)
    features = torch.cat([transformer.features[tuple(s)] for s in sentences])  # (n_words, n_layers, size)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        save_tensors({"features": features, "lengths": torch.tensor([len(s) for s in sentences])}, path,
                     {"encoder": json.dumps(identity), "pooling": transformer.pooling})
    except OSError as e:
        warnings.warn(f"{path.parent}: cannot write the transformer feature cache ({e.strerror or e}); "
                      "going on without it", stacklevel=2)
    return False
