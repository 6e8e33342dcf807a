"""Vocabularies: words, characters and the label sets of each task, stored as JSON."""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from functools import cached_property

from .corpus.pairs import LABELS, Pair
from .corpus.srl import word_lemmas
from .errors import ConfigError
from .fileio import atomic_write

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
    """The sentences of a corpus: those of a sentence corpus, each pair's premise and hypothesis of a pair corpus."""
    for item in items:
        yield from item.sentences if isinstance(item, Pair) else (item,)


def srl_labels(sentences) -> dict[str, Vocab]:
    """The SRL tables: ``roles`` (every role label, with ``_`` and ``V``, or ``O`` and ``B-V``, always in),
    ``senses`` (the sense numbers of the rolesets, ``01`` of ``give.01``; none in span corpora, whose senses are
    lemmas), ``sense_lemmas`` (the lemmas seen as predicates, :func:`~hierarchy.tasks.srl.roleset`) and
    ``roleset_lemmas``: ``"word lemma<TAB>roleset lemma"`` for each word lemma whose most frequent roleset names
    another lemma (``service`` -> ``serve.01``, ``thanks`` -> ``thank.01``)."""
    annotated = [s for s in sentences if s.roles is not None]
    renamed = defaultdict(Counter)
    for s in annotated:
        for lemma, sense in zip(word_lemmas(s), s.senses):
            if "." in sense:
                renamed[lemma][sense.rpartition(".")[0]] += 1
    renamed = {lemma: counts.most_common(1)[0][0] for lemma, counts in renamed.items()}
    roles = {label for s in annotated for labels in s.roles for label in labels}
    span = "O" in roles or any(label[:2] in ("B-", "I-") for label in roles)
    roles |= {"O", "B-V"} if span else {"_", "V"}
    rolesets = {sense for s in annotated for sense in s.senses if sense != "_"}
    senses = {r.rpartition(".")[2] for r in rolesets if "." in r}
    lemmas = {r.rpartition(".")[0] if "." in r else r for r in rolesets}
    return {"roles": Vocab(sorted(roles), specials=()), "senses": Vocab(sorted(senses), specials=()),
            "sense_lemmas": Vocab(sorted(lemmas), specials=()),
            "roleset_lemmas": Vocab(sorted(f"{a}\t{b}" for a, b in renamed.items() if a != b), specials=())}


class Vocabs:
    """All tables of one model: ``words``, ``chars`` and a label table per annotation (``upos``, ``rels``...)."""

    def __init__(self, words: Vocab, chars: Vocab, labels: dict[str, Vocab]):
        self.words, self.chars, self.labels = words, chars, labels

    @classmethod
    def build(cls, corpora: dict[str, list], min_freq: int = 2) -> "Vocabs":
        """Build from ``{task: sentences}`` (``{task: pairs}`` for the pair tasks); labels come from the corpus of
        the task that predicts them, except entailment's three fixed classes."""
        words, chars = Counter(), Counter()
        for items in {id(items): items for items in corpora.values()}.values():  # a corpus shared by tasks counts once
            for s in sentences_of(items):
                words.update(normalize(w) for w in s.words)
                for w in s.words:
                    chars.update(w)
        fields = {"pos": ("upos", "xpos"), "chunks": ("chunks",), "deps": ("rels",)}
        labels = {}
        for task, sentences in corpora.items():
            for name in fields.get(task, ()):
                seen = Counter(t for s in sentences for t in (getattr(s, name) or []))
                labels[name] = Vocab(sorted(seen), specials=())
        if "srl" in corpora or "predicates" in corpora:
            labels.update(srl_labels(corpora.get("srl") or corpora["predicates"]))
        if "entailment" in corpora:  # fixed, so that a corpus lacking a class still gives a three-way classifier
            labels["entailment"] = Vocab(LABELS, specials=())
        return cls(
            Vocab(sorted(w for w, n in words.items() if n >= min_freq)),
            Vocab(sorted(chars)),
            labels,
        )

    @cached_property
    def renamed_lemmas(self) -> dict[str, str]:
        """``roleset_lemmas`` as ``{word lemma: roleset lemma}`` (empty for models without it)."""
        return dict(pair.split("\t") for pair in getattr(self.labels.get("roleset_lemmas"), "itos", ()))

    def to_json(self) -> dict:
        return {"words": self.words.itos, "chars": self.chars.itos, "labels": {k: v.itos for k, v in self.labels.items()}}

    @classmethod
    def from_json(cls, table: dict) -> "Vocabs":
        return cls(
            Vocab(table["words"]), Vocab(table["chars"]), {k: Vocab(v, specials=()) for k, v in table["labels"].items()}
        )

    def save(self, path) -> None:
        with atomic_write(path) as f:
            json.dump(self.to_json(), f, ensure_ascii=False)

    @classmethod
    def load(cls, path) -> "Vocabs":
        try:
            with open(path, encoding="utf-8") as f:
                return cls.from_json(json.load(f))
        except FileNotFoundError:
            raise ConfigError(f"{path}: file not found (expected the model's vocab.json)") from None
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise ConfigError(f"{path}: not a valid vocabulary file ({e})") from None
