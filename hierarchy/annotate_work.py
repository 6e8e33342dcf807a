"""The work of ``hierarchy annotate`` on the chunks of its input, in this process or in forked worker processes:
sentences predicted in batches or, for a model with a document task (coreference), documents, each predicted in
one pass (its sentence layers and its document layers).

A document is one input file of raw text (its paragraphs in order) or, in CoNLL-U, the sentences from one
``# newdoc`` comment to the next (a file without any is one document, named by the file). A transformer input with
document context reads a sentence beside its paragraph's neighbours (text) or its document's (CoNLL-U). The document
tasks' layers reach the sentences through their spec's ``spread`` (where their CoNLL-U column, JSON and HTML writers
read them); the document's own fields (``clusters``) come with its first sentence.
"""
from __future__ import annotations

import contextlib
import signal

import torch

from hierarchy.core.text import text_sentences
from hierarchy.io.documents import Document, newdoc_id, with_context
from hierarchy.tasks import TASKS


def named_sentences(chunk, nlp, input: str, max_words: int) -> list[tuple]:
    """``(file name, the sentence's number in its paragraph, sent_id or None, Sentence)`` for each sentence of
    ``chunk``: ``(file name, paragraph)`` units split by ``nlp`` (text) or ``(file name, Sentence)`` (CoNLL-U)."""
    if input == "text":
        return [(name, k, None, s) for name, p in chunk for k, s in enumerate(text_sentences(nlp, p, max_words))]
    return [(name, 0, None if s.meta is None or s.meta.metadata.get("sent_id") is None
             else str(s.meta.metadata["sent_id"]), s) for name, s in chunk]


def by_document(units, input: str) -> list[list]:
    """Consecutive ``(file name, paragraph or Sentence)`` units cut into documents: a file begins one, and so does a
    CoNLL-U sentence with a ``# newdoc`` comment."""
    documents, previous = [], None
    for name, item in units:
        if not documents or name != previous or (input == "conllu" and newdoc_id(item) is not None):
            documents.append([])
        documents[-1].append((name, item))
        previous = name
    return documents


def document_chunks(units, input: str, size: int) -> list[list]:
    """The units in chunks of whole documents, a chunk filled up to about ``size`` units (a longer document makes a
    chunk of its own), for the worker processes."""
    chunks = []
    for document in by_document(units, input):
        if not chunks or len(chunks[-1]) >= size:
            chunks.append([])
        chunks[-1].extend(document)
    return chunks


def predict_chunk(predictor, nlp, input: str, max_words: int, documents: bool, chunk) -> list[tuple]:
    """``(file name, number in paragraph, sent_id, predicted Sentence, document)`` per sentence of ``chunk``.
    ``documents`` false: the sentences are predicted in batches and ``document`` is None. True: each document of
    the chunk is predicted as one (:meth:`~hierarchy.core.predict.Predictor.__call__` on Documents) and
    ``document`` is ``{"doc_id": its ID}``, with the fields of the model's document tasks (``field: value``) on its
    first sentence."""
    if not documents:
        named = named_sentences(chunk, nlp, input, max_words)
        predicted = predictor(in_context(named, input, predictor.context), predictor.tasks("sentence"))
        return [(*n[:3], s, None) for n, s in zip(named, predicted)]
    groups = [named_sentences(units, nlp, input, max_words) for units in by_document(chunk, input)]
    given = [Document(in_context(group, input, predictor.context), document_id(group, input)) for group in groups]
    fields = [f for t in predictor.tasks("document") for f in TASKS[t].fields]
    out = []
    for group, document in zip(groups, predictor(given)):
        layers = [{"doc_id": document.id, **({f: document.get(f) for f in fields} if k == 0 else {})}
                  for k in range(len(group))]
        out += [(*n[:3], s, d) for n, s, d in zip(group, document.sentences, layers)]
    return out


def in_context(named: list[tuple], input: str, n: int) -> list:
    """The sentences of :func:`named_sentences`, each with up to ``n`` words of its neighbours a side from its
    paragraph (text) or document (CoNLL-U: a file, or from one ``# newdoc`` to the next) for a transformer input
    that reads them (:func:`~hierarchy.io.documents.with_context`); as they are for ``n`` = 0."""
    if not n:
        return [s for *_, s in named]
    groups = []
    for name, k, _, s in named:
        new = not groups or name != groups[-1][0] or (k == 0 if input == "text" else newdoc_id(s) is not None)
        if new:
            groups.append((name, []))
        groups[-1][1].append(s)
    return [s for _, group in groups for s in with_context(group, n)]


def document_id(group: list[tuple], input: str) -> str:
    """A document's ID: its first sentence's ``# newdoc id`` (CoNLL-U), else its file's name."""
    name, _, _, first = group[0]
    return (newdoc_id(first) if input == "conllu" else None) or name


@contextlib.contextmanager
def workers(nproc: int):
    """``nproc`` worker processes forked from this one (the model loaded once, shared copy-on-write), each on one
    thread; None for one process (the work is done here)."""
    if nproc == 1:
        yield None
        return
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(nproc, initializer=_worker_start) as pool:
        yield pool


def _worker_start() -> None:
    """A worker: one thread; signals as by default (the parent handles Ctrl-C and SIGTERM, and ends the pool)."""
    torch.set_num_threads(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
