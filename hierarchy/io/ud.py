"""Read and write CoNLL-U files (and CoNLL-U Plus, e.g. Universal PropBank's SRL columns 11+).

(The module is ``ud``, not ``conllu``, so that running it by path cannot shadow the ``conllu`` package.)

The ``conllu`` package gives the containers (``TokenList``, ``Token``) and the ID and comment parsers; the line
scanning is our own, because the package silently accepts short lines, splits on double spaces, drops comments
it cannot parse and keeps no line numbers. Every error is a CorpusError naming the file, the offending line and
what was expected, e.g. ``dev.conllu:12: HEAD '17' out of range for a 12-token sentence``.

Round trip: ``write_conllu(path, read_conllu(src))`` reproduces ``src`` byte for byte, except that line ends
become ``\\n``, runs of blank (or whitespace-only) lines between sentences become one blank line and the file
ends with one blank line.
"""
from __future__ import annotations

from functools import lru_cache

from conllu.exceptions import ParseException
from conllu.models import Metadata, Token, TokenList
from conllu.parser import DEFAULT_FIELDS, parse_comment_line, parse_id_value
from conllu.serializer import serialize_field

from hierarchy.io.errors import CorpusError
from hierarchy.io.fileio import atomic_write
from hierarchy.io.sentence import Sentence, read_sentences
from hierarchy.io.trees import find_cycle

N_COLUMNS = len(DEFAULT_FIELDS)  # 10: ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC


def read_conllu(path, skip_bad: bool = False) -> list[Sentence]:
    """Read a CoNLL-U file; ``skip_bad`` warns about and skips malformed sentences instead of raising.

    Words are the lines with integer IDs; multiword-token lines (``3-4``) and empty nodes (``8.1``) stay out
    of ``words`` but are kept, with the comments and every column, in ``meta``: a ``conllu.TokenList`` whose
    tokens hold the raw column strings (the ID parsed as the package does), whose ``metadata`` holds the parsed
    comments and whose ``comments`` attribute holds the comment lines as written. A layer (UPOS, XPOS, HEAD,
    DEPREL) that is ``_`` for every word of a sentence is ``None``. Columns beyond the 10th are accepted when
    the file declares them in ``# global.columns`` or when all word lines of a sentence have the same count
    (multiword-token lines may keep 10); they are named as declared, else ``col11``, ``col12``, ...
    """
    columns = []  # the global.columns names, once a comment declares them
    return read_sentences(path, lambda path, block: _read_sentence(path, block, columns), skip_bad, _starts)


def _starts(line: str) -> bool:
    """Whether a line may begin a sentence: a comment, word 1 or a multiword token from word 1."""
    first = line.split("\t", 1)[0]
    return line.startswith("#") or first == "1" or first.startswith("1-")


