"""Length-bucketed batches: padding, masks and gold tensors, moved to a device in one call."""
from __future__ import annotations

import random
from dataclasses import dataclass, field

import torch

from hierarchy.core.vocab import Vocabs
from hierarchy.io.documents import Document
from hierarchy.io.pairs import Pair
from hierarchy.io.vectors import lookup
from hierarchy.io.vocab import normalize
from hierarchy.modules.transformer import InContext

MAX_WORD_CHARS = 20  # longer words keep their first 20 characters for the character encoder
UNK_ROW = 1  # the static vectors' row of a word they do not have (0 is padding)


@dataclass
class Batch:
    """One batch of sentences from one corpus.

    ``words`` ``[batch_size, seq_len]``; ``chars`` ``[n_types, n_chars]``, the character ids of each distinct word
    form of the batch (row 0, all padding, stands for no word), and ``types`` ``[batch_size, seq_len]``, each
    word's row of ``chars`` (0 on padding); ``mask`` ``[batch_size, seq_len]`` (True on words); ``lens``
    ``[batch_size]`` on the CPU; ``gold``: the tensors the tasks' specs build (``TaskSpec.gold``), e.g. ``upos``
    ``[batch_size, seq_len]`` with -100 where absent. ``index`` gives each row's position in the list the batch was
    cut from.

    A batch of ``n_pairs`` sentence pairs (:func:`make_pair_batch`) has ``2 * n_pairs`` rows, the premises then
    the hypotheses; its ``index`` holds the pairs' positions and its gold is per pair (``[n_pairs]``).
    """

    words: torch.Tensor
    chars: torch.Tensor
    mask: torch.Tensor
    lens: torch.Tensor
    gold: dict[str, torch.Tensor] = field(default_factory=dict)
    index: list[int] = field(default_factory=list)
    inject: torch.Tensor | None = None  # an injected parse for a syntax head: each word's head position, self at root
    types: torch.Tensor | None = None  # each word's row of ``chars``
    vectors: torch.Tensor | None = None  # each word's row of the static vectors (models with vectors)
    texts: list = field(default_factory=list)  # each row's words, or InContext (what a transformer input reads)
    inputs: dict[str, torch.Tensor] = field(default_factory=dict)  # what tasks read besides words (TaskSpec.inputs)

    def to(self, device) -> Batch:
        gold = {k: v.to(device, non_blocking=True) for k, v in self.gold.items()}
        return Batch(
            self.words.to(device, non_blocking=True),
            self.chars.to(device, non_blocking=True),
            self.mask.to(device, non_blocking=True),
            self.lens,
            gold,
            self.index,
            None if self.inject is None else self.inject.to(device, non_blocking=True),
            self.types.to(device, non_blocking=True),
            None if self.vectors is None else self.vectors.to(device, non_blocking=True),
            self.texts,
            {k: v.to(device, non_blocking=True) for k, v in self.inputs.items()},
        )

    def n_words(self) -> int:
        return int(self.lens.sum())


def make_batch(sentences, vocabs: Vocabs, index: list[int] | None = None, inject=None, specs=()) -> Batch:
    """Pad ``sentences`` into tensors, with the gold tensors of the task ``specs`` (none for annotation). With
    ``inject`` (a task's ``TaskSpec.inject``), ``batch.inject`` holds the parse the sentences carry, which a syntax
    head attends to (LISA). Each distinct word form of the batch has one row of ``chars``."""
    n, seq_len = len(sentences), max(len(s) for s in sentences)
    n_chars = min(MAX_WORD_CHARS, max(len(w) for s in sentences for w in s.words))
    forms = {}  # word form -> (its row of ``chars``, its word id); row 0 (no characters) is the padding's
    char_ids, unk = vocabs.chars.stoi, vocabs.chars.unk
    char_rows, word_rows, type_rows = [[0] * n_chars], [], []
    for s in sentences:
        words, types = [], []
        for w in s.words:
            known = forms.get(w)
            if known is None:
                ids = [char_ids.get(c, unk) for c in w[:n_chars]]
                char_rows.append(ids + [0] * (n_chars - len(ids)))
                known = forms[w] = (len(char_rows) - 1, vocabs.words[normalize(w)])
            types.append(known[0])
            words.append(known[1])
        pad = [0] * (seq_len - len(s))
        word_rows.append(words + pad)
        type_rows.append(types + pad)
    lens = torch.tensor([len(s) for s in sentences])
    mask = torch.arange(seq_len)[None, :] < lens[:, None]
    types = torch.tensor(type_rows)
    vectors = None
    if vocabs.vectors is not None:  # one lookup per distinct form (row 0 of ``chars``, padding, gets row 0)
        table = vocabs.vectors.stoi
        vectors = torch.tensor([0] + [lookup(table, w, UNK_ROW) for w in forms])[types]  # (batch, seq)
    batch = Batch(torch.tensor(word_rows), torch.tensor(char_rows), mask, lens,
                  gold_tensors(specs, sentences, vocabs, seq_len), list(range(n)) if index is None else index,
                  types=types, vectors=vectors, texts=[transformer_text(s) for s in sentences])
    if inject is not None:
        batch.inject = inject.positions(sentences, seq_len)
    return batch


