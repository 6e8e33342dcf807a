"""Documents: consecutive sentences that belong together (``# newdoc id`` in CoNLL-U), the unit a task that reads
whole documents (coreference) works on, with readers and writers of coreference in GUM's (CorefUD's) bracket
notation and a conversion to the CoNLL-2012 format that the reference coreference scorer reads.

Coreference on a document is a list of entities (``clusters``), each ``{"type": str, "mentions": [[start, end],
...]}`` over the document's words (``start`` from 0, ``end`` exclusive, counting across its sentences).
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field, replace
from typing import Any

from conllu.models import Token, TokenList
from conllu.parser import DEFAULT_FIELDS

from hierarchy.io.entities import (
    BracketError,
    find_mentions,
    format_entities,
    outermost,
    sentence_items,
    word_brackets,
)
from hierarchy.io.errors import CorpusError
from hierarchy.io.fileio import atomic_write
from hierarchy.io.sentence import Sentence, parse_each
from hierarchy.io.spans import bio_spans, bio_tags
from hierarchy.io.ud import read_conllu


@dataclass
class Document:
    """A document: its ``sentences`` in order, its ``id`` (``# newdoc id``), ``source`` ("path:line" of its first
    sentence) and the layers of the document tasks (``clusters``...) in ``extra``. ``len`` counts its words."""

    sentences: list[Sentence]
    id: str = ""
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return sum(len(s) for s in self.sentences)

    def get(self, name: str):
        """The document layer ``name`` (``None`` when absent)."""
        return self.extra.get(name)

    def with_layers(self, **layers) -> Document:
        """A copy with ``layers`` set in ``extra``."""
        return replace(self, extra={**self.extra, **layers})

    def offsets(self) -> list[int]:
        """Each sentence's first word in the document's word numbering.

        >>> Document([Sentence(["A", "b"]), Sentence(["C"])]).offsets()
        [0, 2]
        """
        out, n = [], 0
        for s in self.sentences:
            out.append(n)
            n += len(s)
        return out


def newdoc_id(sentence: Sentence) -> str | None:
    """The ID a ``# newdoc`` comment of ``sentence`` gives (``""`` for one without an ID), or None."""
    for comment in getattr(sentence.meta, "comments", None) or []:
        if comment.startswith("# newdoc"):
            return comment.split("=", 1)[1].strip() if "=" in comment else ""
    return None


def group_documents(sentences: list[Sentence], name: str = "") -> list[Document]:
    """Consecutive ``sentences`` as documents: a ``# newdoc`` comment begins one (one without an ID is named
    ``name-k``, k its position from 1); sentences before the first (all of them in a file without any) make one
    document named ``name``."""
    documents = []
    for s in sentences:
        ident = newdoc_id(s)
        if ident is not None or not documents:  # a # newdoc without an ID: the name, numbered
            fallback = name if ident is None else f"{name or 'doc'}-{len(documents) + 1}"
            documents.append(Document([], ident or fallback or f"doc{len(documents) + 1}", s.source))
        documents[-1].sentences.append(s)
    return documents


def with_context(sentences: list[Sentence], n: int) -> list[Sentence]:
    """Copies of ``sentences`` with ``extra["context"]``: up to ``n`` words before and after each, from the
    sentences around it in its document (:func:`group_documents`; a document's first sentence has none before).

    >>> [s.get("context") for s in with_context([Sentence(["A", "b"]), Sentence(["C"]), Sentence(["d"])], 2)]
    [([], ['C', 'd']), (['A', 'b'], ['d']), (['b', 'C'], [])]
    """
    out = []
    for document in group_documents(sentences):
        words = [w for s in document.sentences for w in s.words]
        for offset, s in zip(document.offsets(), document.sentences):
            end = offset + len(s)
            out.append(s.with_layers(context=(words[max(offset - n, 0) : offset], words[end : end + n])))
    return out


def read_coref(path, skip_bad: bool = False, given: bool = False) -> list[Document]:
    """The documents of a CoNLL-U file with Entity brackets in MISC (GUM), each sentence with ``extra["coref"]``:
    every mention, nested ones too, as ``(start, end, entity id, type)`` in the sentence, each document with
    its ``clusters`` (and with ``given``, its ``given_mentions``: the gold mentions as the candidates a model
    links, to score coreference on gold mentions). A malformed bracket is a CorpusError naming its line
    (``skip_bad``: the sentence is skipped with a warning, and its mentions with it)."""
    state = {"etype": 1, "types": {}}

    def parse(path, sentence):
        items, numbers = sentence_items(path, sentence, state)
        try:
            mentions = find_mentions(items, state["etype"], state["types"], ids=True)
        except BracketError as e:
            raise CorpusError(path, numbers[e.index], str(e)) from None
        return sentence.with_layers(coref=[(start, end, ident, kind) for start, end, kind, ident in mentions])

    documents = group_documents(parse_each(path, read_conllu(path, skip_bad), parse, skip_bad), str(path))
    documents = [d.with_layers(clusters=gather_clusters(d)) for d in documents]
    if given:
        documents = [d.with_layers(given_mentions=sorted(m for c in d.get("clusters") for m in c["mentions"]))
                     for d in documents]
    return documents


def gather_clusters(document: Document) -> list[dict]:
    """The entities of a document whose sentences carry ``extra["coref"]``, in order of first mention, each
    ``{"type", "mentions"}`` with document word spans in order."""
    entities = {}
    for offset, s in zip(document.offsets(), document.sentences):
        for start, end, ident, kind in s.get("coref") or []:
            entity = entities.setdefault(ident, {"type": kind, "mentions": []})
            entity["mentions"].append([offset + start, offset + end])
    return [{"type": e["type"], "mentions": sorted(e["mentions"])} for e in entities.values()]


