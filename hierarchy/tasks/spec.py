"""What a task is: one :class:`TaskSpec` per task, declared in the task's own module, and the :class:`Context` a
task head's ``forward`` receives. The rest of the library (config, vocabularies, batching, the model, training,
prediction, the command line, the spaCy component) iterates over the specs and never names a task.

A head is an ``nn.Module`` with four parts: ``forward(context) -> scores``, ``loss(scores, batch)``,
``decode(scores, batch) -> {field: per-item values}`` and, when ``n_label_out > 0``, ``label_embedding(scores)``:
``[batch_size, seq_len, n_label_out]`` (per token) or ``[batch_size, n_label_out]`` (per sentence, given to every
token of the layer above).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from hierarchy.io import read_conllu, write_conllu
from hierarchy.io.vocab import Vocab


@dataclass
class Context:
    """What a head reads: the ``batch``, its layer's ``states`` ``[batch_size, seq_len, n_in]``, the layer's
    syntax-head logits ``arcs`` ``[batch_size, seq_len, seq_len]`` (attention layers with a syntax head, else
    ``None``), ``below``: the scores of the tasks computed lower in the stack, by task name, and ``inputs``: the
    word representations every layer reads (JMT's shortcut), ``[batch_size, seq_len, n_embed]``."""

    batch: Any
    states: torch.Tensor
    arcs: torch.Tensor | None = None
    below: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)
    inputs: torch.Tensor | None = None


@dataclass
class Writers:
    """How a task's predictions reach the user.

    ``conllu``: CoNLL-U Plus columns ``{COLUMN: values(sentence)}``, one string per word (fields CoNLL-U has, like
    UPOS or HEAD, need none); ``json``: ``json(sentence) -> dict`` of the task's keys in a ``jsonl`` line;
    ``spacy``: an object with ``write(doc, parse, vocab)`` (``doc.spans``, extensions; token attributes through
    ``parse.set_columns``), ``score(examples, **kwargs) -> dict`` (``nlp.evaluate``), ``score_weights`` (spaCy's score
    names and their weights), ``performance`` (``{spaCy score name: (metric name, value)}`` in the dev scores,
    for a packaged model's meta.json) and ``assigns`` (what it sets, for spaCy's pipe analysis); ``html``:
    ``html(sentence) -> [(spans key, [(start, end, label)])]``, the spans shown under a sentence's tree;
    ``file``: ``(suffix, write(path, gold, predicted, data))`` for ``evaluate --write-predictions`` (``suffix``
    a string or a function of the ``[data]`` config); ``replaces_extra``: in ``annotate --input conllu``, its
    columns replace the input's undeclared columns 11+ (e.g. Universal PropBank's role columns)."""

    conllu: dict[str, Callable] = field(default_factory=dict)
    json: Callable | None = None
    spacy: Any = None
    html: Callable | None = None
    file: tuple | None = None
    replaces_extra: bool = False


