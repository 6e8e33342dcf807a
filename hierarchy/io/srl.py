"""Semantic role labelling corpora: head-based CoNLL-U Plus (Universal PropBank) and span-based CoNLL-2005/2012.

Head-based (``read_srl_conllu``): columns 1-10 are CoNLL-U; column 11 holds the roleset (``nominate.01``) on each
predicate and ``_`` elsewhere; columns 12.. hold one column per predicate, in sentence order, with ``V`` on the
predicate (UP also puts it on the other words of a multiword predicate, sometimes only there: ``turn_on.13`` with
``V`` on "on"; so a column needs a ``V``, and one that is on another predicate's word but not its own is an error)
and a role (``ARG0``, ``ARGM-TMP``, ``C-ARG1``...) on each argument's head word, ``_`` elsewhere.
A sentence with no predicate may have an empty 12th field. ``# propbank = no-up`` marks a sentence without SRL
annotation: its ``senses`` and ``roles`` are ``None`` (not supervised), not "no predicates". Only word lines carry
columns 11+. Written back by :func:`~hierarchy.io.ud.write_conllu`. Files that ``hierarchy annotate`` writes
declare two columns instead, ``HIERARCHY:PRED`` (the roleset or ``_``) and ``HIERARCHY:ARGS`` (the word's labels
as ``PRED_ID:LABEL`` joined by ``|``, or ``_``; see :func:`format_args`), which are read the same way.

Span-based (``read_conll05``): one word per line, whitespace-separated columns ``WORD PRED ARGS_1 .. ARGS_N``:
``PRED`` is the predicate's lemma or ``-``; predicate j's column brackets its arguments, ``(A0*`` opens,
``*`` continues, ``*)`` closes, ``(V*)`` is a one-word span. Read into BIO tags per predicate (``B-A0 I-A0 O B-V``);
``senses`` holds the lemma on predicates. Example::

    The      -      (A0*
    cat      -      *)
    sat      sit    (V*)
    .        -      *
"""
from __future__ import annotations

import re

from hierarchy.io.errors import CorpusError
from hierarchy.io.fileio import atomic_write
from hierarchy.io.sentence import Sentence, parse_each, read_sentences
from hierarchy.io.spans import bio_to_brackets
from hierarchy.io.ud import N_COLUMNS, read_conllu, write_conllu

NO_ANNOTATION = ("propbank", "no-up")  # the comment that marks a sentence without SRL annotation
PRED_COLUMN, ARGS_COLUMN = "HIERARCHY:PRED", "HIERARCHY:ARGS"  # the fixed-column form (global.columns)
_CELL = re.compile(r"^(?:\(([^()*\s]+))?\*(\))?$")  # (A0*  *  *)  (V*)


def read_srl(path, srl_format: str = "conllu", skip_bad: bool = False) -> list[Sentence]:
    """Read an SRL corpus in ``srl_format`` (``conllu`` or ``conll05``)."""
    if srl_format not in ("conllu", "conll05"):
        raise ValueError(f"SRL format must be 'conllu' or 'conll05', not {srl_format!r}")
    return read_conll05(path, skip_bad) if srl_format == "conll05" else read_srl_conllu(path, skip_bad)


def write_srl(path, sentences, srl_format: str = "conllu") -> None:
    """Write sentences with their ``senses`` and ``roles`` in ``srl_format``, atomically."""
    if srl_format not in ("conllu", "conll05"):
        raise ValueError(f"SRL format must be 'conllu' or 'conll05', not {srl_format!r}")
    (write_conll05 if srl_format == "conll05" else write_conllu)(path, sentences)


def read_srl_conllu(path, skip_bad: bool = False) -> list[Sentence]:
    """Read CoNLL-U with SRL columns 11+; ``skip_bad`` warns about and skips malformed sentences."""
    return parse_each(path, read_conllu(path, skip_bad), _with_srl, skip_bad)


