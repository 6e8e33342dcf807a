"""Textual entailment of a sentence pair (ENTAILMENT, NEUTRAL, CONTRADICTION), JMT's top layer."""
import torch

from hierarchy.io.pairs import LABELS, write_pairs
from hierarchy.io.vocab import Vocab
from hierarchy.tasks.metrics import EntailmentMetric
from hierarchy.tasks.pairs import EntailmentHead, read
from hierarchy.tasks.spec import TaskSpec, Writers


def _labels(pairs) -> dict:
    """The three classes, fixed, so that a corpus lacking one still gives a three-way classifier."""

    return {"entailment": Vocab(LABELS, specials=())}


def _gold(pairs, vocabs, seq_len: int) -> dict[str, torch.Tensor]:
    """``label`` ``[n_pairs]``: the class index, -100 where a pair has none."""
    labels = vocabs.labels["entailment"].stoi
    return {"label": torch.tensor([labels.get(p.label, -100) for p in pairs], dtype=torch.long)}


def _predictions(values: dict, vocabs, pair) -> dict:
    labels = vocabs.labels["entailment"].itos
    return {"label": labels[values["label"]], "probabilities": dict(zip(labels, values["probabilities"]))}


def _metric(predicted, gold, vocabs) -> dict:

    metric = EntailmentMetric()
    rows = [(p["label"], g.label) for p, g in zip(predicted, gold) if g.label is not None]
    metric.update([p for p, _ in rows], [g for _, g in rows])
    return {"entailment": metric}


def _rows(name, m) -> list:
    return [("accuracy", None, None, m.values["acc"])] + [
        (f"  {label}", c["precision"], c["recall"], c["f1"]) for label, c in m.per_class.items()]


def confusion_table(metric):
    """The confusion matrix as a rich Table: a row per gold label, a column per predicted label."""
    from rich.table import Table

    table = Table(title="Entailment confusion (rows: gold, columns: predicted)")
    table.add_column("gold")
    for label in metric.labels:
        table.add_column(label, justify="right")
    for gold, row in metric.matrix.items():
        table.add_row(gold, *(str(n) for n in row.values()))
    return table


SPEC = TaskSpec(
    name="entailment", title="entailment", data_key="pairs", flag="pairs", unit="pair",
    read=read, fields=("label", "probabilities"), labels=_labels,
    head=lambda n_in, config, vocabs, layer, tasks, n_embed: EntailmentHead(
        n_in, len(vocabs.labels["entailment"]), config.mlp_dim, config.dropout,
        n_embed * layer.pair_inputs),
    gold=_gold, predictions=_predictions, metric=_metric, rows=_rows,
    details=lambda m: {"per_class": m.per_class, "confusion": m.matrix},
    report=lambda m: [confusion_table(m)] if m.n_pairs else [],
    annotated=lambda pair: pair.label is not None,
    writers=Writers(file=(".pairs.tsv", lambda path, gold, predicted, data: write_pairs(path, gold, predicted))),
)
