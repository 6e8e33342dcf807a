"""The on-disk cache of a frozen transformer's per-word features: one safetensors file per corpus, named by a hash
of the encoder (its config and weights), the pooling, the number of tuned layers and the corpus's text, so a second
run over the same corpus with the same encoder reads the file instead of running the encoder. With tuned layers the
file also holds each sentence's pieces' states entering the first of them. A cache that cannot be written (a
read-only or full disk) is skipped with a warning."""
from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from hierarchy.core.persistence import save_tensors
from hierarchy.modules.transformer import InContext, TransformerInput, words_of


def cache_key(identity: dict, pooling: str, sentences: list[list[str]], tune_layers: int = 0) -> str:
    """A hash of the encoder's ``identity`` (:func:`encoder_identity`), the pooling, the number of tuned layers
    (0: frozen, the key as it was before there were tuned layers) and the text of ``sentences``."""
    what = {"encoder": identity, "pooling": pooling} | ({"tune_layers": tune_layers} if tune_layers else {})
    digest = hashlib.sha256(json.dumps(what, sort_keys=True).encode())
    for text in sentences:
        line = "\t".join(words_of(text))
        if isinstance(text, InContext):  # keyed on the context too (a sentence alone keeps the key it had)
            line = "\t".join(text.left) + "\x1f" + line + "\x1f" + "\t".join(text.right)
        digest.update(line.encode() + b"\n")
    return digest.hexdigest()[:32]


def read_cache(transformer: TransformerInput, sentences: list[list[str]], path) -> bool:
    """Fill ``transformer.features`` (and ``pieces``) for ``sentences`` from the file ``path``; False if it is
    missing, damaged or not of their shapes."""
    try:
        tensors = load_file(path)
        rows = torch.split(tensors["features"], tensors["lengths"].tolist())
        pieces = torch.split(tensors["pieces"], tensors["piece_lengths"].tolist()) if transformer.tune_layers \
            else [None] * len(rows)
    except (SafetensorError, OSError, KeyError, RuntimeError):
        return False  # a damaged file is recomputed and replaced
    if len(rows) != len(sentences) or len(pieces) != len(rows) or rows[0].shape[1] != transformer.n_cached:
        return False
    for words, row, states in zip(sentences, rows, pieces):
        transformer.features[tuple(words)] = row
        if states is not None:
            transformer.pieces[tuple(words)] = states
    return True


def cached_features(transformer: TransformerInput, sentences: list[list[str]], directory,
                    progress: bool = False) -> bool:
    """Fill ``transformer.features`` for ``sentences`` (word lists; the empty ones are skipped): from
    ``directory``'s file for them when there is one (True), else computed and written there (False).
    ``directory`` empty: computed, nothing written."""
    sentences = [s for s in sentences if words_of(s)]
    if not directory:
        transformer.precompute(sentences, progress=progress)
        return False
    identity, tune_layers = transformer.identity, transformer.tune_layers
    name = cache_key(identity, transformer.pooling, sentences, tune_layers)
    path = Path(directory).expanduser() / f"{name}.safetensors"
    if sentences and path.is_file() and read_cache(transformer, sentences, path):
        return True
    transformer.precompute(sentences, progress=progress)
    tensors = {"features": torch.cat([transformer.features[tuple(s)] for s in sentences]),  # (n_words, n_cached, size)
               "lengths": torch.tensor([len(words_of(s)) for s in sentences])}
    if tune_layers:
        pieces = [transformer.pieces[tuple(s)] for s in sentences]
        tensors |= {"pieces": torch.cat(pieces), "piece_lengths": torch.tensor([len(p) for p in pieces])}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        save_tensors(tensors, path, {"encoder": json.dumps(identity), "pooling": transformer.pooling,
                                     "tune_layers": str(tune_layers)})
    except OSError as e:
        warnings.warn(f"{path.parent}: cannot write the transformer feature cache ({e.strerror or e}); "
                      "going on without it", stacklevel=2)
    return False