def _with_srl(path, sentence: Sentence) -> Sentence:
    """Fill ``senses`` and ``roles`` from the columns 11+ that the CoNLL-U reader kept in ``meta``."""
    meta = sentence.meta
    if meta.metadata.get(NO_ANNOTATION[0]) == NO_ANNOTATION[1]:
        return sentence
    first = int(sentence.source.rsplit(":", 1)[1]) + len(meta.comments)  # line of the first token line
    if PRED_COLUMN.lower() in next(token for token in meta if isinstance(token["id"], int)):
        return _with_declared_srl(path, sentence, first)
    senses, columns, lines = [], [], []
    for k, token in enumerate(meta):
        extra = list(token.values())[N_COLUMNS:]
        if not isinstance(token["id"], int):
            if any(v not in ("_", "") for v in extra):
                raise CorpusError(path, first + k, "expected no SRL label on a multiword-token or empty-node line "
                                                   "(labels go on its words)")
            continue
        if not extra:
            return sentence  # plain CoNLL-U: no SRL annotation
        senses.append(extra[0] or "_")
        columns.append(extra[1:])
        lines.append(first + k)
    predicates = [i for i, s in enumerate(senses) if s != "_"]
    n_cols = len(columns[0])
    if not predicates and all(v == "" for col in columns for v in col):
        sentence.senses, sentence.roles = senses, []  # no predicate, maybe an empty 12th field
        return sentence
    if n_cols != len(predicates):
        raise CorpusError(path, lines[0], f"expected {len(predicates)} predicate column(s) after column 11 (one per "
                                          f"roleset in column 11), found {n_cols}")
    roles = [[col[j] or "_" for col in columns] for j in range(n_cols)]
    for j, (p, labels) in enumerate(zip(predicates, roles)):
        # V marks the predicate, and may also sit on other words of a multiword predicate ("break through", "turn
        # on", even only there: UP's "turn_on.13" has V on "on"); on another predicate's word but not on its own,
        # it shows a column out of order
        vs = [i for i, label in enumerate(labels) if label == "V"]
        where = f"column {N_COLUMNS + 2 + j} (predicate {j + 1}, '{sentence.words[p]}', {senses[p]})"
        if not vs:
            raise CorpusError(path, lines[p], f"expected a V in {where}, found none")
        stray = [i for i in vs if i in predicates and i != p]
        if stray and p not in vs:
            raise CorpusError(path, lines[stray[0]], f"expected the V of {where} on word {p + 1}, found it on word "
                                                     f"{stray[0] + 1}, another predicate (columns out of order?)")
    sentence.senses, sentence.roles = senses, roles
    return sentence


def format_args(senses: list[str], roles: list[list[str]]) -> list[str]:
    """The ``HIERARCHY:ARGS`` cell of each word: its label in each predicate's frame as ``PRED_ID:LABEL``, joined
    by ``|``; ``_`` when it has none.

    >>> format_args(["_", "go.01", "_"], [["ARG0", "V", "_"]]), format_args(["go"], [["B-V"]])
    (['2:ARG0', '2:V', '_'], ['1:B-V'])
    """
    cells = [[] for _ in senses]
    predicates = [i for i, sense in enumerate(senses) if sense != "_"]
    for p, labels in zip(predicates, roles):
        for k, label in enumerate(labels):
            if label not in ("_", "O"):
                cells[k].append(f"{p + 1}:{label}")
    return ["|".join(c) or "_" for c in cells]


def _with_declared_srl(path, sentence: Sentence, first: int) -> Sentence:
    """Fill ``senses`` and ``roles`` from the declared HIERARCHY:PRED and HIERARCHY:ARGS columns."""
    pred, args = PRED_COLUMN.lower(), ARGS_COLUMN.lower()
    words = [(first + k, token) for k, token in enumerate(sentence.meta) if isinstance(token["id"], int)]
    senses = [token.get(pred) or "_" for _, token in words]
    predicates = {i + 1: j for j, i in enumerate(i for i, sense in enumerate(senses) if sense != "_")}
    cells = []
    for k, (number, token) in enumerate(words):
        for cell in [] if token.get(args, "_") in ("_", "") else token[args].split("|"):
            head, sep, label = cell.partition(":")
            if not (sep and label and head.isdigit() and int(head) in predicates):
                raise CorpusError(path, number, f"expected {ARGS_COLUMN} cells like 3:ARG0 naming a predicate's word "
                                                f"(one with a roleset in {PRED_COLUMN}), found '{cell}'")
            cells.append((predicates[int(head)], k, label))
    span = any(label[:2] in ("B-", "I-") for _, _, label in cells)
    roles = [["O" if span else "_"] * len(words) for _ in predicates]
    for j, k, label in cells:
        roles[j][k] = label
    sentence.senses, sentence.roles = senses, roles
    return sentence


