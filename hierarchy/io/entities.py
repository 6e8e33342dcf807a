"""Entity mentions from CoNLL-U files in GUM's (CorefUD's) bracket notation, as BIO tags of the outermost mentions.

The MISC column of a word line holds ``Entity=`` brackets: ``(4-abstract-new-...`` opens a mention of entity 4
with type ``abstract`` (the ``etype`` field of ``# global.Entity = GRP-etype-infstat-...``), ``4)`` closes it,
``(5-object-new-...)`` is a one-word mention, and several brackets may follow each other on one word::

    1   The      ...   Entity=(4-abstract-new-sssss-cf2-3-coref(5-object-new-sssss-cf3-1-coref)
    2   colour   ...   Entity=4)

Only the outermost mentions are kept, as typed BIO tags per word (``B-abstract I-abstract``); a mention inside
another one (entity 5 above) is left out, and so is one that crosses a kept mention without being inside it.

Other cases (none of them occurs in GUM 2.16, but CorefUD allows them):

* Discontinuous mentions, ``(1-person-...[1/2]`` ... ``1[1/2])`` ... ``(1-person-...[2/2]`` ... ``1[2/2])``:
  one mention from the first part's start to the last part's end (gaps included).
* Brackets on an empty node ``8.1``: it lies between words 8 and 9, so a mention opened there starts at word 9
  and one closed there ends at word 8; a mention on empty nodes only has no word and is dropped.
* Brackets on a multiword-token line ``3-4``: a mention opened there starts at word 3, one closed there ends at 4.
* A later mention may leave out the type (``(4``): it takes the type its entity had earlier in the document.
* A mention not closed in its sentence is an error (as is a close without an open or an unreadable bracket).
"""
from __future__ import annotations

import re

from conllu.models import Token, TokenList
from conllu.parser import DEFAULT_FIELDS

from hierarchy.io.errors import CorpusError
from hierarchy.io.fileio import atomic_write
from hierarchy.io.sentence import Sentence, parse_each
from hierarchy.io.spans import bio_spans, bio_tags
from hierarchy.io.ud import format_sentence, read_conllu

BRACKET = re.compile(r"\((?P<open>[^-()\[\]|]+)(?P<fields>(?:-[^-()\[\]|]*)*)(?P<part>\[\d+/\d+\])?(?P<single>\))?"
                     r"|(?P<close>[^-()\[\]|]+)(?P<cpart>\[\d+/\d+\])?\)")
TYPE = re.compile(r"[^-()\[\]|=\s]+")  # an entity type the bracket notation can carry


class BracketError(ValueError):
    """A malformed bracket; ``index`` is the position, in the list given, of the item it was found on."""

    def __init__(self, index: int, message: str):
        super().__init__(message)
        self.index = index


def parse_entity(value: str, etype: int = 1) -> list[tuple[str, str, str | None, str | None]]:
    """The brackets of one ``Entity=`` value as ``(kind, id, type, part)``, kind ``(``, ``)`` or ``()``.

    ``etype`` is the index of the type among the ``-``-separated fields (1 in ``GRP-etype-...``).

    >>> parse_entity("(4-abstract-new-sssss(5-object-new)3)")
    [('(', '4', 'abstract', None), ('()', '5', 'object', None), (')', '3', None, None)]
    >>> parse_entity("1[2/2])")
    [(')', '1', None, '2/2')]
    """
    brackets, at = [], 0
    while at < len(value):
        match = BRACKET.match(value, at)
        if not match:
            raise ValueError(f"expected an entity bracket like (1-person-... or 1), found '{value[at:]}'")
        part = (match["part"] or match["cpart"] or "")[1:-1] or None
        if match["open"]:
            fields = (match["open"] + match["fields"]).split("-")
            kind = "()" if match["single"] else "("
            brackets.append((kind, match["open"], fields[etype] if len(fields) > etype else None, part))
        else:
            brackets.append((")", match["close"], None, part))
        at = match.end()
    return brackets


