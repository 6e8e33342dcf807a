"""The one prediction path: batching, precision, decoding and writing predictions back, for sentences and sentence
pairs alike. ``hierarchy.load``, the spaCy component, ``evaluate``, ``annotate`` and the dev scores of training all
go through :class:`Predictor`; each task's spec turns its decoded ids into labels and scores them."""
from __future__ import annotations

import dataclasses
import functools
import warnings

import torch

from hierarchy.core.batching import batches, make_document_batch
from hierarchy.core.validation import PRECISIONS
from hierarchy.core.ranges import MAX_SENTENCE_WORDS
from hierarchy.io import Sentence
from hierarchy.io.documents import Document, with_context
from hierarchy.io.errors import ConfigError
from hierarchy.io.pairs import as_pair
from hierarchy.modules.transformer import TransformerInput
from hierarchy.tasks import TASKS


def autocast(device: torch.device, precision: str = "auto"):
    """bf16 autocast where ``precision`` asks for it: ``auto`` on CUDA only, ``bf16`` on any device (on a CPU it
    pays only where the CPU computes in bf16 natively, AMX or AVX512-BF16), ``fp32`` nowhere. ``bf16`` on a CPU
    that cannot run it (:func:`cpu_runs_bf16`) is a :class:`ConfigError`."""
    enabled = check_precision(precision) == "bf16" or (precision == "auto" and device.type == "cuda")
    if enabled and device.type == "cpu" and not cpu_runs_bf16():
        raise ConfigError("precision bf16: this CPU has neither AVX512-BF16 nor AMX, which bf16 LSTMs need on a "
                          "CPU; use --precision fp32 (or auto)")
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=enabled)


@functools.cache
def cpu_runs_bf16() -> bool:
    """Whether this CPU runs a bf16 LSTM under autocast: oneDNN needs AVX512-BF16 or AMX for it and raises
    elsewhere, so a tiny one is tried once."""
    lstm = torch.nn.LSTM(2, 2, batch_first=True)
    try:
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            lstm(torch.zeros(1, 2, 2))
    except RuntimeError:
        return False
    return True


ANNOTATION_PRECISIONS = (*PRECISIONS, "int8")  # int8: annotation only, on the CPU (see quantize)


def check_precision(precision: str) -> str:
    """``precision`` when it is one of :data:`ANNOTATION_PRECISIONS`; else a :class:`ConfigError`."""
    if precision not in ANNOTATION_PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(ANNOTATION_PRECISIONS)}, not '{precision}'")
    return precision


PER_CHANNEL = torch.ao.quantization.per_channel_dynamic_qconfig  # a scale per output row: closer to fp32 than one


