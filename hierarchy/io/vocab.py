"""A string <-> index table, and the word helpers the vocabularies and word vectors share."""
from __future__ import annotations

from hierarchy.io.pairs import Pair

PAD, UNK = "<pad>", "<unk>"


class Vocab:
    """A string <-> index table. Word and character tables reserve 0 for padding and 1 for unknown."""

    def __init__(self, items, specials=(PAD, UNK)):
        self.itos = list(specials) + [s for s in items if s not in specials]
        self.stoi = {s: i for i, s in enumerate(self.itos)}
        self.unk = self.stoi.get(UNK)

    def __len__(self):
        return len(self.itos)

    def __getitem__(self, s: str) -> int:
        index = self.stoi.get(s, self.unk)
        if index is None:
            raise KeyError(s)
        return index

    def __contains__(self, s: str) -> bool:
        return s in self.stoi


def normalize(word: str) -> str:
    """The key of a word embedding: lowercased, digits folded to 0 (characters keep the original form)."""
    return "".join("0" if c.isdigit() else c for c in word.lower())


def sentences_of(items):
    """The sentences of a corpus: those of a sentence corpus, each pair's premise and hypothesis of a pair corpus,
    each document's sentences of a document corpus."""
    for item in items:
        yield from item.sentences if isinstance(item, Pair) or hasattr(item, "offsets") else (item,)
