"""Read sentence-pair corpora (SICK, SNLI / MultiNLI, a generic TSV or JSON-lines format) and write pair predictions.

Three layouts are recognised from the file itself:

- **SICK** (tab-separated, a header line): ``pair_ID sentence_A sentence_B entailment_label relatedness_score ...``,
  with or without the ``SemEval_set`` and the other extra columns; the SemEval-2014 release's
  ``entailment_judgment`` is read as ``entailment_label``. Columns are found by their header names, in any order.
- **Generic TSV** (a header line): ``premise hypothesis [label] [score] [id]``. SNLI / MultiNLI's ``.txt`` files
  read the same way (``sentence1``, ``sentence2``, ``gold_label``, ``pairID``). Without a header (no cell of the
  first line names a column), the columns are ``premise hypothesis [label] [score]`` in that order.
- **JSON lines** (the first character is ``{``): one object per line with the same keys, e.g.
  ``{"premise": "A dog runs.", "hypothesis": "An animal moves.", "label": "entailment", "score": 4.2}``.

Labels are ENTAILMENT, NEUTRAL or CONTRADICTION in any case (SNLI's lower-case labels map); a label ``-``
(SNLI: no annotator majority) skips the row, and the number skipped is reported in a warning. An empty label or
score cell, or a missing JSON key for them, means "not annotated". Scores are relatedness scores from 1 to 5.
Sentences are tokenized with spaCy's English tokenizer. Every bad row raises a CorpusError naming the file, the
line and what was expected, e.g. ``train.txt:7: expected a relatedness score from 1 to 5, found '7.5'``.
"""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from functools import lru_cache

from hierarchy.io.errors import CorpusError
from hierarchy.io.fileio import atomic_write
from hierarchy.io.sentence import Sentence, read_lines

LABELS = ("ENTAILMENT", "NEUTRAL", "CONTRADICTION")
NO_LABEL = "-"  # SNLI / MultiNLI: the annotators did not agree; such rows are skipped
# the column (or JSON key) names of each field, first the generic one
COLUMNS = {
    "premise": ("premise", "sentence_A", "sentence1"),
    "hypothesis": ("hypothesis", "sentence_B", "sentence2"),
    "label": ("label", "entailment_label", "entailment_judgment", "gold_label"),
    "score": ("score", "relatedness_score", "gold_score"),
    "id": ("id", "pair_ID", "pairID"),
}
HEADERLESS = ("premise", "hypothesis", "label", "score")  # the columns of a TSV file without a header line


@dataclass
class Pair:
    """Two tokenized sentences and their gold annotations (``None`` where the corpus has none).

    ``label`` is one of :data:`LABELS`; ``score`` a relatedness score from 1 to 5; ``source`` is ``"path:line"``;
    ``id`` the corpus's own pair id when it has one.
    """

    premise: Sentence
    hypothesis: Sentence
    label: str | None = None
    score: float | None = None
    source: str = ""
    id: str = ""

    @property
    def sentences(self) -> tuple[Sentence, Sentence]:
        return self.premise, self.hypothesis


@lru_cache(maxsize=1)
def _tokenizer():
    import spacy

    return spacy.blank("en").tokenizer


def tokenize(text: str) -> list[str]:
    """spaCy's English tokenization of ``text``, without whitespace tokens.

    >>> tokenize("A dog isn't running.")
    ['A', 'dog', 'is', "n't", 'running', '.']
    """
    return [t.text for t in _tokenizer()(text) if not t.is_space]


def as_pair(item) -> Pair:
    """A :class:`Pair` from a Pair or a ``(premise, hypothesis)`` tuple of texts, word lists or Sentences."""
    if isinstance(item, Pair):
        return item
    premise, hypothesis = item

    def sentence(x) -> Sentence:
        if isinstance(x, str):
            return Sentence(tokenize(x), meta=x)
        return x if isinstance(x, Sentence) else Sentence(list(x))

    return Pair(sentence(premise), sentence(hypothesis))