def read_conll05(path, skip_bad: bool = False) -> list[Sentence]:
    """Read span-based SRL columns (CoNLL-2005/2012 style, see the module docstring)."""
    return read_sentences(path, _read_span_sentence, skip_bad)


def _read_span_sentence(path, block) -> Sentence:
    rows = [(number, line.split()) for number, line in block]
    words = [cols[0] for _, cols in rows]
    senses = ["_" if len(cols) < 2 or cols[1] == "-" else cols[1] for _, cols in rows]
    predicates = [i for i, s in enumerate(senses) if s != "_"]
    n_cols = 2 + len(predicates)
    for number, cols in rows:
        if len(cols) != n_cols:
            raise CorpusError(path, number, f"expected {n_cols} columns (word, predicate and one per predicate "
                                            f"of the sentence's {len(predicates)}), found {len(cols)}")
    roles = []
    for j, p in enumerate(predicates):
        tags, label = [], None  # label: the open span's role
        for number, cols in rows:
            match = _CELL.match(cols[2 + j])
            if not match:
                raise CorpusError(path, number, f"expected a cell like (A0*, *, *) or (V*) in column {3 + j}, "
                                                f"found '{cols[2 + j]}'")
            opens, closes = match.groups()
            if opens and label is not None:
                raise CorpusError(path, number, f"unbalanced brackets in column {3 + j}: '({opens}' opens inside "
                                                f"the open ({label} span")
            if opens:
                label = opens
                tags.append(f"B-{label}")
            else:
                tags.append("O" if label is None else f"I-{label}")
            if closes:
                if label is None:
                    raise CorpusError(path, number, f"unbalanced brackets in column {3 + j}: ')' closes no span")
                label = None
        if label is not None:
            raise CorpusError(path, rows[-1][0], f"unbalanced brackets in column {3 + j}: the ({label} span is "
                                                 f"never closed")
        if tags[p] not in ("B-V", "I-V"):
            raise CorpusError(path, rows[p][0], f"expected the predicate '{words[p]}' inside a (V*) span in column "
                                                f"{3 + j}, found '{rows[p][1][2 + j]}'")
        roles.append(tags)
    return Sentence(words, senses=senses, roles=roles, source=f"{path}:{block[0][0]}")


def format_conll05(sentences) -> str:
    """The span-based column text of ``sentences`` (the reader's format; columns separated by tabs)."""
    return "".join(_format_span_sentence(s) for s in sentences)


def write_conll05(path, sentences) -> None:
    """Write span-based SRL columns, atomically."""
    text = format_conll05(sentences)  # fails before anything is written
    with atomic_write(path) as f:
        f.write(text)


def _format_span_sentence(sentence: Sentence) -> str:
    n = len(sentence.words)
    senses = sentence.senses or ["_"] * n
    roles = sentence.roles or []
    columns = [bio_to_brackets(tags) for tags in roles]
    lines = []
    for i, word in enumerate(sentence.words):
        cells = [word, "-" if senses[i] == "_" else senses[i], *(column[i] for column in columns)]
        lines.append("\t".join(cells))
    return "\n".join(lines) + "\n\n"


def word_lemmas(sentence: Sentence) -> list[str]:
    """The lemma of each word, for the rolesets of predicted predicates: the LEMMA column of a CoNLL-U sentence
    where it is not ``_``, else the lowercased word."""
    meta = sentence.meta
    if meta is not None and hasattr(meta, "filter"):  # a conllu.TokenList
        lemmas = [token.get("lemma", "_") for token in meta if isinstance(token["id"], int)]
        if len(lemmas) == len(sentence.words):
            return [lemma if lemma not in ("_", "") else word.lower() for lemma, word in zip(lemmas, sentence.words)]
    return [word.lower() for word in sentence.words]