def _read_sentence(path, block, columns: list[str]) -> Sentence:
    """One sentence from its ``(line_number, line)`` pairs; a global.columns comment fills ``columns``."""
    comments, metadata, tokens, numbers = [], Metadata(), [], []
    words, upos, xpos, heads, rels = [], [], [], [], []
    expected = where = None
    ranges = []  # (line_number, last word ID) of multiword tokens
    for number, line in block:
        if line.startswith("#"):
            if tokens:
                raise CorpusError(path, number, "expected a token line, found a comment (comments go first)")
            comments.append(line)
            for key, value in _parse_comment(line):
                metadata[key] = value
                if key == "global.columns":
                    columns[:] = _global_columns(path, number, value)
            continue
        cols = line.split("\t")
        if len(cols) < N_COLUMNS:
            raise CorpusError(path, number, f"expected {N_COLUMNS} tab-separated columns, found {len(cols)}")
        token_id = _parse_id(path, number, cols[0])
        if expected is None and isinstance(token_id, int):  # the first word line fixes the column count
            expected, where = (len(columns), " (global.columns)") if columns else (len(cols), f" like line {number}")
        if isinstance(token_id, int) and len(cols) != expected:
            like = where if expected != N_COLUMNS else ""
            raise CorpusError(path, number, f"expected {expected} tab-separated columns{like}, found {len(cols)}")
        empty_node = not isinstance(token_id, int) and token_id[1] == "."
        if len(cols) not in (N_COLUMNS, expected or len(cols)) and not empty_node:  # multiword tokens may keep 10
            # (and an empty node any number: it carries no roles, and Universal PropBank writes some short)
            want = f"{N_COLUMNS}" if expected == N_COLUMNS else f"{N_COLUMNS} or {expected}"
            raise CorpusError(path, number, f"expected {want} tab-separated columns, found {len(cols)}")
        n = len(words)
        if isinstance(token_id, int):
            if token_id != n + 1:
                raise CorpusError(path, number, f"expected ID {n + 1} (IDs must run 1..n in order), found '{cols[0]}'")
            if not cols[1].strip():
                raise CorpusError(path, number, "expected a word form in the FORM column, found it empty")
            words.append(cols[1])
            upos.append(cols[3])
            xpos.append(cols[4])
            heads.append(_parse_head(path, number, cols[6]))
            rels.append(cols[7])
            numbers.append(number)
        elif token_id[1] == "-":
            if token_id[0] != n + 1:
                raise CorpusError(path, number, f"expected a multiword token from word {n + 1}, found '{cols[0]}'")
            ranges.append((number, token_id[2]))
        elif token_id[0] != n:
            raise CorpusError(path, number, f"expected an empty node after word {n} (ID {n}.k), found '{cols[0]}'")
        tokens.append(Token(zip(columns or _field_names(len(cols)), [token_id, *cols[1:]])))
    if not words:
        raise CorpusError(path, block[0][0], "expected at least one word line, found none")
    for number, last in ranges:
        if last > len(words):
            raise CorpusError(path, number, f"multiword token ends at word {last}, past the last word {len(words)}")
    heads = _check_heads(path, heads, numbers)
    layers = [_layer(path, name, values, numbers)
              for name, values in (("UPOS", upos), ("XPOS", xpos), ("DEPREL", rels))]
    meta = TokenList(tokens, metadata)
    meta.comments = comments
    return Sentence(words, layers[0], layers[1], heads, layers[2], source=f"{path}:{block[0][0]}", meta=meta)


@lru_cache(maxsize=None)
def _field_names(n_columns: int) -> tuple[str, ...]:
    """The ten CoNLL-U field names, then ``col11``, ``col12``, ... for any extra columns."""
    return (*DEFAULT_FIELDS, *(f"col{i}" for i in range(N_COLUMNS + 1, n_columns + 1)))


def _parse_comment(line: str):
    try:
        return parse_comment_line(line)
    except ParseException:
        return []


def _global_columns(path, number, value) -> list[str]:
    names = (value or "").split()
    if [name.upper() for name in names[:N_COLUMNS]] != [f.upper() for f in DEFAULT_FIELDS]:
        raise CorpusError(path, number, f"expected global.columns to start with {' '.join(DEFAULT_FIELDS).upper()}, "
                                        f"found '{value}'")
    return [name.lower() for name in names]


def _parse_id(path, number, text):
    if text.isascii() and text.isdigit() and text[0] != "0":  # the common case, without a regex
        return int(text)
    try:
        token_id = parse_id_value(text)
    except ParseException:
        token_id = None
    if token_id is None or token_id == 0:
        raise CorpusError(path, number, f"expected an ID like 5, 3-4 or 8.1, found '{text}'")
    return token_id


def _parse_head(path, number, text) -> int | None:
    if text == "_":
        return None
    if not (text.isascii() and text.isdigit()):
        raise CorpusError(path, number, f"expected an integer HEAD (or '_'), found '{text}'")
    return int(text)


def _layer(path, name: str, values: list[str], numbers: list[int]) -> list[str] | None:
    """A column's values, or None when every word has ``_``; ``_`` for some words only is an error (it would be
    learnt as a label)."""
    if all(v == "_" for v in values):
        return None
    if "_" in values:
        k = values.index("_")
        raise CorpusError(path, numbers[k], f"expected a {name} for every word of the sentence (others have one), "
                                            "found '_'")
    return values


