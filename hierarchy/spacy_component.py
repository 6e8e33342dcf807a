"""The spaCy component ``hierarchy``: a trained model annotating spaCy Docs.

::

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")                               # optional: else a Doc is one sentence
    nlp.add_pipe("hierarchy", config={"model": "models/jmt"})
    doc = nlp("The cat sat on the mat.")
    [(t.text, t.pos_, t.tag_, t.head.i, t.dep_) for t in doc]
    doc.spans["chunks"]                                        # NP / VP / PP ... spans

What it writes, per layer of the model (``layers`` picks a subset):

- ``pos``: ``token.pos_`` (UPOS) and ``token.tag_`` (XPOS).
- ``deps``: ``token.head`` and ``token.dep_``. A sentence's root is its own head with ``dep_ == "ROOT"`` (spaCy's
  convention, where UD writes ``root``); the other labels are the model's (UD) labels. Each sentence is one tree, so
  ``doc.sents`` after the component gives the sentences it was given.
- ``chunks``: ``doc.spans["chunks"]``, spans labelled NP, VP, PP...
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
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Optional

import numpy
from spacy.attrs import DEP, HEAD, IDX, IS_SPACE, LENGTH, POS, TAG
from spacy.language import Language
from spacy.parts_of_speech import IDS as UPOS_IDS
from spacy.pipeline import Pipe
from spacy.scorer import Scorer
from spacy.tokens import Doc, Span
from spacy.util import minibatch

from .corpus import Sentence
from .errors import ConfigError

#: Where the layers' output lives on a Doc beyond spaCy's native token attributes: the ``doc.spans`` key per
#: layer (``chunks``, ``srl``) and the ``Doc`` extension names (``doc._.srl``, ``doc._.srl_data``). Kept in one place.
EXTENSIONS = {"chunks": "chunks", "srl": "srl", "srl_data": "srl_data"}
LAYERS = ("pos", "chunks", "deps", "srl")
ROOT = "ROOT"  # dep_ of a sentence's root (UD's "root")
SPACE_POS, SPACE_TAG, SPACE_DEP = "SPACE", "_SP", "dep"
MODEL_FILES = ("config.toml", "vocab.json", "weights.safetensors", "metrics.json")

DEFAULT_CONFIG = {"model": "", "batch_size": 64, "batch_tokens": 4000, "layers": None, "device": "auto",
                  "precision": "auto"}


@Language.factory(
    "hierarchy",
    default_config=DEFAULT_CONFIG,
    assigns=["token.pos", "token.tag", "token.head", "token.dep", "doc.spans", f"doc._.{EXTENSIONS['srl_data']}"],
    default_score_weights={"pos_acc": 0.1, "tag_acc": 0.1, "dep_uas": 0.1, "dep_las": 0.4,
                           f"spans_{EXTENSIONS['chunks']}_f": 0.3, "dep_las_per_type": None,
                           f"spans_{EXTENSIONS['chunks']}_p": None, f"spans_{EXTENSIONS['chunks']}_r": None,
                           f"spans_{EXTENSIONS['chunks']}_per_type": None},
)
def make_component(nlp: Language, name: str, model: str, batch_size: int, batch_tokens: int,
                   layers: Optional[List[str]], device: str, precision: str) -> "HierarchyComponent":
    """The ``hierarchy`` factory: ``model`` is a model directory written by ``hierarchy train``; ``batch_size`` docs
    per ``pipe`` batch; ``batch_tokens`` words per network batch; ``layers`` a subset of pos/chunks/deps/srl
    (default: all the model has); ``device`` auto, cpu or cuda; ``precision`` auto (bf16 on CUDA), bf16 (also on
    CPUs that compute in bf16: AMX, AVX512-BF16) or fp32."""
    return HierarchyComponent(nlp.vocab, name, model, batch_size=batch_size, batch_tokens=batch_tokens,
                              layers=layers, device=device, precision=precision)


@dataclass
class DocParse:
    """What :meth:`HierarchyComponent.predict` returns for one Doc: per sentence its ``(start, end)`` token offsets,
    the Doc indices of its words (whitespace tokens left out) and a Sentence with the predicted layers (``None``
    for a sentence without words)."""

    bounds: list
    words: list
    sentences: list


class HierarchyComponent(Pipe):
    """Runs a trained hierarchy over Docs; ``predict`` has no side effects, ``set_annotations`` writes."""

    def __init__(self, vocab, name: str = "hierarchy", model: str = "", *, batch_size: int = 64,
                 batch_tokens: int = 4000, layers: Optional[Iterable[str]] = None, device: str = "auto",
                 precision: str = "auto"):
        from .predict import check_precision

        if device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"hierarchy component: device must be 'auto', 'cpu' or 'cuda', not '{device}'")
        try:
            check_precision(precision)
        except ConfigError as e:
            raise ConfigError(f"hierarchy component: {e}") from None
        for layer in layers or ():
            if layer not in LAYERS:
                raise ConfigError(f"hierarchy component: unknown layer '{layer}' "
                                  f"(expected some of {', '.join(LAYERS)})")
        self.vocab, self.name = vocab, name
        self.cfg = {"model": str(model), "batch_size": batch_size, "batch_tokens": batch_tokens,
                    "layers": None if layers is None else list(layers), "device": device, "precision": precision}
        self.model = self.vocabs = self.config = self._pid = None
        self.metrics = {}
        # The model loads now when its directory exists; when it does not (``spacy.load`` of a saved pipeline
        # whose original model directory is gone), ``from_disk`` fills it in and any other use raises.
        if model and Path(model).is_dir():
            self._load(model)

    # -- the model -------------------------------------------------------------------------------------------

    def _load(self, directory) -> None:
        # imported here: spaCy imports this module (entry point) whenever it makes a Language
        from .persistence import load_model, resolve_device

        self.model, self.config, self.vocabs = load_model(directory, resolve_device(self.cfg["device"]))
        self._pid = os.getpid()
        metrics = Path(directory) / "metrics.json"
        self.metrics = json.loads(metrics.read_text(encoding="utf-8")) if metrics.is_file() else {}
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
    def layers(self) -> list:
        """The layers this component annotates, bottom first (sentence-pair layers a model may have are not applied
        to Docs)."""
        model = self._require_model()
        return [t for t in model.depth if t in LAYERS and (self.cfg["layers"] is None or t in self.cfg["layers"])]

    @property
    def span_roles(self) -> bool:
        """Whether the model's roles are BIO tags over argument spans (else one label per argument head)."""
        from .tasks.srl import is_bio

        self._require_model()
        return "roles" in self.vocabs.labels and is_bio(self.vocabs.labels["roles"].itos)

    # -- predict and write -----------------------------------------------------------------------------------

    def __call__(self, doc: Doc) -> Doc:
        self.set_annotations([doc], self.predict([doc]))
        return doc

    def pipe(self, stream, *, batch_size: Optional[int] = None):
        """Annotate Docs in batches of ``batch_size`` Docs; the network sees all their sentences at once, bucketed
        by length. Gives exactly what one-by-one calls give (in fp32; see :func:`~hierarchy.predict.annotate`)."""
        error_handler = self.get_error_handler()
        for docs in minibatch(stream, size=batch_size or self.cfg["batch_size"]):
            try:
                self.set_annotations(docs, self.predict(docs))
                yield from docs
            except Exception as e:
                error_handler(self.name, self, docs, e)

    def predict(self, docs) -> List[DocParse]:
        """One :class:`DocParse` per Doc; the Docs are not changed."""
        from .predict import annotate

        model = self._require_model()
        if self._pid != os.getpid():  # a forked worker (nlp.pipe(n_process=...)): OpenMP's pool did not survive
            import torch

            torch.set_num_threads(1)
            self._pid = os.getpid()
        parses, sentences = [], []
        for doc in docs:
            bounds = sentence_bounds(doc)
            texts = word_texts(doc)
            words = [[i for i in range(start, end) if texts[i] is not None] for start, end in bounds]
            parses.append(DocParse(bounds, words, [None] * len(bounds)))
            sentences.extend(Sentence([texts[i] for i in w]) for w in words if w)
        if sentences:
            device = next(model.parameters()).device
            predicted = iter(annotate(model, self.vocabs, sentences, self.layers, self.cfg["batch_tokens"], device,
                                      precision=self.cfg["precision"]))
            for parse in parses:
                parse.sentences = [next(predicted) if w else None for w in parse.words]
        return parses

    def set_annotations(self, docs, parses: List[DocParse]) -> None:
        layers = self.layers
        for doc, parse in zip(docs, parses):
            n = len(doc)
            pos, tags, heads, deps, chunks = [""] * n, [""] * n, list(range(n)), [""] * n, []
            for (start, end), words, sentence in zip(parse.bounds, parse.words, parse.sentences):
                attach_spaces(doc, start, end, words, pos, tags, heads, deps)
                if sentence is None:
                    continue
                for j, i in enumerate(words):
                    if "pos" in layers:
                        pos[i], tags[i] = sentence.upos[j], sentence.xpos[j]
                    if "deps" in layers:
                        head = sentence.heads[j]
                        heads[i], deps[i] = (words[head - 1], sentence.rels[j]) if head else (i, ROOT)
                if "chunks" in layers:
                    spans = bio_spans(sentence.chunks)
                    chunks.extend(Span(doc, words[a], words[b - 1] + 1, label) for a, b, label in spans)
            attrs, columns = [], []
            if "pos" in layers:
                attrs += [POS, TAG]
                columns += [[UPOS_IDS.get(p, UPOS_IDS["X"]) for p in pos], [self.vocab.strings.add(t) for t in tags]]
            if "deps" in layers and n:
                attrs += [HEAD, DEP]
                columns += [[h - i for i, h in enumerate(heads)], [self.vocab.strings.add(d) for d in deps]]
            if attrs and n:
                array = numpy.zeros((n, len(attrs)), dtype="uint64")  # (n_tokens, n_attrs)
                for k, (attr, column) in enumerate(zip(attrs, columns)):  # head offsets wrap around, as spaCy expects
                    array[:, k] = numpy.array(column, dtype="int64" if attr == HEAD else "uint64").astype("uint64")
                doc.from_array(attrs, array)
            if "chunks" in layers:
                doc.spans[EXTENSIONS["chunks"]] = chunks
            if "srl" in layers:
                frames = [frame for (_, _), words, sentence in zip(parse.bounds, parse.words, parse.sentences)
                          if sentence is not None for frame in srl_frames(sentence, words)]
                doc._.set(EXTENSIONS["srl_data"], frames)
                doc.spans[EXTENSIONS["srl"]] = [Span(doc, a["start"], a["end"], a["role"])
                                                for frame in frames for a in frame["arguments"]]

    # -- scoring ---------------------------------------------------------------------------------------------

    def score(self, examples, **kwargs) -> dict:
        """spaCy's scores for the layers annotated: ``pos_acc``, ``tag_acc``, ``dep_uas``, ``dep_las``
        (punctuation included, as in ``hierarchy evaluate``; labels compared lowercased, as spaCy's parser does, so
        ``ROOT`` matches UD's ``root``) and ``spans_chunks_p/r/f`` (Docs whose reference has no ``chunks`` spans are
        skipped)."""
        layers, scores = self.layers, {}
        kwargs = {k: v for k, v in kwargs.items() if k not in ("getter", "has_annotation")}  # ours are set below
        if "pos" in layers:
            scores.update(Scorer.score_token_attr(examples, "pos", **kwargs))
            scores.update(Scorer.score_token_attr(examples, "tag", **kwargs))
        if "deps" in layers:
            def dep_getter(token, attr):  # as spaCy's parser scores: lowercased label strings
                return token.vocab.strings.as_string(getattr(token, attr)).lower()

            scores.update(Scorer.score_deps(examples, "dep", getter=dep_getter, **kwargs))
        if "chunks" in layers:
            key = EXTENSIONS["chunks"]
            scores.update(Scorer.score_spans(examples, f"spans_{key}", getter=lambda doc, _: doc.spans.get(key, []),
                                             has_annotation=lambda doc: key in doc.spans, **kwargs))
        return scores

    # -- serialization ---------------------------------------------------------------------------------------

    def to_disk(self, path, *, exclude=()) -> None:
        """Write the model directory's files (from memory, so they match what annotates) into ``path``."""
        from .persistence import save_json, save_model

        model = self._require_model()
        path = Path(path)
        save_model(model, self.config, self.vocabs, path)
        if self.metrics:
            save_json(self.metrics, path / "metrics.json")

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