def quantize(model) -> None:
    """int8 dynamic quantization of the linear layers of ``model``'s transformer input, in place and once: weights
    stored in int8 with a scale per output row, activations quantized batch by batch. The transformer is where the
    time goes; the hierarchy's own layers stay fp32 (quantized, its LSTMs were slower and its small linear layers
    gained 4%). For annotation on the CPU; a model without a transformer input is a :class:`ConfigError`."""
    if getattr(model, "quantized", False):
        return
    # a frozen transformer input keeps its encoder outside the model's submodules (it is not the model's to save)
    encoders = [m.encoder for m in model.modules() if isinstance(m, TransformerInput)]
    if not encoders:
        raise ConfigError("precision int8 quantizes a transformer input's linear layers, and this model has none "
                          "(use fp32)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization is deprecated for torchao, which is not a dependency
        for encoder in encoders:
            torch.ao.quantization.quantize_dynamic(encoder, {torch.nn.Linear: PER_CHANNEL}, inplace=True)
    model.quantized = True


BREAKS = {",", ";", ":", ".", "!", "?", "--", ")"}  # a piece ends after one of these where it can


def pieces(n: int, max_words: int, words=()) -> list[tuple[int, int]]:
    """Cut ``n`` words into consecutive ``(start, end)`` pieces of at most ``max_words``, of about equal size, each
    ending after punctuation (:data:`BREAKS`) when one lies in the last quarter of where it could end.

    >>> pieces(10, 4)
    [(0, 4), (4, 7), (7, 10)]
    >>> pieces(20, 16, [*"abcdefgh", ",", *"ijklmnopqrs"])
    [(0, 9), (9, 20)]
    """
    out, start = [], 0
    while n - start > max_words:
        remaining = -(-(n - start) // max_words)  # pieces still to make
        end = start + -(-(n - start) // remaining)
        early = next((k + 1 for k in range(end - 1, end - 1 - max(end - start, 4) // 4, -1)
                      if k < len(words) and words[k] in BREAKS), None)
        end = early if early and early > start else end
        out.append((start, end))
        start = end
    return out + [(start, n)]


DOCUMENT_WORDS = 10_000  # a longer document is predicted in parts of whole sentences (memory grows with its length)


def document_parts(document, limit: int | None = None) -> list:
    """``document`` as consecutive documents of whole sentences, each of at most ``limit`` (default
    :data:`DOCUMENT_WORDS`) words where its sentences allow (a longer sentence is a part of its own); one part when
    it is short enough.

    >>> from hierarchy.io.documents import Document
    >>> [len(p) for p in document_parts(Document([Sentence(["a"] * 4), Sentence(["b"] * 4), Sentence(["c"])]), 5)]
    [4, 5]
    """
    limit, parts, size = limit or DOCUMENT_WORDS, [], 0
    for s in document.sentences:
        if not parts or size + len(s) > limit:
            parts.append([])
            size = 0
        parts[-1].append(s)
        size += len(s)
    return [dataclasses.replace(document, sentences=part) for part in parts]


def join_words(layers: list, lengths: list[int], vocabs) -> dict:
    """A spec's default ``join``: per-word fields of consecutive pieces concatenated."""
    return {name: [v for piece in layers for v in piece[name]] for name in layers[0]}


def cut(sentence: Sentence, spans: list[tuple[int, int]], n: int) -> list[Sentence]:
    """The word ranges ``spans`` of ``sentence`` as sentences; where the sentence has a context, each piece's is up to
    ``n`` words a side (at least as many as the sentence's), as :func:`with_context` reads them from the sentence's
    other words, then from its context.

    >>> sentence = Sentence(["a", "b", "c", "d"]).with_layers(context=(["x"], ["y"]))
    >>> [p.get("context") for p in cut(sentence, [(0, 1), (1, 3), (3, 4)], 2)]
    [(['x'], ['b', 'c']), (['x', 'a'], ['d', 'y']), (['b', 'c'], ['y'])]
    """
    parts = [Sentence(sentence.words[a:b], source=sentence.source) for a, b in spans]
    if sentence.get("context") is None:
        return parts
    left, right = sentence.get("context")
    n = max(n, len(left), len(right))
    return with_context([Sentence(list(left)), *parts, Sentence(list(right))], n)[1:-1]


class Predictor:
    """Predicts with a trained ``model`` and its ``vocabs`` on ``device`` (default: the model's) in batches of
    about ``batch_tokens`` words; ``precision`` as in :func:`autocast`. A sentence longer than ``max_words`` is
    predicted in pieces (:func:`pieces`) that each task's spec joins back into one sentence (``TaskSpec.join``)."""

    def __init__(self, model, vocabs, device=None, precision: str = "auto", batch_tokens: int = 4000,
                 max_words: int = MAX_SENTENCE_WORDS):
        if max_words < 1:
            raise ConfigError(f"max_sentence_words must be at least 1, not {max_words}")
        self.model, self.vocabs, self.batch_tokens, self.max_words = model, vocabs, batch_tokens, max_words
        self.device = device or next(model.parameters()).device
        transformer = getattr(getattr(model, "embed", None), "transformer", None)
        self.context = transformer.context if transformer is not None else 0  # words of the neighbours, a side
        self.precision = check_precision(precision)
        if precision == "int8":
            if self.device.type != "cpu":
                raise ConfigError(f"precision int8 is for the CPU, not {self.device.type} (use bf16 on a GPU)")
            quantize(model)

    def tasks(self, unit: str) -> list[str]:
        """The model's tasks over ``unit`` (``sentence``, ``pair`` or ``document``), bottom first."""
        return [t for t in self.model.depth if TASKS[t].unit == unit]

    def in_context(self, sentences: list) -> list:
        """``sentences`` as the model reads them: copies with up to :attr:`context` words of their neighbours a side
        (:func:`~hierarchy.io.documents.with_context`, within their ``# newdoc`` documents; else the list is one)
        when the model reads context and none carries its own; else the list itself."""
        if self.context and all(s.get("context") is None for s in sentences):
            return with_context(sentences, self.context)
        return sentences

    @torch.no_grad()
    def __call__(self, items, tasks=None, inject=None) -> list:
        """Predict ``tasks`` (default: all the model's tasks over the items' unit) for ``items``.

        Sentences give copies whose fields hold the predictions (an empty sentence is returned as it is); sentence
        pairs (:class:`~hierarchy.io.Pair`) give one dict per pair with every field of the model's pair tasks
        (``None`` for a task not predicted). ``inject``: one head list per sentence (1-based, 0 = root), the parse
        a syntax head attends to instead of its own distribution. Items are batched by length; the output keeps
        the input order; batched predictions equal one-by-one ones (in fp32: bf16 rounds a little differently in
        batches of other shapes), except that a transformer input with document context reads each sentence beside
        its neighbours in the list (its ``# newdoc`` documents) unless the sentences carry their context already.
        Sentences longer than ``max_words`` are predicted in pieces (not with ``inject``, whose heads may cross
        them).
        """
        if items and isinstance(items[0], Document):
            return self._documents(items, tasks)
        if inject is None and any(hasattr(item, "words") and len(item) > self.max_words for item in items):
            return self._in_pieces(items, tasks)
        unit = "pair" if items and not hasattr(items[0], "words") else "sentence"
        tasks = [t for t in (self.tasks(unit) if tasks is None else tasks) if t in self.model.depth
                 and TASKS[t].unit == unit]
        if inject is not None and len(inject) != len(items):
            raise ValueError(f"inject: {len(inject)} parses for {len(items)} sentences")
        if unit == "pair":
            out = [dict.fromkeys(f for t in self.tasks("pair") for f in TASKS[t].fields) for _ in items]
            keep = list(range(len(items)))
        else:
            out = list(items)
            keep = [i for i, s in enumerate(items) if len(s) > 0]
        inputs = [items[i] if inject is None else dataclasses.replace(items[i], heads=inject[i]) for i in keep]
        if unit == "sentence":
            inputs = self.in_context(inputs)
        if not tasks or not inputs:
            return out
        was_training = self.model.training
        self.model.eval()
        try:
            injection = next((TASKS[t].inject for t in self.model.depth if TASKS[t].inject), None)
            for batch in batches(inputs, self.vocabs, self.batch_tokens, inject=None if inject is None else injection):
                with autocast(self.device, self.precision):
                    scores = self.model(batch.to(self.device), tasks)
                    decoded = {t: self.model.tasks[t].decode(scores[t], batch) for t in tasks}
                for row, i in enumerate(batch.index):
                    k = keep[i]
                    fields = self._row(decoded, tasks, row, items[k])
                    out[k] = out[k] | fields if unit == "pair" else out[k].with_layers(**fields)
        finally:
            self.model.train(was_training)
        return out

    def _documents(self, documents, tasks) -> list:
        """:meth:`__call__` over :class:`~hierarchy.io.documents.Document` objects, a batch each: the sentence
        tasks' predictions (those asked and those the document tasks asked need) go into its sentences, the document
        tasks' into the document (and, through their spec's ``spread``, into its sentences too). A document longer
        than :data:`DOCUMENT_WORDS` is predicted in consecutive parts of whole sentences that its document tasks'
        specs join (``TaskSpec.join``; nothing links across parts), so memory stays bounded. Sentences are not cut
        into pieces here (``max_words``)."""
        units = ("sentence", "document")
        asked = self.model.depth if tasks is None else tasks
        needed = {n for t in asked if t in self.model.depth for n in TASKS[t].needs}  # what they read below
        tasks = [t for t in self.model.depth if (t in asked or t in needed) and TASKS[t].unit in units]
        out = []
        was_training = self.model.training
        self.model.eval()
        try:
            for document in documents:
                if not tasks or not len(document):
                    out.append(document)
                    continue
                document = dataclasses.replace(document, sentences=self.in_context(document.sentences))
                parts = [self._document_pass(part, tasks) for part in document_parts(document)]
                document = dataclasses.replace(document, sentences=[s for part, _ in parts for s in part.sentences])
                for t in tasks:
                    if TASKS[t].unit == "document":
                        layers = [fields[t] for _, fields in parts]
                        joined = TASKS[t].join(layers, [len(part) for part, _ in parts], self.vocabs) \
                            if len(parts) > 1 else layers[0]
                        document = document.with_layers(**joined)
                        if TASKS[t].spread:
                            document = dataclasses.replace(document, sentences=TASKS[t].spread(document))
                out.append(document)
        finally:
            self.model.train(was_training)
        return out

    def _document_pass(self, document, tasks) -> tuple:
        """One batch of a document (or part of one): ``(the document with its sentences predicted, {document task:
        its fields})``."""
        keep = [k for k, s in enumerate(document.sentences) if len(s)]
        batch = make_document_batch(document, self.vocabs, readers=[TASKS[t] for t in tasks])
        with autocast(self.device, self.precision):
            scores = self.model(batch.to(self.device), tasks)
            decoded = {t: self.model.tasks[t].decode(scores[t], batch) for t in tasks}
        sentences = list(document.sentences)
        per_sentence = [t for t in tasks if TASKS[t].unit == "sentence"]
        for row, k in enumerate(keep):
            sentences[k] = sentences[k].with_layers(**self._row(decoded, per_sentence, row, sentences[k]))
        document = dataclasses.replace(document, sentences=sentences)
        fields = {t: self._row(decoded, [t], 0, document) for t in tasks if TASKS[t].unit == "document"}
        return document, fields

    def _row(self, decoded: dict, tasks, row: int, item) -> dict:
        """The fields of ``tasks`` for row ``row`` of a batch's ``decoded`` ids: each spec's labels for ``item``."""
        fields = {}
        for t in tasks:
            fields.update(TASKS[t].predictions({name: v[row] for name, v in decoded[t].items()}, self.vocabs, item))
        return fields

    def _in_pieces(self, sentences, tasks) -> list:
        """:meth:`__call__` with each sentence longer than ``max_words`` cut into pieces, predicted, and joined. With
        document context (the model's, or the sentences' own), a piece reads the words around it: first its
        sentence's other words, then the sentence's context."""
        read = self.in_context(sentences)
        added = read is not sentences
        flat, cuts = [], []
        for s in read:
            spans = pieces(len(s), self.max_words, s.words)
            cuts.append((len(flat), spans))
            flat += [s] if len(spans) == 1 else cut(s, spans, self.context)
        predicted = self(flat, tasks)
        out = []
        for s, (first, spans) in zip(sentences, cuts):
            if len(spans) == 1:  # the context is read, not written back
                p = predicted[first]
                out.append(dataclasses.replace(p, extra={k: v for k, v in p.extra.items() if k != "context"})
                           if added else p)
                continue
            parts, lengths, layers = predicted[first : first + len(spans)], [b - a for a, b in spans], {}
            for t in tasks if tasks is not None else self.tasks("sentence"):
                if t in self.model.depth and all(p.get(f) is not None for p in parts for f in TASKS[t].fields):
                    fields = [{f: p.get(f) for f in TASKS[t].fields} for p in parts]
                    layers.update((TASKS[t].join or join_words)(fields, lengths, self.vocabs))
            out.append(s.with_layers(**layers))
        return out

    def pairs(self, pairs) -> list[dict]:
        """For each pair, the fields of the model's pair tasks (``{"relatedness": 4.2, "label": ..., "probabilities":
        {...}}``); ``pairs`` are :class:`~hierarchy.io.Pair` objects or ``(premise, hypothesis)`` tuples of
        texts (tokenized with spaCy), word lists or Sentences."""
        if not self.tasks("pair"):
            raise ConfigError(f"the model has no sentence-pair layer; it has {', '.join(self.model.depth)}")
        pairs = [as_pair(p) for p in pairs]
        for i, pair in enumerate(pairs):
            if not (len(pair.premise) and len(pair.hypothesis)):
                raise ValueError(f"pair {i} ({pair.source or 'input'}): a sentence of the pair is empty")
        return self(pairs)

    def evaluate(self, corpora: dict[str, list]) -> tuple[dict, dict]:
        """Score each task on its own gold corpus: ``{task: sentences or pairs}`` -> ``({task: {name: metric}},
        {task: predicted})``. Tasks reading the same corpus share one prediction run."""
        results, predictions, groups = {}, {}, {}
        for task, items in corpora.items():
            groups.setdefault(id(items), (items, []))[1].append(task)
        for items, tasks in groups.values():
            predicted = self(items, tasks)
            for task in tasks:
                predictions[task] = predicted
                results[task] = TASKS[task].metric(predicted, items, self.vocabs)
        return results, predictions


def annotate(model, vocabs, sentences, tasks=None, batch_tokens: int = 4000, device=None, inject=None,
             precision: str = "auto") -> list:
    """:class:`Predictor` over sentences: copies of ``sentences`` with the predictions of ``tasks``."""
    return Predictor(model, vocabs, device, precision, batch_tokens)(list(sentences), tasks, inject)


def predict_pairs(model, vocabs, pairs, batch_tokens: int = 4000, device=None, precision: str = "auto") -> list:
    """:meth:`Predictor.pairs`."""
    return Predictor(model, vocabs, device, precision, batch_tokens).pairs(pairs)


def score(task: str, predicted, gold, vocabs=None) -> dict:
    """The metrics of ``task`` over aligned predicted and gold items (its spec's ``metric``): ``{name: metric}``."""
    return TASKS[task].metric(predicted, gold, vocabs)


def evaluate(model, vocabs, corpora: dict[str, list], batch_tokens: int = 4000, device=None, precision: str = "auto"):
    """:meth:`Predictor.evaluate`."""
    return Predictor(model, vocabs, device, precision, batch_tokens).evaluate(corpora)
