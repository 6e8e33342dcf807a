"""A pretrained transformer as layer 0: a local Hugging Face model directory (:mod:`hierarchy.modules.pretrained`),
its subword pieces pooled to words, a learned scalar mix over its layers (ELMo / UDify), overlapping windows for
sentences longer than the model takes.

Frozen, the encoder is not a submodule (not saved with the model, not trained, always in eval mode) and its per-word
states can be computed once per corpus (:meth:`TransformerInput.precompute`, cached on disk by
:mod:`hierarchy.core.features`). With ``tune_layers`` = k its top k layers are a submodule that trains: what is cached
then is the states below them (for the mix) and, per piece, the input of the first of them, over which they run
(:meth:`TransformerInput.run_tuned`). Fine-tuned whole (``freeze=False``), it is an ordinary submodule.
"""
from __future__ import annotations

import bisect
from functools import cached_property
from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn

from hierarchy.io.errors import ConfigError
from hierarchy.modules.mix import ScalarMix
from hierarchy.modules.pretrained import encoder_identity, load_encoder

PIECES_PER_CALL = 4096  # padded pieces per encoder call
STORED = torch.float16  # cached states' dtype (half the memory); states computed on the fly are rounded to it too


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


class InContext(NamedTuple):
    """A sentence's ``words`` with words of its neighbours in the document on each side (FLERT's document context,
    Schweter & Akbik 2020): the encoder reads all of them, only ``words`` get vectors. Hashable: a cache key."""

    left: tuple
    words: tuple
    right: tuple


def words_of(text) -> list[str] | tuple:
    """The words that get vectors: a sentence's words, or those of an :class:`InContext`."""
    return text.words if isinstance(text, InContext) else text


def round_stored(states: torch.Tensor) -> torch.Tensor:
    """``states`` rounded to :data:`STORED` and back: what a cache gives back of them."""
    return states.to(STORED).to(states.dtype)


def round_input(layer, args, kwargs):
    """A forward pre-hook on the first tuned layer: its input rounded as a cached one is, so that a sentence scores
    the same whether its states were cached or computed on the fly."""
    if args:
        return (round_stored(args[0]), *args[1:]), kwargs
    return args, {**kwargs, "hidden_states": round_stored(kwargs["hidden_states"])}


def encoder_layers(model) -> nn.ModuleList | None:
    """The encoder's stack of ``num_hidden_layers`` layers (``encoder.layer`` in BERT, RoBERTa, XLM-R, MiniLM...)."""
    n = model.config.num_hidden_layers
    return next((m for m in model.modules() if isinstance(m, nn.ModuleList) and len(m) == n), None)


def by_length(lengths: list[int]) -> list[list[int]]:
    """The indices of rows of ``lengths`` pieces in groups of similar length, about :data:`PIECES_PER_CALL` padded
    pieces a group, shortest first.

    >>> by_length([3000, 5, 2000, 6])
    [[1, 3], [2], [0]]
    """
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    groups, start = [], 0
    while start < len(order):
        end = start + 1
        while end < len(order) and (end - start + 1) * lengths[order[end]] <= PIECES_PER_CALL:
            end += 1
        groups.append(order[start:end])
        start = end
    return groups