def transformer_text(sentence):
    """What a transformer input reads of ``sentence``: its words, or with ``extra["context"]`` (see
    :func:`hierarchy.io.documents.with_context`) its words :class:`~hierarchy.modules.transformer.InContext`."""
    context = sentence.get("context")
    if context is None:
        return sentence.words
    return InContext(tuple(context[0]), tuple(sentence.words), tuple(context[1]))


def make_pair_batch(pairs, vocabs: Vocabs, index: list[int] | None = None, specs=()) -> Batch:
    """Pad the premises, then the hypotheses of ``pairs`` into one batch of ``2 * len(pairs)`` rows, with the gold
    tensors of the pair task ``specs``."""
    batch = make_batch([p.premise for p in pairs] + [p.hypothesis for p in pairs], vocabs)
    batch.index = list(range(len(pairs))) if index is None else index
    batch.gold = gold_tensors(specs, pairs, vocabs, 0)
    return batch


def make_document_batch(document: Document, vocabs: Vocabs, index: list[int] | None = None, specs=(),
                        readers=()) -> Batch:
    """One document's sentences (empty ones left out) as the rows of a batch, in order, so that its words in
    document order are ``states[batch.mask]``; the gold tensors of the task ``specs`` (training), and the ``inputs``
    (:attr:`Batch.inputs`) of those and of the task specs ``readers`` (prediction)."""
    batch = make_batch([s for s in document.sentences if len(s)], vocabs)
    batch.index = [0] if index is None else index
    batch.gold = gold_tensors(specs, [document], vocabs, 0)
    batch.inputs = {k: v for spec in (*specs, *readers) if spec.inputs for k, v in spec.inputs([document]).items()}
    return batch


def gold_tensors(specs, items, vocabs: Vocabs, seq_len: int) -> dict[str, torch.Tensor]:
    """The gold tensors of a batch of ``items`` (sentences, or pairs), as each task spec builds them."""
    return {name: tensor for spec in specs for name, tensor in spec.gold(items, vocabs, seq_len).items()}


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


def batches(sentences, vocabs: Vocabs, batch_tokens: int, shuffle: bool = False, rng: random.Random | None = None,
            inject=None, specs=()):
    """Yield :class:`Batch` objects over ``sentences`` (lazily, so a large corpus is padded one batch at a time);
    ``inject``: see :func:`make_batch`; ``specs``: the tasks whose gold tensors to build.

    Over a list of :class:`~hierarchy.io.documents.Document` each batch is one document, in the list's order or
    shuffled (:func:`make_document_batch`). Over a list of :class:`~hierarchy.io.Pair` the batches are pair batches,
    bucketed by the longer sentence of each pair (a pair pads to ``2 * max(len(premise), len(hypothesis))`` words).
    """
    if sentences and isinstance(sentences[0], Document):  # a batch a document
        order = list(range(len(sentences)))
        if shuffle:
            rng.shuffle(order)
        for i in order:
            yield make_document_batch(sentences[i], vocabs, [i], specs)
        return
    pairs = bool(sentences) and isinstance(sentences[0], Pair)
    lengths = [2 * max(len(p.premise), len(p.hypothesis)) if pairs else len(p) for p in sentences]
    for group in buckets(lengths, batch_tokens, shuffle, rng):
        items = [sentences[i] for i in group]
        yield make_pair_batch(items, vocabs, group, specs) if pairs else make_batch(items, vocabs, group, inject, specs)
