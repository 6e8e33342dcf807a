"""Typed spans as BIO tags: a linear-chain CRF whose Viterbi decoding obeys the BIO transitions, and the spec of a
BIO task (chunks, entity mentions; NER would be one more), parameterised by its field."""
import torch
from torch import nn

from hierarchy.io.spans import bio_spans
from hierarchy.modules import MLP
from hierarchy.modules.crf import ConditionalRandomField, bio_transitions
from hierarchy.tasks.metrics import ChunkMetric
from hierarchy.tasks.spec import TaskSpec, Writers, label_strings, token_gold, token_labels


class BIOTagger(nn.Module):
    """Emission scores from an MLP, a CRF over them; label embeddings from the emissions.
    ``field`` names the gold tensor it reads and the decoded field."""

    def __init__(self, field: str, labels: list[str], n_in: int, mlp_dim: int, label_dim: int, dropout: float):
        super().__init__()
        self.field = field
        self.mlp = MLP(n_in, mlp_dim, dropout)
        self.classifier = nn.Linear(mlp_dim, len(labels))
        self.crf = ConditionalRandomField(len(labels), bio_transitions(labels), include_start_end_transitions=True)
        self.label_embeddings = nn.Linear(len(labels), label_dim, bias=False)
        self.n_label_out = label_dim

    def forward(self, context) -> dict[str, torch.Tensor]:
        """``context.states [batch_size, seq_len, n_in]`` -> ``{field: [batch_size, seq_len, n_labels]}``
        emissions."""
        return {self.field: self.classifier(self.mlp(context.states))}

    def label_embedding(self, scores) -> torch.Tensor:
        """``[batch_size, seq_len, label_dim]``: label embeddings weighted by the softmax of the emissions."""
        return self.label_embeddings(scores[self.field].softmax(-1))

    def loss(self, scores, batch) -> torch.Tensor:
        """Negative CRF log-likelihood per word, over the sentences that carry gold tags."""
        emissions, gold = scores[self.field], batch.gold.get(self.field)
        if gold is None:
            return emissions.sum() * 0
        rows = ((gold >= 0) | ~batch.mask).all(-1)  # (batch_size,) sentences fully annotated
        if not rows.any():
            return emissions.sum() * 0
        mask = batch.mask[rows]
        log_likelihood = self.crf(emissions[rows].float(), gold[rows].clamp(min=0), mask)
        return -log_likelihood / mask.sum()

    def decode(self, scores, batch) -> dict[str, list[list[int]]]:
        """Constrained Viterbi: the best well-formed BIO sequence per sentence."""
        return {self.field: self.crf.decode(scores[self.field], batch.mask)}


class SpacySpans:
    """``doc.spans[key]``: the spans of ``field`` labelled with their type; with ``ents`` also ``doc.ents``
    (and ``nlp.evaluate``'s ``ents_p/r/f``)."""

    def __init__(self, field: str, key: str, ents: bool = False):
        self.field, self.key, self.ents = field, key, ents
        self.assigns = ["doc.spans"] + (["doc.ents"] if ents else [])
        names = [f"spans_{key}"] + (["ents"] if ents else [])
        self.score_weights = {f"{name}_{part}": None for name in names for part in ("p", "r", "per_type")}
        self.score_weights.update({f"{name}_f": 0.3 / len(names) for name in names})
        parts = {"p": "precision", "r": "recall", "f": "f1"}  # where metrics.json has them
        self.performance = {f"{name}_{part}": (field, metric) for name in names for part, metric in parts.items()}

    def write(self, doc, parse, vocab) -> None:
        from spacy.tokens import Span

        spans = [Span(doc, words[a], words[b - 1] + 1, label)
                 for words, sentence in zip(parse.words, parse.sentences) if sentence is not None
                 for a, b, label in bio_spans(sentence.get(self.field))]
        doc.spans[self.key] = spans
        if self.ents:
            doc.set_ents(spans, default="outside")

    def score(self, examples, **kwargs) -> dict:
        from spacy.scorer import Scorer

        key = self.key
        scores = Scorer.score_spans(examples, f"spans_{key}", getter=lambda doc, _: doc.spans.get(key, []),
                                    has_annotation=lambda doc: key in doc.spans, **kwargs)
        if self.ents:
            scores |= Scorer.score_spans(examples, "ents", has_annotation=lambda doc: doc.has_annotation("ENT_IOB"),
                                         **kwargs)
        return scores


def bio_spec(name: str, title: str, field: str, read, column: str, flag: str, spans_key: str, json_spans: str,
             ents: bool = False, file=None, score_weight: float = 1.0) -> TaskSpec:
    """The spec of a BIO span task over the Sentence field ``field``: ``column`` is its CoNLL-U Plus column,
    ``json_spans`` the jsonl key of its ``[start, end, label]`` word spans, ``spans_key`` its ``doc.spans`` key;
    ``file``: ``(suffix, write(path, gold, predicted, data))`` for ``evaluate --write-predictions``."""
    fields = (field,)

    def head(n_in, config, vocabs, layer, tasks, n_embed) -> BIOTagger:
        return BIOTagger(field, vocabs.labels[field].itos, n_in, config.mlp_dim, config.label_dim, config.dropout)

    def metric(predicted, gold, vocabs) -> dict:

        m = ChunkMetric()
        for p, g in zip(predicted, gold):
            if g.get(field) is not None:
                m.update(p.get(field), g.get(field))
        return {field: m}

    def rows(metric_name, m) -> list:
        v = m.values
        return [(f"all {field}", v["precision"], v["recall"], v["f1"])] + [
            (f"  {label}", t["precision"], t["recall"], t["f1"]) for label, t in sorted(m.per_type.items())]

    def json(s) -> dict:
        return {field: s.get(field), json_spans: [list(span) for span in bio_spans(s.get(field))]}

    return TaskSpec(
        name=name, title=title, data_key=name, read=read, flag=flag, fields=fields, labels=token_labels(fields),
        head=head, gold=token_gold(fields), predictions=label_strings(fields), metric=metric, rows=rows,
        score_weight=score_weight, details=lambda m: {"per_type": m.per_type},
        writers=Writers(conllu={column: lambda s: s.get(field)}, json=json,
                        spacy=SpacySpans(field, spans_key, ents), file=file,
                        html=lambda s: [(spans_key, bio_spans(s.get(field)))]),
    )
