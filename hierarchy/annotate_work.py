"""The work of ``hierarchy annotate`` on the chunks of its input, in this process or in forked worker processes:
sentences predicted in batches or, for a model with a document task (coreference), documents, each predicted in
one pass (its sentence layers and its document layers), then formatted (:mod:`hierarchy.formats`) but for what
depends on the sentences' numbers, which the process that writes them adds. A chunk is a range of the input's
units (paragraphs or CoNLL-U sentences), which the forked workers already hold (:func:`chunk_ranges`).

A document is one input file of raw text (its paragraphs in order) or, in CoNLL-U, the sentences from one
``# newdoc`` comment to the next (a file without any is one document, named by the file). A transformer input with
document context reads a sentence beside its paragraph's neighbours (text) or its document's (CoNLL-U). The document
tasks' layers reach the sentences through their spec's ``spread`` (where their CoNLL-U column, JSON and HTML writers
read them); the document's own fields (``clusters``) come with its first sentence.
"""
from __future__ import annotations

import contextlib
import dataclasses
import signal

import torch

from hierarchy import formats
from hierarchy.core.predict import Predictor
from hierarchy.core.text import text_sentences
from hierarchy.io import Sentence, signals
from hierarchy.io.documents import Document, newdoc_id, with_context, with_newdoc
from hierarchy.io.ud import format_sentence
from hierarchy.tasks import TASKS


def named_sentences(chunk, nlp, input: str, max_words: int) -> list[tuple]:
    """``(file name, the sentence's number in its paragraph, sent_id or None, Sentence)`` for each sentence of
    ``chunk``: ``(file name, paragraph)`` units split by ``nlp`` (text) or ``(file name, Sentence)`` (CoNLL-U)."""
    if input == "text":
        return [(name, k, None, s) for name, p in chunk for k, s in enumerate(text_sentences(nlp, p, max_words))]
    return [(name, 0, None if s.meta is None or s.meta.metadata.get("sent_id") is None
             else str(s.meta.metadata["sent_id"]), s) for name, s in chunk]


def by_document(units, input: str) -> list[list]:
    """Consecutive ``(file name, paragraph or Sentence)`` units cut into documents (:func:`document_starts`)."""
    starts = document_starts(units, input)
    return [units[a:b] for a, b in zip(starts, starts[1:] + [len(units)])]


def document_starts(units, input: str) -> list[int]:
    """Where in ``units`` (``(file name, paragraph or Sentence)``) a document begins: a file begins one, and so does
    a CoNLL-U sentence with a ``# newdoc`` comment."""
    return [k for k, (name, item) in enumerate(units) if k == 0 or name != units[k - 1][0]
            or (input == "conllu" and newdoc_id(item) is not None)]


MIN_CHUNK_WORDS = 2000  # the smallest chunk of work for worker processes (a batch of fewer words runs slower)


def chunk_ranges(sizes: list[int], batch_size: int, nproc: int = 1, starts: list[int] | None = None) -> list[tuple]:
    """``(start, end)`` of each chunk of the units of ``sizes`` words, a chunk beginning only where one of
    ``starts`` does (None: at any unit; the documents' starts where a document is predicted whole): ``batch_size``
    units each for one process (a unit that begins past them ends the chunk, so one long document makes a chunk);
    for several, chunks that shrink as the work does (guided scheduling: about the words left / ``2 nproc``, at
    least :data:`MIN_CHUNK_WORDS`, at most ``batch_size`` units), so that the workers, each taking the next chunk
    when it is done with one, finish together.

    >>> chunk_ranges([10] * 10, 4), chunk_ranges([10] * 10, 4, starts=[0, 3, 7, 8])
    ([(0, 4), (4, 8), (8, 10)], [(0, 7), (7, 10)])
    >>> chunk_ranges([1000] * 20, 8, nproc=2)
    [(0, 5), (5, 9), (9, 12), (12, 14), (14, 16), (16, 18), (18, 20)]
    """
    cuts = [*(range(len(sizes)) if starts is None else starts), len(sizes)]
    out, first, left = [], 0, sum(sizes)
    while first < len(cuts) - 1:
        target = max(left / (2 * nproc), MIN_CHUNK_WORDS) if nproc > 1 else float("inf")
        last, words = first, 0
        while last < len(cuts) - 1 and (last == first or (cuts[last] - cuts[first] < batch_size and words < target)):
            words += sum(sizes[cuts[last] : cuts[last + 1]])
            last += 1
        out.append((cuts[first], cuts[last]))
        first, left = last, left - words
    return out


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


