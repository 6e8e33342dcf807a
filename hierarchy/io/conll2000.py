"""Read CoNLL-2000 chunking files (``WORD POS CHUNK`` per line) and write the ``WORD POS GOLD PRED`` files
that conlleval scores.

Example input, one token per line and a blank line between sentences::

    Dogs NNS B-NP
    bark VBP B-VP
    . . O
"""
from __future__ import annotations

import re

from hierarchy.io.errors import CorpusError
from hierarchy.io.fileio import atomic_write
from hierarchy.io.sentence import Sentence, read_sentences

CHUNK_TAG = re.compile(r"O|[BI]-\S+")


def read_conll2000(path, skip_bad: bool = False) -> list[Sentence]:
    """Read a CoNLL-2000 file into sentences with ``words``, ``xpos`` (PTB tags) and ``chunks``.

    Columns may be separated by spaces, tabs or runs of them. Chunk tags must be ``O``, ``B-X`` or ``I-X``;
    they are kept as written (an IOB1-style ``I-`` after ``O`` stays). ``skip_bad`` warns about and skips
    malformed sentences instead of raising CorpusError.
    """
    return read_sentences(path, _read_sentence, skip_bad)


def _read_sentence(path, block) -> Sentence:
    words, tags, chunks = [], [], []
    for number, line in block:
        cols = line.split()
        if len(cols) != 3:
            raise CorpusError(path, number, f"expected 3 space-separated columns WORD POS CHUNK, found {len(cols)}")
        if not CHUNK_TAG.fullmatch(cols[2]):
            raise CorpusError(path, number, f"expected a chunk tag O, B-X or I-X, found '{cols[2]}'")
        words.append(cols[0])
        tags.append(cols[1])
        chunks.append(cols[2])
    return Sentence(words, xpos=tags, chunks=chunks, source=f"{path}:{block[0][0]}")


def write_conll2000(path, sentences, predicted: list[list[str]]) -> None:
    """Write ``WORD POS GOLD PRED`` lines (a blank line between sentences) atomically, for conlleval.

    POS is ``xpos``, else ``upos``, else ``_``. The GOLD column is written only when every sentence has gold
    ``chunks`` (the lines are then ``WORD POS PRED``); conlleval needs the same column count on every line,
    so a mix of sentences with and without gold chunks is a ValueError, as is a length mismatch or a value
    containing whitespace. On any error the target is left as it was.
    """
    if len(predicted) != len(sentences):
        raise ValueError(f"{len(predicted)} predicted tag sequences for {len(sentences)} sentences")
    with_gold = {s.chunks is not None for s in sentences}
    if len(with_gold) > 1:
        raise ValueError("some sentences have gold chunks and others not: conlleval needs one column count")
    with atomic_write(path) as f:
        for sentence, preds in zip(sentences, predicted):
            f.write(format_sentence(sentence, preds))


def format_sentence(sentence: Sentence, preds: list[str]) -> str:
    """The lines of one sentence, ``WORD POS [GOLD] PRED``, and the closing blank line."""
    n, where = len(sentence.words), sentence.source or "sentence"
    tags = sentence.xpos or sentence.upos or ["_"] * n
    named = {"POS tags": tags, "gold chunks": sentence.chunks, "predicted chunks": preds}
    for name, values in named.items():
        if values is not None and len(values) != n:
            raise ValueError(f"{where}: {len(values)} {name} for {n} words")
    columns = [sentence.words, *(values for values in named.values() if values is not None)]
    lines = []
    for row in zip(*columns):
        if any(not value or value.split() != [value] for value in row):
            raise ValueError(f"{where}: empty value or value with whitespace in {row}")
        lines.append(" ".join(row))
    return "\n".join(lines) + "\n\n"