def read_pairs(path, skip_bad: bool = False) -> list[Pair]:
    """Read a sentence-pair file (SICK, generic TSV, SNLI / MultiNLI TSV or JSON lines; see the module docstring).

    ``skip_bad`` warns about and skips malformed rows instead of raising CorpusError.
    """
    lines = read_lines(path)
    first = next((line for line in lines if line.strip()), None)
    if first is None:
        raise CorpusError(path, None, "empty file (expected a header line, or JSON lines, of sentence pairs)")
    rows = _json_rows(path, lines) if first.lstrip().startswith("{") else _tsv_rows(path, lines)
    pairs, n_unlabelled = [], 0
    for number, get in rows:
        try:
            if get("label") == NO_LABEL:
                n_unlabelled += 1
                continue
            pairs.append(_pair(path, number, get))
        except CorpusError as e:
            if not skip_bad:
                raise
            warnings.warn(f"skipping pair: {e}", stacklevel=2)
    if n_unlabelled:
        warnings.warn(f"{path}: skipped {n_unlabelled} pairs labelled '{NO_LABEL}' (no gold label)", stacklevel=2)
    if not pairs:
        raise CorpusError(path, None, "no sentence pairs found" + (" (all were malformed)" if skip_bad else ""))
    return pairs


def _tsv_rows(path, lines: list[str]):
    """Yield ``(line_number, get)`` per data row; ``get(field)`` is the cell's text, or None without the column."""
    number, header = next((i, [c.strip() for c in line.split("\t")]) for i, line in enumerate(lines, 1) if line.strip())
    where = {}
    for name, aliases in COLUMNS.items():
        found = [header.index(a) for a in aliases if a in header]
        if found:
            where[name] = found[0]
    if not where and 2 <= len(header) <= len(HEADERLESS):  # no header: the first line is a pair
        where, header, number = {name: i for i, name in enumerate(HEADERLESS[: len(header)])}, HEADERLESS, number - 1
    for name in ("premise", "hypothesis"):
        if name not in where:
            names = " or ".join(f"'{a}'" for a in COLUMNS[name])
            raise CorpusError(path, number, f"expected a tab-separated header with a column {names} (or, without a "
                                            f"header, the premise and the hypothesis in two tab-separated columns), "
                                            f"found {chr(9).join(header)[:80]!r}")
    for number, line in enumerate(lines[number:], number + 1):
        if not line.strip():
            continue
        cols = line.split("\t")
        expected = f"expected {len(header)} tab-separated columns as in the header, found {len(cols)}"
        missing = [header[i] for i in sorted(where.values()) if i >= len(cols)]
        if missing:
            yield number, _bad(path, number, f"missing column '{missing[0]}' ({expected})")
        elif len(cols) > len(header):
            yield number, _bad(path, number, expected)
        else:
            yield number, lambda name, cols=cols: cols[where[name]].strip() if name in where else None


def _bad(path, number, message):
    """A ``get`` that raises: the row is bad whatever field is asked for (so ``skip_bad`` can skip it)."""
    def get(name):
        raise CorpusError(path, number, message)
    return get


def _json_rows(path, lines: list[str]):
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            row, error = None, f"expected a JSON object, found invalid JSON ({e.msg})"
        else:
            error = None if isinstance(row, dict) else f"expected a JSON object, found {type(row).__name__}"
        if error:
            yield number, _bad(path, number, error)
            continue

        def get(name, row=row):
            key = next((a for a in COLUMNS[name] if a in row), None)
            value = None if key is None else row[key]
            return None if value is None else str(value).strip()

        yield number, get


def _pair(path, number, get) -> Pair:
    sentences = []
    for name in ("premise", "hypothesis"):
        text = get(name)
        if text is None:
            names = " or ".join(f"'{a}'" for a in COLUMNS[name])
            raise CorpusError(path, number, f"missing field {names}")
        words = tokenize(text)
        if not words:
            raise CorpusError(path, number, f"expected a non-empty {name}")
        sentences.append(Sentence(words, source=f"{path}:{number}", meta=text))  # the text, as given
    return Pair(*sentences, _label(path, number, get("label")), _score(path, number, get("score")),
                f"{path}:{number}", get("id") or "")