def attach_spaces(doc: Doc, start: int, end: int, words: list, pos, tags, heads, deps) -> None:
    """Give the whitespace tokens of a sentence their tag and attachment: the previous word of the sentence, else
    the next; in a sentence of whitespace only, the first token is the root and the others attach to it."""
    previous = None
    following = iter(words)
    upcoming = next(following, None)
    for i in range(start, end):
        if upcoming is not None and i == upcoming:
            previous, upcoming = i, next(following, None)
            continue
        pos[i], tags[i], deps[i] = SPACE_POS, SPACE_TAG, SPACE_DEP
        target = previous if previous is not None else upcoming
        if target is None:
            target = start
            if i == start:
                deps[i] = ROOT
        heads[i] = target


def bio_spans(tags) -> list:
    """``(start, end, label)`` of the chunks in BIO tags, ``end`` exclusive; a stray ``I-`` opens a chunk.

    >>> bio_spans(["B-NP", "I-NP", "B-VP", "O", "I-PP"])
    [(0, 2, 'NP'), (2, 3, 'VP'), (4, 5, 'PP')]
    """
    spans, start, label = [], None, None
    for i, tag in enumerate(list(tags) + ["O"]):
        prefix, _, name = tag.partition("-")
        if start is not None and (prefix != "I" or name != label):
            spans.append((start, i, label))
            start = None
        if prefix == "B" or (prefix == "I" and start is None):
            start, label = i, name
    return spans