def find_mentions(items, etype: int = 1, types: dict | None = None, ids: bool = False) -> list[tuple]:
    """All mentions of one sentence as ``(start, end, type)`` (with ``ids``: ``(start, end, type, entity id)``),
    word indexes from 0, ``end`` exclusive, sorted by start, longer first.

    ``items`` are ``(first, last, value)`` in file order: the Entity value of a line covering words ``first`` to
    ``last`` (a word ``i``: ``(i, i)``; an empty node after word ``i``: ``(i + 1, i)``). ``types`` maps entity
    IDs to types across sentences, for brackets without a type. Raises BracketError.

    >>> find_mentions([(0, 0, "(1-person(2-place)"), (1, 1, "1)")])
    [(0, 2, 'person'), (0, 1, 'place')]
    """
    types = {} if types is None else types
    opened, parts, found = {}, {}, []  # opened: (id, part) -> [(index, start)], a stack; parts: id -> its group
    for index, (first, last, value) in enumerate(items):
        try:
            brackets = parse_entity(value, etype)
        except ValueError as e:
            raise BracketError(index, str(e)) from None
        for kind, ident, kind_type, part in brackets:
            if kind != ")":
                if kind_type:
                    types[ident] = kind_type
                elif ident not in types:
                    raise BracketError(index, f"expected a type for the first mention of entity {ident}, found none")
                opened.setdefault((ident, part), []).append((index, first))
            if kind != "(":
                starts = opened.get((ident, part))
                if not starts:
                    raise BracketError(index, f"closing bracket '{ident}{f'[{part}]' if part else ''})' "
                                              "without an open mention of that entity")
                start, end = starts.pop()[1], last + 1
                if part is None:
                    found.append([start, end, types[ident], ident])
                elif part.startswith("1/") or ident not in parts:  # a first part starts a discontinuous mention
                    parts[ident] = [start, end, types[ident], ident]
                    found.append(parts[ident])
                else:  # a later part stretches it
                    parts[ident][0], parts[ident][1] = min(parts[ident][0], start), max(parts[ident][1], end)
    for (ident, part), starts in opened.items():
        if starts:
            raise BracketError(starts[0][0], f"expected a closing bracket for entity {ident} in the sentence, "
                                             "found none")
    found = sorted((tuple(m) if ids else tuple(m[:3]) for m in found if m[0] < m[1]), key=lambda m: (m[0], -m[1]))
    return found


def outermost_mentions(values, etype: int = 1, types: dict | None = None) -> list[tuple[int, int, str]]:
    """The mentions not inside (or crossing) an earlier, longer one; ``values`` are each word's Entity value
    (``""`` for none) or :func:`find_mentions`'s items. Raises BracketError.

    >>> outermost_mentions(["(4-abstract-new(5-object-new)", "4)", "", "(6-time-new)"])
    [(0, 2, 'abstract'), (3, 4, 'time')]
    """
    items = [(i, i, v) if isinstance(v, str) else v for i, v in enumerate(values) if v]
    return outermost(find_mentions(items, etype, types))


def outermost(mentions) -> list[tuple[int, int, str]]:
    """``(start, end, type)`` of the ``mentions`` (sorted by start, longer first, as :func:`find_mentions` gives
    them) not inside or crossing an earlier one."""
    kept = []
    for start, end, kind, *_ in mentions:
        if not kept or start >= kept[-1][1]:
            kept.append((start, end, kind))
    return kept


def read_mentions(path, skip_bad: bool = False) -> list[Sentence]:
    """Read a CoNLL-U file with :func:`read_conllu`, setting ``extra["mentions"]`` to BIO tags of the outermost
    mentions (all ``O`` for a sentence without). A file with no ``Entity=`` and no ``# global.Entity`` at all
    gets no ``mentions``. Malformed brackets raise CorpusError naming the line, e.g.
    ``dev.conllu:14: closing bracket '3)' without an open mention of that entity``; ``skip_bad`` warns about
    and skips such sentences instead."""
    sentences = read_conllu(path, skip_bad)
    if not any(_has_entities(s.meta) for s in sentences):
        return sentences
    state = {"etype": 1, "types": {}}
    return parse_each(path, sentences, lambda path, s: _read_sentence(path, s, state), skip_bad)


