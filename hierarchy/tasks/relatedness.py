"""Semantic relatedness of a sentence pair (SICK's score from 1 to 5), JMT's second-highest layer."""
import torch

from hierarchy.io.pairs import write_pairs
from hierarchy.tasks.metrics import RelatednessMetric
from hierarchy.tasks.pairs import RelatednessHead, read
from hierarchy.tasks.spec import TaskSpec, Writers


def _gold(pairs, vocabs, seq_len: int) -> dict[str, torch.Tensor]:
    """``score`` ``[n_pairs]``, NaN where a pair has none."""
    return {"score": torch.tensor([float("nan") if p.score is None else p.score for p in pairs])}


def _metric(predicted, gold, vocabs) -> dict:

    metric = RelatednessMetric()
    rows = [(p["relatedness"], g.score) for p, g in zip(predicted, gold) if g.score is not None]
    metric.update([p for p, _ in rows], [g for _, g in rows])
    return {"relatedness": metric}


SPEC = TaskSpec(
    name="relatedness", title="relatedness", data_key="pairs", flag="pairs", unit="pair", score_range=(-1.0, 1.0),
    regression=True,
    read=read, fields=("relatedness",), labels=lambda pairs: {},
    head=lambda n_in, config, vocabs, layer, tasks, n_embed: RelatednessHead(
        n_in, config.mlp_dim, config.label_dim, config.dropout, n_embed * layer.pair_inputs),
    gold=_gold, predictions=lambda values, vocabs, pair: {"relatedness": values["score"]}, metric=_metric,
    rows=lambda name, m: [("Pearson r x 100", None, None, m.values["pearson"]),
                          ("Spearman rho x 100", None, None, m.values["spearman"]),
                          ("MSE", None, None, f"{m.values['mse']:.4f}")],
    annotated=lambda pair: pair.score is not None,
    writers=Writers(file=(".pairs.tsv", lambda path, gold, predicted, data: write_pairs(path, gold, predicted))),
)