@dataclass
class TaskSpec:
    """Everything that makes a task, in one place.

    - ``name``; ``title`` for tables and meta.json.
    - ``data_key``: the ``[data]`` key of its training corpus (``<data_key>_dev``: its dev corpus); tasks sharing
      a key share the corpus. ``read(path, data)``: the reader (``data``: the recipe's ``[data]``, for
      ``skip_bad`` and the task's ``options``). ``options``: ``[data]`` keys of its own, each with its allowed
      values, the first the default (e.g. ``srl_format``).
    - ``fields``: the Sentence fields (or, for ``unit == "pair"``, the keys of a pair prediction) it predicts.
      ``annotated(item)``: whether a gold item carries its annotation.
    - ``labels(items) -> {table: Vocab}``: its label vocabularies, built from its training corpus.
    - ``head(n_in, model_config, vocabs, layer, tasks, n_embed) -> nn.Module`` (``layer``: its LayerConfig;
      ``tasks``: all the tasks of the stack; ``n_embed``: the size of ``Context.inputs``).
    - ``gold(items, vocabs, seq_len) -> {name: tensor}``: the gold tensors its ``loss`` reads.
    - ``predictions(values, vocabs, item) -> {field: value}``: one item's decoded ids as labels.
    - ``metric(predicted, gold, vocabs) -> {name: Metric}``; ``rows(name, metric)`` -> table rows
      ``(metric name, precision, recall, F1 or the score)`` (``None`` for an empty cell; names indented by two
      spaces for per-type rows); ``score(metrics)``: the fraction model selection reads; ``score_weight``: its
      weight in model selection (a recipe's ``train.score_weights`` overrides it); ``details(metric)``: more
      for ``evaluate --json`` (per type, per class...); ``report(metric)``: more tables for ``evaluate``.
      ``score_range``: the bounds of ``score`` (a correlation's are -1 and 1), which map it to [0, 1] where a
      training strategy needs that (DTP's KPI); ``regression``: its loss is a regression's (uncertainty
      weighting halves its terms, as Kendall et al. do).
    - ``needs``: tasks that, where the stack has them, must sit below it (their scores reach its head).
    - ``unit``: ``"sentence"``, ``"pair"`` (sentence-pair tasks are the top of the stack) or ``"document"`` (its
      items are :class:`~hierarchy.io.documents.Document` objects, one a batch, their sentences the batch's rows;
      above the sentence tasks). ``spread(document) -> sentences``: a document task's predictions carried into
      its sentences (``extra``), where its sentence-level writers (CoNLL-U columns) read them.
    - ``flag``: ``hierarchy evaluate --<flag> FILE`` (tasks with the same flag score the same file);
      ``arcs``: its head can take a syntax head's attention as its arcs (LISA); ``inject``: how a parse reaches
      that syntax head in place of its own attention (``heads(name, parse, path, gold)``: the heads to inject for
      a gold file; ``positions(sentences, seq_len)``: ``batch.inject``), e.g. the dependency task's.
    - ``inputs(items) -> {name: tensor}``: what its head reads besides the words, in training and prediction alike
      (``batch.inputs``; e.g. a document's given mentions); None: nothing.
    - ``writers``: see :class:`Writers`.
    - ``join(layers, lengths, vocabs) -> {field: value}``: its fields for one sentence from those predicted on
      consecutive pieces of it (``layers``: one ``{field: value}`` per piece; ``lengths``: their word counts), for
      sentences too long to predict whole; None: per-word lists, concatenated. A document task's joins the parts
      of a document too long to predict whole (``core.predict.DOCUMENT_WORDS``).
    """

    name: str
    title: str
    data_key: str
    read: Callable
    fields: tuple[str, ...]
    labels: Callable
    head: Callable
    gold: Callable
    predictions: Callable
    metric: Callable
    rows: Callable
    score: Callable = lambda metrics: next(iter(metrics.values())).score
    score_weight: float = 1.0
    score_range: tuple[float, float] = (0.0, 1.0)
    regression: bool = False
    details: Callable = lambda metric: {}
    report: Callable = lambda metric: []
    needs: tuple[str, ...] = ()
    unit: str = "sentence"
    flag: str = ""
    arcs: bool = False
    inject: Any = None
    options: dict[str, tuple[str, ...]] = field(default_factory=dict)
    annotated: Callable | None = None
    writers: Writers = field(default_factory=Writers)
    join: Callable | None = None
    spread: Callable | None = None
    inputs: Callable | None = None

    def carries(self, item) -> bool:
        """Whether a gold ``item`` carries this task's annotation."""
        return self.annotated(item) if self.annotated else item.get(self.fields[0]) is not None


def write_ud(path, gold, predicted, data) -> None:
    """A ``writers.file`` writer for CoNLL-U: the input's sentences with the predicted layers."""

    write_conllu(path, predicted)


def read_ud(path, data):
    """A ``read`` for CoNLL-U (one function, so tasks reading the same file share one reading of it)."""

    return read_conllu(path, data.skip_bad)


def token_gold(fields: tuple[str, ...]) -> Callable:
    """A ``gold`` for per-token label fields: ``{field: [batch_size, seq_len]}`` label ids, -100 where a sentence
    lacks the field or the label is unknown."""

    def gold(sentences, vocabs, seq_len: int) -> dict[str, torch.Tensor]:
        out = {}
        for name in fields:
            table = vocabs.labels[name].stoi
            for i, s in enumerate(sentences):
                values = s.get(name)
                if values is None:
                    continue
                tensor = out.setdefault(name, torch.full((len(sentences), seq_len), -100, dtype=torch.long))
                tensor[i, : len(s)] = torch.tensor([table.get(v, -100) for v in values])
        return out

    return gold


def token_labels(fields: tuple[str, ...]) -> Callable:
    """A ``labels`` for per-token label fields: one table per field, the labels seen, sorted."""

    def labels(sentences) -> dict:

        return {name: Vocab(sorted({t for s in sentences for t in (s.get(name) or [])}), specials=())
                for name in fields}

    return labels


def label_strings(fields: tuple[str, ...]) -> Callable:
    """A ``predictions`` for per-token label fields: ids -> the labels of each field's table."""

    def predictions(values: dict, vocabs, item) -> dict:
        return {name: [vocabs.labels[name].itos[i] for i in values[name]] for name in fields}

    return predictions


def unpad(values: torch.Tensor, lens: list[int], start: int = 0) -> list[list]:
    """``values [batch_size, seq_len, ...]`` -> one list per row, its ``lens[i]`` items from position ``start`` on
    (one ``tolist`` for the whole batch: per-row calls cost more than the slicing).

    >>> unpad(torch.tensor([[7, 1, 2], [7, 3, 0]]), [2, 1], start=1)
    [[1, 2], [3]]
    """
    return [row[start : start + n] for row, n in zip(values.tolist(), lens)]
