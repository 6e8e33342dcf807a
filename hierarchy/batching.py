"""Length-bucketed batches: padding, masks and gold tensors, moved to a device in one call."""
from __future__ import annotations

import random
from dataclasses import dataclass, field

import torch

from .corpus.pairs import Pair
from .vocab import Vocabs, normalize

MAX_WORD_CHARS = 20  # longer words keep their first 20 characters for the character encoder
GOLD_FIELDS = ("upos", "xpos", "chunks", "rels")  # label fields; ``heads`` is handled apart


@dataclass
class Batch:
    """One batch of sentences from one corpus.

    ``words`` ``[batch_size, seq_len]``, ``chars`` ``[batch_size, seq_len, n_chars]``, ``mask`` ``[batch_size, seq_len]``
    (True on words), ``lens`` ``[batch_size]`` on the CPU, ``gold`` maps an annotation (``upos``, ``xpos``,
    ``chunks``, ``rels``, ``heads``) to ``[batch_size, seq_len]``, -100 where it is absent. ``index`` gives each
    row's position in the list the batch was cut from.

    A batch of ``n_pairs`` sentence pairs (:func:`make_pair_batch`) has ``2 * n_pairs`` rows, the premises then
    the hypotheses; its ``index`` holds the pairs' positions and its gold ``score`` ``[n_pairs]`` (float, NaN where
    absent) and ``label`` ``[n_pairs]`` (-100 where absent).
    """

    words: torch.Tensor
    chars: torch.Tensor
    mask: torch.Tensor
    lens: torch.Tensor
    gold: dict[str, torch.Tensor] = field(default_factory=dict)
    index: list[int] = field(default_factory=list)

    def to(self, device) -> "Batch":
        gold = {k: v.to(device, non_blocking=True) for k, v in self.gold.items()}
        return Batch(
            self.words.to(device, non_blocking=True),
            self.chars.to(device, non_blocking=True),
            self.mask.to(device, non_blocking=True),
            self.lens,
            gold,
            self.index,
        )

    def n_words(self) -> int:
        return int(self.lens.sum())


def make_batch(sentences, vocabs: Vocabs, index: list[int] | None = None) -> Batch:
    """Pad ``sentences`` into tensors; gold labels unknown to the vocabulary become -100 (not supervised)."""
    n, seq_len = len(sentences), max(len(s) for s in sentences)
    n_chars = min(MAX_WORD_CHARS, max(len(w) for s in sentences for w in s.words))
    words = torch.zeros(n, seq_len, dtype=torch.long)
    chars = torch.zeros(n, seq_len, n_chars, dtype=torch.long)
    gold = {}
    for i, s in enumerate(sentences):
        words[i, : len(s)] = torch.tensor([vocabs.words[normalize(w)] for w in s.words])
        for j, w in enumerate(s.words):
            ids = [vocabs.chars[c] for c in w[:n_chars]]
            chars[i, j, : len(ids)] = torch.tensor(ids)
        for name in GOLD_FIELDS:
            values = getattr(s, name)
            if values is None or name not in vocabs.labels:
                continue
            table = vocabs.labels[name].stoi
            tensor = gold.setdefault(name, torch.full((n, seq_len), -100, dtype=torch.long))
            tensor[i, : len(s)] = torch.tensor([table.get(v, -100) for v in values])
        if s.heads is not None:
            tensor = gold.setdefault("heads", torch.full((n, seq_len), -100, dtype=torch.long))
            tensor[i, : len(s)] = torch.tensor(s.heads)
    lens = torch.tensor([len(s) for s in sentences])
    mask = torch.arange(seq_len)[None, :] < lens[:, None]
    return Batch(words, chars, mask, lens, gold, list(range(n)) if index is None else index)


def make_pair_batch(pairs, vocabs: Vocabs, index: list[int] | None = None) -> Batch:
    """Pad the premises, then the hypotheses of ``pairs`` into one batch of ``2 * len(pairs)`` rows, with the
    pairs' gold relatedness ``score`` and entailment ``label`` (an index into ``vocabs.labels["entailment"]``)."""
    batch = make_batch([p.premise for p in pairs] + [p.hypothesis for p in pairs], vocabs)
    batch.index = list(range(len(pairs))) if index is None else index
    batch.gold["score"] = torch.tensor([float("nan") if p.score is None else p.score for p in pairs])
    labels = vocabs.labels["entailment"].stoi if "entailment" in vocabs.labels else {}
    batch.gold["label"] = torch.tensor([labels.get(p.label, -100) for p in pairs], dtype=torch.long)
    return batch


def buckets(lengths: list[int], batch_tokens: int, shuffle: bool = False, rng: random.Random | None = None):
    """Group sentence indices into batches of similar length with about ``batch_tokens`` padded words each.

    >>> buckets([3, 9, 4, 8], batch_tokens=10)
    [[0, 2], [3], [1]]
    """
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], rng.random() if shuffle else i))
    batches, current = [], []
    for i in order:
        if current and (len(current) + 1) * lengths[i] > batch_tokens:
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    if shuffle:
        rng.shuffle(batches)
    return batches


def batches(sentences, vocabs: Vocabs, batch_tokens: int, shuffle: bool = False, rng: random.Random | None = None):
    """Yield :class:`Batch` objects over ``sentences`` (lazily, so a large corpus is padded one batch at a time).

    Over a list of :class:`~hierarchy.corpus.Pair` the batches are pair batches, bucketed by the longer sentence
    of each pair (a pair pads to ``2 * max(len(premise), len(hypothesis))`` words).
    """
    if sentences and isinstance(sentences[0], Pair):
        lengths, make = [2 * max(len(p.premise), len(p.hypothesis)) for p in sentences], make_pair_batch
    else:
        lengths, make = [len(s) for s in sentences], make_batch
    for group in buckets(lengths, batch_tokens, shuffle, rng):
        yield make([sentences[i] for i in group], vocabs, group)