def _has_entities(meta) -> bool:
    return any(c.startswith("# global.Entity") for c in meta.comments) or any(
        _entity(t["misc"]) is not None for t in meta)


def _entity(misc) -> str | None:
    """The value of the Entity field of a raw MISC string, or None."""
    return next((item[len("Entity="):] for item in (misc or "").split("|") if item.startswith("Entity=")), None)


def _read_sentence(path, sentence: Sentence, state: dict) -> Sentence:
    items, numbers = sentence_items(path, sentence, state)
    try:
        mentions = outermost_mentions(items, state["etype"], state["types"])
    except BracketError as e:
        raise CorpusError(path, numbers[e.index], str(e)) from None
    return sentence.with_layers(mentions=bio_tags(len(sentence), mentions))


def sentence_items(path, sentence: Sentence, state: dict) -> tuple[list, list[int]]:
    """The :func:`find_mentions` items of a sentence read by :func:`read_conllu`, and the line number of each.
    ``state`` carries ``etype`` (from ``# global.Entity``) and ``types`` (entity ID -> type, reset by
    ``# newdoc``) from sentence to sentence."""
    first_line = int(sentence.source.rsplit(":", 1)[1])
    for number, comment in enumerate(sentence.meta.comments, first_line):
        if comment.startswith("# newdoc"):
            state["types"] = {}
        if comment.startswith("# global.Entity"):
            fields = comment.split("=", 1)[1].strip().split("-") if "=" in comment else []
            if "etype" not in fields:
                raise CorpusError(path, number, f"expected global.Entity to name an etype field, found '{comment}'")
            state["etype"] = fields.index("etype")
    items, numbers, n = [], [], 0  # n: words so far
    for number, token in enumerate(sentence.meta, first_line + len(sentence.meta.comments)):
        token_id = token["id"]
        if isinstance(token_id, int):
            n, first, last = token_id, token_id - 1, token_id - 1
        elif token_id[1] == "-":
            first, last = token_id[0] - 1, token_id[2] - 1
        else:  # empty node token_id[0].k, between words token_id[0] and token_id[0] + 1
            first, last = n, n - 1
        value = _entity(token["misc"])
        if value:
            items.append((first, last, value))
            numbers.append(number)
    return items, numbers


def format_mentions(sentence: Sentence, tags: list[str], first_id: int = 1) -> tuple[str, int]:
    """The CoNLL-U text of ``sentence`` (its meta: comments, multiword tokens, empty nodes, every column) with
    the mentions of the BIO ``tags`` (read by :func:`hierarchy.io.spans.bio_spans`, as the metric reads them) in
    MISC in place of any gold ``Entity=``, numbered from ``first_id``; and
    the next free ID. Other MISC fields keep their order; Entity goes where it was, else before the first
    field that sorts after it.

    >>> text, next_id = format_mentions(Sentence(["Ann", "slept", "."]), ["B-person", "O", "O"], 7)
    >>> print(text.replace("\\t", " "), next_id)
    1 Ann _ _ _ _ _ _ _ Entity=(7-person)
    2 slept _ _ _ _ _ _ _ _
    3 . _ _ _ _ _ _ _ _
    <BLANKLINE>
     8
    """
    n = len(sentence)
    if len(tags) != n:
        raise ValueError(f"{sentence.source or 'sentence'}: {len(tags)} mention tags for {n} words")
    found = bio_spans(tags)
    mentions = [(start, end, str(ident), kind) for ident, (start, end, kind) in enumerate(found, first_id)]
    return format_entities(sentence, mentions), first_id + len(found)