def outermost_tags(sentence: Sentence) -> list[str]:
    """BIO tags of the outermost of a sentence's ``extra["coref"]`` mentions, as
    :func:`~hierarchy.io.entities.read_mentions` reads them from the same brackets."""
    return bio_tags(len(sentence), outermost([(a, b, kind) for a, b, _, kind in sentence.get("coref") or []]))


def spread_clusters(document: Document, clusters: list[dict], typing: float = 0.0) -> list[Sentence]:
    """The document's sentences with ``extra["coref"]`` set from ``clusters`` (entity IDs numbered from 1 in
    order of the clusters); a mention crossing a sentence boundary is an error.

    With ``typing`` > 0, a sentence's ``mentions`` (BIO tags of the mention layer) that are mentions of a cluster
    of two or more whose ``confidence`` (the mean probability of its type) is at least ``typing`` take the
    cluster's type; the tags as the mention layer gave them stay in ``mentions_layer``."""
    offsets, per_sentence, retype = document.offsets(), [[] for _ in document.sentences], {}
    for ident, cluster in enumerate(clusters, 1):
        confident = typing > 0 and len(cluster["mentions"]) > 1 and cluster.get("confidence", 0.0) >= typing
        for start, end in cluster["mentions"]:
            k = bisect.bisect_right(offsets, start) - 1  # the sentence the mention starts in
            if end > offsets[k] + len(document.sentences[k]):
                raise ValueError(f"{document.id}: mention [{start}, {end}] crosses a sentence boundary")
            per_sentence[k].append((start - offsets[k], end - offsets[k], str(ident), cluster["type"]))
            if confident:
                retype[k, start - offsets[k], end - offsets[k]] = cluster["type"]
    out = []
    for k, (s, mentions) in enumerate(zip(document.sentences, per_sentence)):
        s = s.with_layers(coref=sorted(mentions, key=lambda m: (m[0], -m[1])))
        tags = s.get("mentions")
        if typing > 0 and tags is not None:
            spans = [(a, b, retype.get((k, a, b), kind)) for a, b, kind in bio_spans(tags)]
            s = s.with_layers(mentions=bio_tags(len(s), spans), mentions_layer=tags)
        out.append(s)
    return out


def write_coref(path, documents: list[Document]) -> None:
    """Write documents as CoNLL-U with their ``clusters`` as Entity brackets (GUM's notation; entity IDs numbered
    from 1 in each document, ``# newdoc id`` before each), atomically."""
    with atomic_write(path) as f:
        for document in documents:
            for k, s in enumerate(spread_clusters(document, document.get("clusters") or [])):
                s = with_newdoc(s, document.id) if k == 0 else s
                f.write(format_entities(s, s.get("coref")))


def with_newdoc(sentence: Sentence, ident: str) -> Sentence:
    """``sentence`` with a ``# newdoc id`` comment first (in place of one it has)."""
    meta = sentence.meta
    if meta is None:
        meta = TokenList([Token(zip(DEFAULT_FIELDS, [i, w, *["_"] * 8])) for i, w in enumerate(sentence.words, 1)])
    copy = TokenList(list(meta), meta.metadata)
    copy.comments = [f"# newdoc id = {ident}", *(c for c in getattr(meta, "comments", None) or []
                                                 if not c.startswith("# newdoc"))]
    return sentence.with_layers(meta=copy)


def format_conll2012(document: Document, singletons: bool = True) -> str:
    """A document's ``clusters`` in the CoNLL-2012 format the reference scorer (``scorer.pl``) reads: ``#begin
    document (ID); part 000``, a line per word (document ID, part, word number, word, coreference column), a blank
    line after each sentence, ``#end document``. The last column holds ``(7`` ``7)`` ``(7)`` or ``-``, several
    joined by ``|``. ``singletons=False`` leaves out one-mention entities (OntoNotes-style scoring).

    >>> doc = Document([Sentence(["Ann", "saw", "her"])], "d1", extra={"clusters": [
    ...     {"type": "person", "mentions": [[0, 1], [2, 3]]}]})
    >>> print(format_conll2012(doc).replace(chr(9), " "))
    #begin document (d1); part 000
    d1 0 0 Ann (1)
    d1 0 1 saw -
    d1 0 2 her (1)
    <BLANKLINE>
    #end document
    <BLANKLINE>
    """
    clusters = [c for c in document.get("clusters") or [] if singletons or len(c["mentions"]) > 1]
    mentions = [(start, end, str(ident), None) for ident, c in enumerate(clusters, 1) for start, end in c["mentions"]]
    brackets = iter(word_brackets(len(document), mentions))
    name = document.id.replace(" ", "_") or "doc"
    lines = [f"#begin document ({name}); part 000"]
    for s in document.sentences:
        for k, word in enumerate(s.words):
            lines.append(f"{name}\t0\t{k}\t{word}\t{'|'.join(next(brackets)) or '-'}")
        lines.append("")
    return "\n".join(lines + ["#end document", ""])


def write_conll2012(path, documents: list[Document], singletons: bool = True) -> None:
    """:func:`format_conll2012` for each document, into one file, atomically."""
    with atomic_write(path) as f:
        f.writelines(format_conll2012(d, singletons) for d in documents)