class TransformerInput(nn.Module):
    """``texts`` (each sentence's words, or an :class:`InContext`) -> ``[batch_size, seq_len, size]``: the scalar
    mix of the encoder's layers (the embedding output and each layer's), one vector per word pooled from its pieces
    (``first`` or ``mean``). ``context``: how many words of its neighbours a sentence is read with, on each side
    (its sentences come :class:`InContext`, keyed with it in the caches); 0: alone.

    ``freeze``: the encoder's weights are its directory's and the states of sentences given to :meth:`precompute`
    are looked up (others are computed on the fly); with ``tune_layers`` = k its top k layers are fine-tuned over
    the cached input of the first of them. Otherwise the whole encoder is fine-tuned with the rest.
    """

    def __init__(self, path, pooling: str = "first", freeze: bool = True, pretrained: bool = True,
                 tune_layers: int = 0, context: int = 0):
        super().__init__()
        self.context = context
        model, self.tokenizer = load_encoder(path, pretrained)
        self.path, self.pooling, self.freeze, self.tune_layers = Path(path), pooling, freeze, tune_layers
        config = model.config
        self.size, self.n_layers = config.hidden_size, config.num_hidden_layers + 1
        if tune_layers and not freeze:
            raise ValueError("tune_layers tunes the top layers of a frozen encoder (freeze=True)")
        if tune_layers > config.num_hidden_layers:
            raise ConfigError(f"model.transformer.tune_layers is {tune_layers}, but {path} has "
                              f"{config.num_hidden_layers} layers")
        self.n_cached = self.n_layers - tune_layers if freeze else 0  # the states below the tuned layers
        if freeze:
            model.eval().requires_grad_(False)
            self.__dict__["encoder"] = model  # not a submodule: not in state_dict(), parameters() or train()
        else:
            self.encoder = model
        if tune_layers:
            layers = encoder_layers(model)
            if layers is None:
                raise ConfigError(f"{path}: tune_layers needs an encoder with a list of its {self.n_layers - 1} "
                                  f"layers, and {config.model_type} has none")
            self.tuned = layers[len(layers) - tune_layers :].requires_grad_(True)  # the same modules: a submodule
            self.tuned[0].register_forward_pre_hook(round_input, with_kwargs=True)
        self.mix = ScalarMix(self.n_layers)
        limits = [getattr(config, "max_position_embeddings", None), self.tokenizer.model_max_length]
        probe = self.tokenizer([["x"]], is_split_into_words=True)  # where the special tokens go
        ids, word_ids = probe["input_ids"][0], probe.word_ids(0)
        first, last = word_ids.index(0), len(word_ids) - 1 - word_ids[::-1].index(0)
        self.prefix, self.suffix = ids[:first], ids[last + 1 :]
        limit = min([n for n in limits if n and n < 1e6] or [512])
        self.max_pieces = max(limit - len(self.prefix) - len(self.suffix), 1)
        self.features: dict[tuple, torch.Tensor] = {}  # tuple(text) -> [n_words, n_cached, size]
        self.pieces: dict[tuple, torch.Tensor] = {}  # tuned: tuple(text) -> [n_pieces, size], the tuned layers' input
        if tune_layers and torch.empty(()).device.type != "meta":
            self.check_split()

    @cached_property
    def identity(self) -> dict:
        """:func:`encoder_identity` of the encoder directory (with the weights' hash when frozen: a frozen
        encoder's weights are not the model's), computed once."""
        return encoder_identity(self.path, weights=self.freeze)

    def tuned_parameters(self) -> list[nn.Parameter]:
        """The encoder's parameters that train (with their own learning rate): all of them, the tuned layers', or
        none."""
        if not self.freeze:
            return list(self.encoder.parameters())
        return list(self.tuned.parameters()) if self.tune_layers else []

    def _apply(self, fn, *args, **kwargs):
        super()._apply(fn, *args, **kwargs)
        if self.freeze:
            self.encoder._apply(fn, *args, **kwargs)  # .to(device) moves the frozen encoder too (the tuned again)
        return self

    def forward(self, texts: list[list[str]], seq_len: int) -> torch.Tensor:
        device = self.mix.weights.device
        found = [i for i, text in enumerate(texts) if tuple(text) in self.features]
        missing = [i for i, text in enumerate(texts) if tuple(text) not in self.features]
        if not missing:  # in training, every sentence
            return self.mix(self.cached(texts, seq_len))
        layers = torch.zeros(len(texts), seq_len, self.n_layers, self.size, device=device)
        if found:
            layers[found] = self.cached([texts[i] for i in found], seq_len)
        with torch.set_grad_enabled(torch.is_grad_enabled() and (not self.freeze or self.tune_layers > 0)):
            computed = self.encode([texts[i] for i in missing], seq_len)
        # the part a cache would hold rounded as it is, so a sentence scores the same either way
        computed = torch.cat([round_stored(computed[:, :, : self.n_cached]), computed[:, :, self.n_cached :]], 2)
        layers = layers.to(computed.dtype)
        layers[missing] = computed
        return self.mix(layers)  # (batch, seq, size)

    def cached(self, texts: list[list[str]], seq_len: int) -> torch.Tensor:
        """``[len(texts), seq_len, n_layers, size]`` of sentences in :attr:`features`: their cached states, and
        the tuned layers' run over the cached input of the first of them."""
        below = torch.zeros(len(texts), seq_len, self.n_cached, self.size, dtype=STORED)
        for i, text in enumerate(texts):
            features = self.features[tuple(text)]
            below[i, : len(features)] = features
        device = self.mix.weights.device
        below = below.to(device).float()  # the cached features: one copy to the device per batch
        if not self.tune_layers:
            return below
        rows, select, _ = self.layout(texts, seq_len)
        lengths = [len(r) for r in rows]
        states = torch.cat([self.pieces[tuple(text)] for text in texts]).to(device).float()  # (sum(lengths), size)
        return torch.cat([below, self.pool(self.run_tuned(states, lengths), select, lengths, len(texts), seq_len)], 2)

    def encode(self, texts: list[list[str]], seq_len: int) -> torch.Tensor:
        """``[len(texts), seq_len, n_layers, size]``: run the encoder over every window of every sentence in one
        batch and pool each word's pieces."""
        rows, select, _ = self.layout(texts, seq_len)
        return self.pool(self.run_encoder(rows), select, [len(r) for r in rows], len(texts), seq_len)

    def layout(self, texts: list[list[str]], seq_len: int) -> tuple[list[list[int]], list[tuple], list[int]]:
        """``(rows, select, n_rows)``: each window's piece ids with the special tokens (a sentence's windows one
        after the other), per piece read ``(row, position in it, i * seq_len + w)`` for word ``w`` of sentence
        ``i``, and each sentence's number of windows. A sentence :class:`InContext` is read with its context's
        pieces around its own; only its own words are read out."""
        full = [[*t.left, *t.words, *t.right] if isinstance(t, InContext) else t for t in texts]
        encoded = self.tokenizer(full, is_split_into_words=True, add_special_tokens=False)
        unk = self.tokenizer.unk_token_id
        rows, select, n_rows = [], [], []
        for i, words in enumerate(full):
            first = len(texts[i].left) if isinstance(texts[i], InContext) else 0
            own_words = range(first, first + len(words_of(texts[i])))
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
            n_rows.append(len(starts))
            seen = set()
            for p, (w, k) in enumerate(zip(word_of, owner)):
                if (self.pooling == "first" and w in seen) or w not in own_words:
                    continue
                seen.add(w)
                select.append((first_row + k, len(self.prefix) + p - starts[k], i * seq_len + w - first))
        return rows, select, n_rows

    def pool(self, hidden: torch.Tensor, select: list[tuple], lengths: list[int], n_texts: int,
             seq_len: int) -> torch.Tensor:
        """``[n_texts, seq_len, n, size]``: each word's pieces of ``hidden`` ``[n, sum(lengths), size]`` (the
        states of rows of ``lengths`` pieces, concatenated) pooled as :meth:`layout`'s ``select`` says."""
        device, n = hidden.device, hidden.shape[0]
        offsets = [0]
        for length in lengths:
            offsets.append(offsets[-1] + length)
        at = torch.tensor([offsets[r] + c for r, c, _ in select], device=device)
        word = torch.tensor([w for _, _, w in select], device=device)
        picked = hidden[:, at]  # (n, n_pieces_read, size)
        total = torch.zeros(n, n_texts * seq_len, self.size, device=device, dtype=picked.dtype)
        total.index_add_(1, word, picked)
        counts = torch.zeros(n_texts * seq_len, device=device)
        counts.index_add_(0, word, torch.ones(len(word), device=device))
        total = total / counts.clamp(min=1)[None, :, None].to(total.dtype)  # mean pooling; first: one piece each
        return total.view(n, n_texts, seq_len, self.size).permute(1, 2, 0, 3)

    def run_encoder(self, rows: list[list[int]]) -> torch.Tensor:
        """``[n_layers, sum of the rows' lengths, size]``: every layer's states of every piece of ``rows`` (windows
        with their special tokens), the rows concatenated. The encoder runs on rows of similar length, about
        :data:`PIECES_PER_CALL` padded pieces a call (a short sentence can have many pieces: URLs, numbers)."""
        device, pad = self.mix.weights.device, self.tokenizer.pad_token_id or 0
        states = [None] * len(rows)
        for group in by_length([len(r) for r in rows]):
            width = len(rows[group[-1]])
            ids = torch.tensor([rows[r] + [pad] * (width - len(rows[r])) for r in group], device=device)
            mask = torch.tensor([[1] * len(rows[r]) + [0] * (width - len(rows[r])) for r in group], device=device)
            out = self.encoder(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states
            out = torch.stack(out, 0)  # (n_layers, len(group), width, size)
            for j, r in enumerate(group):
                states[r] = out[:, j, : len(rows[r])]
        return torch.cat(states, 1)

    def run_tuned(self, states: torch.Tensor, lengths: list[int]) -> torch.Tensor:
        """``[tune_layers, sum(lengths), size]``: the tuned layers' outputs over ``states`` ``[sum(lengths), size]``,
        the input of the first of them for rows of ``lengths`` pieces (concatenated), each row attending to its own
        pieces only; grouped by length as :meth:`run_encoder` does."""
        rows = list(torch.split(states, lengths))
        out = [None] * len(rows)
        for group in by_length(lengths):
            hidden = nn.utils.rnn.pad_sequence([rows[r] for r in group], batch_first=True)  # (group, width, size)
            mask = nn.utils.rnn.pad_sequence([hidden.new_ones(lengths[r]) for r in group], batch_first=True)
            additive = (1.0 - mask[:, None, None, :]) * torch.finfo(hidden.dtype).min  # (group, 1, 1, width)
            layers = []
            for layer in self.tuned:
                hidden = layer(hidden, additive)
                hidden = hidden[0] if isinstance(hidden, tuple) else hidden  # a tuple before transformers 5
                layers.append(hidden)
            layers = torch.stack(layers)  # (tune_layers, len(group), width, size)
            for j, r in enumerate(group):
                out[r] = layers[:, j, : lengths[r]]
        return torch.cat(out, 1)

    @torch.no_grad()
    def check_split(self) -> None:
        """Refuse an encoder whose top layers cannot run on the cached states alone (they would need more than the
        states below them and the attention mask): two probe windows run through it whole and split."""
        ids = self.tokenizer([["a", "b", "c"]], is_split_into_words=True, add_special_tokens=False)["input_ids"][0]
        rows = [self.prefix + ids + self.suffix, self.prefix + ids[:1] + self.suffix]
        whole = self.run_encoder(rows)
        split = self.run_tuned(round_stored(whole[self.n_cached - 1]), [len(r) for r in rows])
        if not torch.allclose(split, whole[self.n_cached :], atol=1e-4, rtol=1e-3):
            raise ConfigError(f"{self.path}: tune_layers cannot split this encoder ({self.encoder.config.model_type}"
                              "): its layers need more than the states below them; set tune_layers = 0")

    @torch.no_grad()
    def precompute(self, sentences: list[list[str]], batch_words: int = 2000, progress: bool = False) -> None:
        """Compute (frozen) the states of ``sentences`` (word lists, or :class:`InContext`) below the tuned layers
        into :attr:`features` (and the tuned layers' input into :attr:`pieces`), in batches of about
        ``batch_words`` words, stored as :data:`STORED`."""
        def size(text) -> int:
            return len(words_of(text))

        todo = sorted({tuple(s) if not isinstance(s, InContext) else s for s in sentences
                       if size(s) and tuple(s) not in self.features}, key=size)
        from tqdm import tqdm

        bar = tqdm(total=sum(map(size, todo)), desc="transformer features", unit="word", leave=False,
                   disable=not progress)
        start = 0
        while start < len(todo):
            end = start + 1
            while end < len(todo) and (end - start + 1) * size(todo[end]) <= batch_words:
                end += 1
            group = todo[start:end]
            rows, select, n_rows = self.layout([s if isinstance(s, InContext) else list(s) for s in group],
                                              size(group[-1]))
            lengths = [len(r) for r in rows]
            hidden = self.run_encoder(rows)  # (n_layers, sum(lengths), size)
            below = self.pool(hidden[: self.n_cached], select, lengths, len(group), size(group[-1]))
            for s, row in zip(group, below.to("cpu", STORED)):
                self.features[s] = row[: size(s)].clone()
            if self.tune_layers:
                sizes, at = [], 0
                for n in n_rows:  # each sentence's pieces over its windows
                    sizes.append(sum(lengths[at : at + n]))
                    at += n
                entering = hidden[self.n_cached - 1].to("cpu", STORED)  # (sum(lengths), size)
                for s, states in zip(group, torch.split(entering, sizes)):
                    self.pieces[s] = states.clone()
            bar.update(sum(map(size, group)))
            start = end
        bar.close()
