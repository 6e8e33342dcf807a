"""A pretrained transformer as layer 0: a local Hugging Face model directory, its subword pieces pooled to words, a
learned scalar mix over its layers (ELMo / UDify), overlapping windows for sentences longer than the model takes.

Loaded with ``transformers`` (the ``transformers`` extra) from the directory only, never from the network. Frozen,
the encoder is not a submodule (not saved with the model, not trained, always in eval mode) and its per-word
features can be computed once per corpus (:meth:`TransformerInput.precompute`, cached on disk by
:mod:`hierarchy.core.features`); fine-tuned, it is an ordinary submodule.
"""
from __future__ import annotations

import bisect
import hashlib
import json
from functools import cached_property
from pathlib import Path

import torch
from torch import nn

from hierarchy.io.errors import ConfigError
from hierarchy.modules.mix import ScalarMix

# what [model.transformer] path names
ENCODER_EXPECTED = "a local Hugging Face model directory, or an installed Python package that ships one"

PIECES_PER_CALL = 4096  # padded pieces per encoder call
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


def windows(n: int, size: int) -> tuple[list[int], list[int]]:
    """Cover ``n`` pieces with windows of ``size`` pieces that overlap by half: ``(starts, owner)``, where piece
    ``p`` is read from window ``owner[p]``, the one in which it has the most context on its nearer side.

    >>> windows(5, 8)
    ([0], [0, 0, 0, 0, 0])
    >>> windows(10, 4)
    ([0, 2, 4, 6], [0, 0, 0, 1, 1, 2, 2, 3, 3, 3])
    """
    stride = max(size // 2, 1)
    starts = list(range(0, max(n - size, 0) + 1, stride))
    if starts[-1] + size < n:
        starts.append(n - size)
    owner = []
    for p in range(n):
        last = bisect.bisect_right(starts, p)  # windows 0..last-1 start at or before p; at most 4 contain it
        inside = [w for w in range(max(last - 4, 0), last) if p < starts[w] + size]
        owner.append(max(inside, key=lambda w: (min(p - starts[w], starts[w] + size - 1 - p), -w)))
    return starts, owner


class TransformerInput(nn.Module):
    """``texts`` (each sentence's words) -> ``[batch_size, seq_len, size]``: the scalar mix of the encoder's layers
    (the embedding output and each layer's), one vector per word pooled from its pieces (``first`` or ``mean``).

    ``freeze``: the encoder is fixed and features of sentences given to :meth:`precompute` are looked up; others
    are computed on the fly. Otherwise the encoder is fine-tuned with the rest.
    """

    def __init__(self, path, pooling: str = "first", freeze: bool = True, pretrained: bool = True):
        super().__init__()
        model, self.tokenizer = load_encoder(path, pretrained)
        self.path, self.pooling, self.freeze = Path(path), pooling, freeze
        if freeze:
            model.eval().requires_grad_(False)
            self.__dict__["encoder"] = model  # not a submodule: not in state_dict(), parameters() or train()
        else:
            self.encoder = model
        config = model.config
        self.size, self.n_layers = config.hidden_size, config.num_hidden_layers + 1
        self.mix = ScalarMix(self.n_layers)
        limits = [getattr(config, "max_position_embeddings", None), self.tokenizer.model_max_length]
        probe = self.tokenizer([["x"]], is_split_into_words=True)  # where the special tokens go
        ids, word_ids = probe["input_ids"][0], probe.word_ids(0)
        first, last = word_ids.index(0), len(word_ids) - 1 - word_ids[::-1].index(0)
        self.prefix, self.suffix = ids[:first], ids[last + 1 :]
        limit = min([n for n in limits if n and n < 1e6] or [512])
        self.max_pieces = max(limit - len(self.prefix) - len(self.suffix), 1)
        self.features: dict[tuple, torch.Tensor] = {}  # frozen: tuple(words) -> [n_words, n_layers, size]

    @cached_property
    def identity(self) -> dict:
        """:func:`encoder_identity` of the encoder directory (with the weights' hash when frozen: a frozen
        encoder's weights are not the model's), computed once."""
        return encoder_identity(self.path, weights=self.freeze)

    def _apply(self, fn, *args, **kwargs):
        super()._apply(fn, *args, **kwargs)
        if self.freeze:
            self.encoder._apply(fn, *args, **kwargs)  # .to(device) moves the frozen encoder too
        return self

    def forward(self, texts: list[list[str]], seq_len: int) -> torch.Tensor:
        device = self.mix.weights.device
        found = [self.features.get(tuple(words)) for words in texts]
        layers = torch.zeros(len(texts), seq_len, self.n_layers, self.size, dtype=torch.float16)
        for i, features in enumerate(found):
            if features is not None:
                layers[i, : len(features)] = features
        layers = layers.to(device).float()  # the cached features: one copy to the device per batch
        missing = [i for i, features in enumerate(found) if features is None]
        if missing:
            with torch.set_grad_enabled(torch.is_grad_enabled() and not self.freeze):
                computed = self.encode([texts[i] for i in missing], seq_len)
            if self.freeze:  # rounded as the cached features are, so a sentence scores the same either way
                computed = computed.half().to(computed.dtype)
            layers = layers.to(computed.dtype)
            layers[missing] = computed
        return self.mix(layers)  # (batch, seq, size)

    def encode(self, texts: list[list[str]], seq_len: int) -> torch.Tensor:
        """``[len(texts), seq_len, n_layers, size]``: run the encoder over every window of every sentence in one
        batch and pool each word's pieces."""
        encoded = self.tokenizer(texts, is_split_into_words=True, add_special_tokens=False)
        unk = self.tokenizer.unk_token_id
        rows, select = [], []  # each window's ids; per piece read: (window row, position, flat word index)
        for i, words in enumerate(texts):
            pieces, word_of = [], []
            ids, word_ids = encoded["input_ids"][i], encoded.word_ids(i)
            own = [[] for _ in words]
            for piece, w in zip(ids, word_ids):
                own[w].append(piece)
            for w, word_pieces in enumerate(own):  # a word the tokenizer drops (a control character) reads <unk>
                word_pieces = word_pieces or [unk]
                pieces += word_pieces
                word_of += [w] * len(word_pieces)
            starts, owner = windows(len(pieces), self.max_pieces)
            first_row = len(rows)
            for s in starts:
                rows.append(self.prefix + pieces[s : s + self.max_pieces] + self.suffix)
            seen = set()
            for p, (w, k) in enumerate(zip(word_of, owner)):
                if self.pooling == "first" and w in seen:
                    continue
                seen.add(w)
                select.append((first_row + k, len(self.prefix) + p - starts[k], i * seq_len + w))
        device = self.mix.weights.device
        hidden = self.run_encoder(rows)  # (n_layers, total window length, size)
        offsets = [0]
        for r in rows:
            offsets.append(offsets[-1] + len(r))
        at = torch.tensor([offsets[r] + c for r, c, _ in select], device=device)
        word = torch.tensor([w for _, _, w in select], device=device)
        picked = hidden[:, at]  # (n_layers, n_pieces_read, size)
        total = torch.zeros(self.n_layers, len(texts) * seq_len, self.size, device=device, dtype=picked.dtype)
        total.index_add_(1, word, picked)
        counts = torch.zeros(len(texts) * seq_len, device=device)
        counts.index_add_(0, word, torch.ones(len(word), device=device))
        total = total / counts.clamp(min=1)[None, :, None].to(total.dtype)  # mean pooling; first: one piece each
        return total.view(self.n_layers, len(texts), seq_len, self.size).permute(1, 2, 0, 3)

    def run_encoder(self, rows: list[list[int]]) -> torch.Tensor:
        """``[n_layers, sum of the rows' lengths, size]``: every layer's states of every piece of ``rows`` (windows
        with their special tokens), the rows concatenated. The encoder runs on rows of similar length, about
        :data:`PIECES_PER_CALL` padded pieces a call (a short sentence can have many pieces: URLs, numbers)."""
        device, pad = self.mix.weights.device, self.tokenizer.pad_token_id or 0
        order = sorted(range(len(rows)), key=lambda r: len(rows[r]))
        states = [None] * len(rows)
        start = 0
        while start < len(order):
            end = start + 1
            while end < len(order) and (end - start + 1) * len(rows[order[end]]) <= PIECES_PER_CALL:
                end += 1
            group = [rows[r] for r in order[start:end]]
            width = len(group[-1])
            ids = torch.tensor([r + [pad] * (width - len(r)) for r in group], device=device)
            mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in group], device=device)
            out = self.encoder(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states
            out = torch.stack(out, 0)  # (n_layers, len(group), width, size)
            for j, r in enumerate(order[start:end]):
                states[r] = out[:, j, : len(rows[r])]
            start = end
        return torch.cat(states, 1)

    @torch.no_grad()
    def precompute(self, sentences: list[list[str]], batch_words: int = 2000, progress: bool = False) -> None:
        """Compute (frozen) the features of ``sentences`` (word lists) into :attr:`features`, in batches of about
        ``batch_words`` words, stored in half precision."""
        todo = sorted({tuple(s) for s in sentences if s and tuple(s) not in self.features}, key=len)
        from tqdm import tqdm

        bar = tqdm(total=sum(map(len, todo)), desc="transformer features", unit="word", leave=False,
                   disable=not progress)
        start = 0
        while start < len(todo):
            end = start + 1
            while end < len(todo) and (end - start + 1) * len(todo[end]) <= batch_words:
                end += 1
            group = todo[start:end]
            layers = self.encode([list(s) for s in group], len(group[-1])).to("cpu", torch.float16)
            for s, row in zip(group, layers):
                self.features[s] = row[: len(s)].clone()
            bar.update(sum(map(len, group)))
            start = end
        bar.close()