@dataclasses.dataclass
class Work:
    """An annotation under way, as the workers read it (forked, they share it): the input's units (paragraphs or
    CoNLL-U sentences, each with its file's name) and how to predict and format them."""

    units: list
    predictor: Predictor
    tasks: list  # the sentence tasks, then the document tasks
    nlp: object  # spaCy's tokenizer and sentencizer
    input: str
    format: str
    max_words: int
    documents: bool  # the model has a document task: each document is predicted in one pass
    varying: bool  # CoNLL-U input whose extra columns vary: this project's go after MISC, no global.columns

    def rest(self, sentence: Sentence, document: dict | None) -> tuple[str, str]:
        """A predicted sentence in the output's format, without what numbering writes (the ``# sent_id`` comment
        of text input, JSON's ``sent_id``, the figure's number and a document's heading before it); and the ``#
        global.columns`` line that goes before it, when it comes first."""
        if self.format == "html":
            return "", formats.html_figure(self.nlp.vocab, sentence, self.tasks)
        if self.format == "jsonl":
            return "", formats.jsonl_rest(sentence, self.tasks, document)
        sentence = formats.with_columns(sentence, self.tasks, after_misc=self.varying)
        return "" if self.varying else formats.conllu_header(sentence), format_sentence(sentence)


_WORK: Work | None = None  # the annotation under way


def annotate_chunk(bounds: tuple[int, int]) -> tuple[str, list[tuple]]:
    """The units ``bounds`` of the work under way (:func:`workers`), predicted (:func:`predict_chunk`) and
    formatted: the ``# global.columns`` line of the first sentence (:meth:`Work.rest`), and ``(file name,
    paragraph's sentence number, sent_id or None, the ID of the document it begins or None, the sentence's text in
    the output format)`` for each sentence."""
    work, out, header = _WORK, [], None
    for name, k, sent_id, s, document in predict_chunk(work.predictor, work.nlp, work.input, work.max_words,
                                                       work.documents, work.units[slice(*bounds)]):
        begins = document["doc_id"] if document is not None and document.keys() - {"doc_id"} else None
        if begins is not None and work.input == "conllu" and newdoc_id(s) is None:
            s = with_newdoc(s, begins)
        first, rest = work.rest(s, document)
        header = first if header is None else header
        out.append((name, k, sent_id, begins, rest))
    return header or "", out


@contextlib.contextmanager
def torch_threads(n: int | None):
    """torch on ``n`` threads inside (None: as it is), on as many as before after. On busy cores a second thread
    mostly waits at OpenMP's barriers (checking the weights took 0.8 s on two threads, 0.05 s on one)."""
    before = torch.get_num_threads()
    torch.set_num_threads(n or before)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def workers(nproc: int, work: Work):
    """A ``map`` of :func:`annotate_chunk` over chunks of ``work``, in input order: here for one process, else in
    ``nproc`` worker processes forked from this one (the model loaded once, shared copy-on-write), each on one
    thread."""
    global _WORK
    _WORK = work
    try:
        if nproc == 1:
            yield lambda chunks: map(annotate_chunk, chunks)
            return
        import gc
        import multiprocessing

        # Ctrl-C and SIGTERM wait while the workers are forked: a signal that arrived during a fork would run its
        # handler inside the at-fork hooks (logging's), which print the exception it raises and go on (the signal
        # lost). Blocked in this thread (and so in the workers until they take the default handlers: the pool's
        # SIGTERM then ends one that has not started), and held back for the others (tqdm's, OpenMP's), which may
        # take a signal sent to the process; raised after the fork, it ends the pool.
        with contextlib.ExitStack() as stack:
            # The objects that exist now (the model's, spaCy's) go where the workers' garbage collector does not
            # walk: walking them writes to their pages, which copy-on-write then copies into each worker (the
            # workers did 20% more work than one process before, measured on one core). Back after the pool.
            gc.freeze()
            stack.callback(gc.unfreeze)
            previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOPS)
            try:
                with signals.deferred():
                    pool = stack.enter_context(multiprocessing.get_context("fork").Pool(nproc,
                                                                                        initializer=_worker_start))
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, previous)
            yield lambda chunks: pool.imap(annotate_chunk, chunks)
    finally:
        _WORK = None


STOPS = {signal.SIGINT, signal.SIGTERM}


def _worker_start() -> None:
    """A worker: one thread; signals as by default (the parent handles Ctrl-C and SIGTERM, and ends the pool)."""
    torch.set_num_threads(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPS)  # forked while they were blocked
