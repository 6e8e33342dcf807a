"""The one sentence type every reader returns and every writer takes, and the line helpers the readers share."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field, fields, replace
from itertools import islice
from typing import Any

from hierarchy.io.errors import CorpusError
from hierarchy.io.fileio import read_text


@dataclass
class Sentence:
    """A tokenised sentence and whatever gold layers its corpus has; a layer is ``None`` when absent
    (``senses`` and ``roles`` are ``None`` for a sentence without SRL annotation, e.g. ``# propbank = no-up``;
    a sentence annotated with no predicate has ``senses`` all ``"_"`` and ``roles == []``).

    Example::

        Sentence(words=["Dogs", "bark", "."], upos=["NOUN", "VERB", "PUNCT"], heads=[2, 0, 2],
                 rels=["nsubj", "root", "punct"])

    To write predictions, put them in a copy: ``dataclasses.replace(sentence, upos=preds)``.
    """

    words: list[str]
    upos: list[str] | None = None
    xpos: list[str] | None = None
    heads: list[int] | None = None  # 1-based head index per word, 0 = root
    rels: list[str] | None = None  # DEPREL per word
    chunks: list[str] | None = None  # BIO (IOB2) chunk tags, e.g. B-NP I-NP O
    senses: list[str] | None = None  # SRL: roleset per word (``give.01``; a lemma in span files), "_" elsewhere
    # SRL: one label list per predicate, predicates in sentence order. Head-based (CoNLL-U): a role or "_" per
    # word, "V" on the predicate. Span-based (CoNLL-2005): BIO tags per word (B-A0 I-A0 O B-V).
    roles: list[list[str]] | None = None
    source: str = ""  # "path:line" of the sentence's first line, for messages
    meta: Any = None  # what a writer needs to write the sentence back (e.g. the conllu TokenList)
    # the layers of tasks that declare a field of their own (e.g. ``mentions``: BIO tags), by field name
    extra: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.words)

    def get(self, name: str):
        """The layer ``name``: a field above, else one of ``extra``; ``None`` when absent.

        >>> Sentence(["Hi"], upos=["INTJ"], extra={"shape": ["Xx"]}).get("shape")
        ['Xx']
        """
        return getattr(self, name) if name in _FIELDS else self.extra.get(name)

    def with_layers(self, **layers) -> "Sentence":
        """A copy with ``layers`` set: the fields above by name, any other name in ``extra``.

        >>> Sentence(["Hi"]).with_layers(upos=["INTJ"], shape=["Xx"]).extra
        {'shape': ['Xx']}
        """
        own = {k: v for k, v in layers.items() if k in _FIELDS}
        extra = {k: v for k, v in layers.items() if k not in _FIELDS}
        return replace(self, **own, extra={**self.extra, **extra})


_FIELDS = {f.name for f in fields(Sentence)} - {"extra"}


def read_lines(path) -> list[str]:
    """The lines of a UTF-8 text file without their line ends (``\\n``, ``\\r\\n``, or ``\\r`` in a file that
    has no ``\\n``), and without a byte-order mark at its start; raises CorpusError."""
    text = read_text(path, "a corpus file")
    lines = text.split("\n" if "\n" in text or "\r" not in text else "\r")  # old Mac files end lines with CR
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def blocks(lines: list[str], path=None, starts=None):
    """Yield each run of non-blank lines as a list of ``(line_number, line)``, numbered from 1.

    With ``starts`` (a test of a line: may it begin a sentence?), a line of only whitespace followed by a line that
    cannot begin a sentence is a CorpusError: a stray space inside a sentence, not the end of one."""
    block = []
    for number, line in enumerate(lines, 1):
        if line.strip():
            block.append((number, line))
        elif block:
            if line and starts:  # whitespace, not empty: does a sentence begin after it?
                after = next((text for text in islice(lines, number, None) if text.strip()), None)
                if after is not None and not starts(after):
                    raise CorpusError(path, number, "a line of only whitespace inside a sentence (expected an "
                                                    "empty line between sentences, or a token line)")
            yield block
            block = []
    if block:
        yield block


def read_sentences(path, parse, skip_bad: bool = False, starts=None) -> list:
    """Parse each blank-line-separated block of ``path`` with ``parse(path, block)``; see :func:`parse_each`
    (``starts``: see :func:`blocks`)."""
    return parse_each(path, blocks(read_lines(path), path, starts), parse, skip_bad)


def parse_each(path, items, parse, skip_bad: bool = False) -> list:
    """``[parse(path, item) for item in items]``. A CorpusError stops the reading, or with ``skip_bad`` is warned
    about and the item skipped. A file that yields no sentence is an error."""
    sentences = []
    for item in items:
        try:
            sentences.append(parse(path, item))
        except CorpusError as e:
            if not skip_bad:
                raise
            warnings.warn(f"skipping sentence: {e}", stacklevel=3)
    if not sentences:
        raise CorpusError(path, None, "no sentences found" + (" (all were malformed)" if skip_bad else ""))
    return sentences
