"""The vocabularies of a model: words, characters and the label sets of each task, stored as JSON."""
from __future__ import annotations

import json
from collections import Counter

from hierarchy.io.errors import ConfigError
from hierarchy.io.fileio import atomic_write, read_text
from hierarchy.io.vocab import Vocab, normalize, sentences_of
from hierarchy.tasks import TASKS


class Vocabs:
    """All tables of one model: ``words``, ``chars`` and a label table per annotation (``upos``, ``rels``...)."""

    def __init__(self, words: Vocab, chars: Vocab, labels: dict[str, Vocab], vectors: Vocab | None = None,
                 vectors_dim: int = 0, encoder: dict | None = None):
        self.words, self.chars, self.labels = words, chars, labels
        self.vectors, self.vectors_dim = vectors, vectors_dim  # the words of the static vectors kept, and their size
        self.encoder = encoder  # the transformer input's identity ({"name", "config_sha256"}), checked at load

    @classmethod
    def build(cls, corpora: dict[str, list], min_freq: int = 2) -> "Vocabs":
        """Build from ``{task: sentences}`` (``{task: pairs}`` for the pair tasks): words and characters from every
        corpus, each task's label tables (its spec's ``labels``) from its own."""
        words, chars = Counter(), Counter()
        for items in {id(items): items for items in corpora.values()}.values():  # a corpus shared by tasks counts once
            for s in sentences_of(items):
                words.update(normalize(w) for w in s.words)
                for w in s.words:
                    chars.update(w)
        labels = {}
        for task, items in corpora.items():
            labels.update(TASKS[task].labels(items))
        return cls(
            Vocab(sorted(w for w, n in words.items() if n >= min_freq)),
            Vocab(sorted(chars)),
            labels,
        )

    def to_json(self) -> dict:
        table = {"words": self.words.itos, "chars": self.chars.itos,
                 "labels": {k: v.itos for k, v in self.labels.items()}}
        if self.vectors is not None:
            table["vectors"] = {"words": self.vectors.itos, "dim": self.vectors_dim}
        if self.encoder is not None:
            table["encoder"] = self.encoder
        return table

    @classmethod
    def from_json(cls, table: dict) -> "Vocabs":
        """The tables of :meth:`to_json`; a TypeError or ValueError names what is not as it should be."""
        strings = lambda items: isinstance(items, list) and all(isinstance(s, str) for s in items)  # noqa: E731
        vectors = table.get("vectors")
        if not (strings(table["words"]) and strings(table["chars"]) and isinstance(table["labels"], dict)
                and all(strings(v) for v in table["labels"].values())):
            raise TypeError("expected lists of strings: words, chars and each table of labels")
        if vectors is not None and not (isinstance(vectors, dict) and strings(vectors["words"])
                                        and isinstance(vectors["dim"], int) and vectors["dim"] > 0):
            raise TypeError("expected vectors with a list of words and a positive dim")
        if table.get("encoder") is not None and not isinstance(table["encoder"], dict):
            raise TypeError("expected the encoder's identity as a table")
        return cls(
            Vocab(table["words"]), Vocab(table["chars"]),
            {k: Vocab(v, specials=()) for k, v in table["labels"].items()},
            Vocab(vectors["words"]) if vectors else None, vectors["dim"] if vectors else 0, table.get("encoder"),
        )

    def save(self, path) -> None:
        with atomic_write(path) as f:
            json.dump(self.to_json(), f, ensure_ascii=False)

    @classmethod
    def load(cls, path) -> "Vocabs":
        text = read_text(path, "the model's vocab.json")
        try:
            return cls.from_json(json.loads(text))
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError, ValueError) as e:
            raise ConfigError(f"{path}: not a valid vocabulary file ({type(e).__name__}: {e})") from None