def _check_heads(path, heads: list, numbers: list[int]) -> list[int] | None:
    """Heads that are all present, in range and form a tree rooted at 0; None when all are ``_``."""
    n = len(heads)
    if all(h is None for h in heads):
        return None
    for h, number in zip(heads, numbers):
        if h is None:
            raise CorpusError(path, number, "expected an integer HEAD, found '_' (other words here have one)")
        if h > n:
            raise CorpusError(path, number, f"HEAD '{h}' out of range for a {n}-token sentence")
    roots = [k for k, h in enumerate(heads) if h == 0]
    if not roots:
        raise CorpusError(path, numbers[0], "expected a word with HEAD 0 (the root), found none")
    if len(roots) > 1:
        raise CorpusError(path, numbers[roots[1]], f"expected one word with HEAD 0 (UD has one root), found "
                                                   f"{len(roots)}: words {', '.join(str(k + 1) for k in roots)}")
    cycle = find_cycle(heads)
    if cycle:
        chain = " -> ".join(map(str, cycle + cycle[:1]))
        raise CorpusError(path, numbers[cycle[0] - 1], f"HEAD cycle {chain}: word {cycle[0]} does not reach the root")
    return heads


def write_conllu(path, sentences) -> None:
    """Write sentences as CoNLL-U, atomically: on any error the target is left as it was."""
    with atomic_write(path) as f:
        for sentence in sentences:
            f.write(format_sentence(sentence))


def format_conllu(sentences) -> str:
    """The CoNLL-U text of ``sentences``, e.g. for stdout."""
    return "".join(format_sentence(s) for s in sentences)


def format_sentence(sentence: Sentence) -> str:
    """One sentence and its closing blank line.

    FORM, UPOS, XPOS, HEAD and DEPREL come from the Sentence (a ``None`` layer is written ``_``); comments,
    multiword tokens, empty nodes and the other columns come from ``meta`` (a ``conllu.TokenList``). When
    ``senses`` is not ``None``, the word lines get the SRL columns instead of meta's columns 11+: the roleset, then
    one column per predicate (``roles``), and the other lines keep 10 columns. Without
    meta, IDs run 1..n and the other columns are ``_``. Raises ValueError when a layer's length is wrong.
    """
    n, where = len(sentence.words), sentence.source or "sentence"
    layers = {"form": sentence.words, "upos": sentence.upos, "xpos": sentence.xpos,
              "head": sentence.heads, "deprel": sentence.rels}
    for name, values in [*layers.items(), ("senses", sentence.senses), *(("roles", r) for r in sentence.roles or [])]:
        if values is not None and len(values) != n:
            raise ValueError(f"{where}: {name} has {len(values)} values for {n} words")
    meta = sentence.meta
    if meta is None:
        meta = TokenList([Token(zip(DEFAULT_FIELDS, [i, *["_"] * (N_COLUMNS - 1)])) for i in range(1, n + 1)])
    comments = getattr(meta, "comments", None)
    if comments is None:
        comments = [f"# {k} = {v}" if v else f"# {k}" for k, v in meta.metadata.items()]
    lines, i = list(comments), 0
    for token in meta:
        row = token
        if isinstance(token["id"], int):
            if i >= n:
                raise ValueError(f"{where}: meta has more words than the sentence's {n}")
            row = dict(token)
            for name, values in layers.items():
                row[name] = "_" if values is None else values[i]
            if sentence.senses is not None:  # SRL columns 11+ (CoNLL-U Plus, as Universal PropBank)
                row = dict(list(row.items())[:N_COLUMNS])
                row["srl"] = sentence.senses[i]
                row.update((f"srl{j}", labels[i]) for j, labels in enumerate(sentence.roles))
            i += 1
        elif sentence.senses is not None:  # multiword tokens and empty nodes keep 10 columns
            row = dict(list(token.items())[:N_COLUMNS])
        cells = [serialize_field(value) for value in row.values()]
        if any("\t" in c or "\n" in c for c in cells):
            raise ValueError(f"{where}: a value of token {token['id']} contains a tab or a line break")
        lines.append("\t".join(cells))
    if i != n:
        raise ValueError(f"{where}: meta has {i} words, the sentence {n}")
    return "\n".join(lines) + "\n\n"