def bio_tags(n: int, spans) -> list:
    """The inverse of :func:`bio_spans`: ``n`` BIO tags from ``(start, end, label)`` spans.

    >>> bio_tags(4, [(0, 2, "NP"), (3, 4, "VP")])
    ['B-NP', 'I-NP', 'O', 'B-VP']
    """
    tags = ["O"] * n
    for start, end, label in spans:
        tags[start:end] = [f"B-{label}"] + [f"I-{label}"] * (end - start - 1)
    return tags


def srl_frames(sentence: Sentence, words: list) -> list:
    """The SRL frames of one predicted sentence, with Doc token offsets (``words[j]``: the Doc index of word j)."""
    from .tasks.srl import is_bio

    frames = []
    predicates = [j for j, sense in enumerate(sentence.senses) if sense != "_"]
    for p, labels in zip(predicates, sentence.roles):
        span = is_bio(set(labels) | {"O"})
        if span:
            spans = [(a, b, role) for a, b, role in bio_spans(labels) if role != "V"]
        else:
            spans = [(j, j + 1, role) for j, role in enumerate(labels) if role not in ("_", "V")]
        arguments = [{"role": role, "start": words[a], "end": words[b - 1] + 1, "head": None if span else words[a]}
                     for a, b, role in spans]
        frames.append({"predicate": words[p], "roleset": sentence.senses[p], "arguments": arguments})
    return frames


def _srl_getter(doc: Doc):
    """``doc._.srl``: the frames of ``doc._.srl_data`` with Tokens (argument heads) and Spans (span arguments)."""
    frames = doc._.get(EXTENSIONS["srl_data"])
    if frames is None:
        return None
    return [{"predicate": doc[f["predicate"]], "roleset": f["roleset"],
             "arguments": [(a["role"], doc[a["start"]:a["end"]] if a["head"] is None else doc[a["head"]])
                           for a in f["arguments"]]} for f in frames]


if not Doc.has_extension(EXTENSIONS["srl_data"]):
    Doc.set_extension(EXTENSIONS["srl_data"], default=None)
if not Doc.has_extension(EXTENSIONS["srl"]):
    Doc.set_extension(EXTENSIONS["srl"], getter=_srl_getter)