def format_entities(sentence: Sentence, mentions) -> str:
    """The CoNLL-U text of ``sentence`` (see :func:`format_mentions`) with ``mentions``, ``(start, end, entity id,
    type)`` (``end`` exclusive; nested ones allowed), as Entity brackets in MISC. On a word, brackets go in the
    order :func:`find_mentions` reads back: openings (longer mentions first), one-word mentions, then closings
    (inner ones first).

    >>> text = format_entities(Sentence(["Ann", "'s", "dog"]), [(0, 3, "2", "animal"), (0, 1, "1", "person")])
    >>> print(text.replace(chr(9), " "))
    1 Ann _ _ _ _ _ _ _ Entity=(2-animal(1-person)
    2 's _ _ _ _ _ _ _ _
    3 dog _ _ _ _ _ _ _ Entity=2)
    <BLANKLINE>
    <BLANKLINE>
    """
    for _, _, ident, kind in mentions:
        for what, value in (("mention type", kind), ("entity ID", ident)):
            if not TYPE.fullmatch(value):
                raise ValueError(f"{sentence.source or 'sentence'}: expected a {what} without - ( ) [ ] | = or "
                                 f"spaces, found '{value}'")
    n = len(sentence)
    brackets = ["".join(word) for word in word_brackets(n, mentions)]
    meta = sentence.meta
    if meta is None:
        meta = TokenList([Token(zip(DEFAULT_FIELDS, [i, *["_"] * 9])) for i in range(1, n + 1)])
    words = iter(brackets)
    tokens = [Token(t, misc=_with_entity(t["misc"], next(words, "") if isinstance(t["id"], int) else "")) for t in meta]
    copy = TokenList(tokens, meta.metadata)
    copy.comments = getattr(meta, "comments", None)
    return format_sentence(sentence.with_layers(meta=copy))


def word_brackets(n: int, mentions) -> list[list[str]]:
    """The brackets on each of ``n`` words of ``mentions``, ``(start, end, entity id, type)`` (``end`` exclusive;
    type None: brackets without one, as CoNLL-2012 writes them), in the order :func:`find_mentions` reads back:
    openings (longer mentions first), one-word mentions, then closings (inner ones first); closings first on a
    word where a longer mention opens (the closed ones cross it: ``(8-object6)`` would read as one mention).

    >>> word_brackets(3, [(0, 3, "2", "animal"), (0, 1, "1", None)])
    [['(2-animal', '(1)'], [], ['2)']]
    >>> word_brackets(3, [(0, 2, "1", "a"), (1, 3, "2", "b")])
    [['(1-a'], ['1)', '(2-b'], ['2)']]
    """
    opens, singles, closes = [[] for _ in range(n)], [[] for _ in range(n)], [[] for _ in range(n)]
    for start, end, ident, kind in sorted(mentions, key=lambda m: (m[0], -m[1])):
        label = ident if kind is None else f"{ident}-{kind}"
        if end - start == 1:
            singles[start].append(f"({label})")
        else:
            opens[start].append(f"({label}")
            closes[end - 1].insert(0, f"{ident})")
    return [c + o + s if o else s + c for o, s, c in zip(opens, singles, closes)]


def _with_entity(misc, value: str) -> str:
    """A raw MISC string with its Entity field set to ``value`` (removed when ``""``); ``_`` when empty."""
    items = [] if misc in (None, "_", "") else misc.split("|")
    at = next((k for k, item in enumerate(items) if item.startswith("Entity=")), None)
    if at is not None:
        del items[at]
    else:
        at = next((k for k, item in enumerate(items) if item.split("=")[0].lower() > "entity"), len(items))
    if value:
        items.insert(at, f"Entity={value}")
    return "|".join(items) or "_"


def write_mentions(path, sentences) -> None:
    """Write sentences with their ``extra["mentions"]`` as CoNLL-U (see :func:`format_mentions`), entity IDs
    counting up across the file, atomically: on any error the target is left as it was."""
    next_id = 1
    with atomic_write(path) as f:
        for sentence in sentences:
            tags = sentence.get("mentions")
            if tags is None:
                raise ValueError(f"{sentence.source or 'sentence'}: no mentions to write")
            text, next_id = format_mentions(sentence, tags, next_id)
            f.write(text)