def _label(path, number, text: str | None) -> str | None:
    if not text:
        return None
    label = text.upper()
    if label not in LABELS:
        raise CorpusError(path, number, f"expected an entailment label {', '.join(LABELS[:-1])} or {LABELS[-1]} "
                                        f"(any case), found '{text}'")
    return label


def _score(path, number, text: str | None) -> float | None:
    if not text:
        return None
    try:
        score = float(text)
    except ValueError:
        score = None
    if score is None or not 1 <= score <= 5:
        raise CorpusError(path, number, f"expected a relatedness score from 1 to 5, found '{text}'")
    return score


def write_pairs(path, pairs: list[Pair], predictions: list[dict], format: str = "tsv") -> None:
    """Write :func:`format_pairs` atomically: on any error the target is left as it was."""
    text = format_pairs(pairs, predictions, format)
    with atomic_write(path) as f:
        f.write(text)


def text(sentence: Sentence) -> str:
    """A pair sentence's text as its file gave it (tabs and line ends made spaces), else its words joined."""
    given = sentence.meta if isinstance(sentence.meta, str) else " ".join(sentence.words)
    return " ".join(given.split())


def format_pairs(pairs: list[Pair], predictions: list[dict], format: str = "tsv") -> str:
    """The pairs with their predictions (:func:`hierarchy.core.predict.predict_pairs` dicts), e.g. for stdout.

    ``tsv``: a header, then one row per pair: id (or ``path:line``), premise, hypothesis, gold label, predicted
    label, one probability column per class (``p_ENTAILMENT``...), gold score, predicted score; absent values are
    empty cells. It reads back with :func:`read_pairs` (the gold columns are ``gold_label`` and ``gold_score``).
    ``jsonl``: one object per pair with the keys ``id``, ``premise``, ``hypothesis``, ``gold_label``, ``gold_score``,
    ``label``, ``probabilities`` and ``relatedness`` (null where absent).
    """
    if len(predictions) != len(pairs):
        raise ValueError(f"{len(predictions)} predictions for {len(pairs)} pairs")
    if format == "jsonl":
        return "".join(json.dumps({"id": pair.id or pair.source, "premise": text(pair.premise),
                                   "hypothesis": text(pair.hypothesis), "gold_label": pair.label,
                                   "gold_score": pair.score, "label": pred.get("label"),
                                   "probabilities": pred.get("probabilities"), "relatedness": pred.get("relatedness")},
                                  ensure_ascii=False) + "\n" for pair, pred in zip(pairs, predictions))
    if format != "tsv":
        raise ValueError(f"unknown pair output format {format!r} (expected 'tsv' or 'jsonl')")
    classes = list(next((p["probabilities"] for p in predictions if p.get("probabilities")), LABELS))
    header = ["id", "premise", "hypothesis", "gold_label", "predicted_label", *(f"p_{c}" for c in classes),
              "gold_score", "predicted_score"]

    def cell(value, fmt="{}"):
        return "" if value is None else fmt.format(value)

    lines = ["\t".join(header)]
    for pair, pred in zip(pairs, predictions):
        probabilities = pred.get("probabilities") or {}
        row = [pair.id or pair.source, text(pair.premise), text(pair.hypothesis),
               cell(pair.label), cell(pred.get("label")), *(cell(probabilities.get(c), "{:.4f}") for c in classes),
               cell(pair.score, "{:g}"), cell(pred.get("relatedness"), "{:.3f}")]
        if any("\t" in c or "\n" in c for c in row):
            raise ValueError(f"{pair.source or 'pair'}: a value contains a tab or a line break")
        lines.append("\t".join(row))
    return "\n".join(lines) + "\n"
