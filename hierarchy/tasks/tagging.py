"""Token classification: one MLP over the layer's states, a linear classifier per label field (POS: ``upos`` and
``xpos`` side by side), softmax-weighted label embeddings upward (JMT)."""
import torch
import torch.nn.functional as F
from torch import nn

from hierarchy.modules import MLP
from hierarchy.tasks.metrics import AccuracyMetric
from hierarchy.tasks.spec import unpad


class TaggingHead(nn.Module):
    """``TaggingHead(n_in, {"upos": 17, "xpos": 45}, mlp_dim, label_dim, dropout)``."""

    def __init__(self, n_in: int, n_labels: dict[str, int], mlp_dim: int, label_dim: int, dropout: float):
        super().__init__()
        self.fields = list(n_labels)
        self.mlp = MLP(n_in, mlp_dim, dropout)
        self.classifiers = nn.ModuleDict({f: nn.Linear(mlp_dim, n) for f, n in n_labels.items()})
        self.label_embeddings = nn.ModuleDict({f: nn.Linear(n, label_dim, bias=False) for f, n in n_labels.items()})
        self.n_label_out = label_dim * len(n_labels)

    def forward(self, context) -> dict[str, torch.Tensor]:
        """``context.states [batch_size, seq_len, n_in]`` -> ``{field: [batch_size, seq_len, n_labels]}``."""
        x = self.mlp(context.states)
        return {f: classifier(x) for f, classifier in self.classifiers.items()}

    def label_embedding(self, scores) -> torch.Tensor:
        """``[batch_size, seq_len, n_label_out]``: each field's label embeddings weighted by its softmax (JMT)."""
        return torch.cat([self.label_embeddings[f](scores[f].softmax(-1)) for f in self.fields], -1)

    def loss(self, scores, batch) -> torch.Tensor:
        """Mean cross-entropy over supervised tokens, summed over fields."""
        losses = [
            F.cross_entropy(scores[f].flatten(0, 1).float(), batch.gold[f].flatten(), ignore_index=-100)
            for f in self.fields
            if f in batch.gold and (batch.gold[f] >= 0).any()
        ]
        return sum(losses) if losses else scores[self.fields[0]].sum() * 0

    def decode(self, scores, batch) -> dict[str, list[list[int]]]:
        """Argmax label ids per field, one list per sentence."""
        lens = batch.lens.tolist()
        return {f: unpad(scores[f].argmax(-1), lens) for f in self.fields}


def tagging_head(fields: tuple[str, ...]):
    """A spec's ``head``: a :class:`TaggingHead` over ``fields``, sized from their label tables."""

    def head(n_in, config, vocabs, layer, tasks, n_embed) -> TaggingHead:
        n_labels = {f: len(vocabs.labels[f]) for f in fields}
        return TaggingHead(n_in, n_labels, config.mlp_dim, config.label_dim, config.dropout)

    return head


def accuracy_metric(fields: tuple[str, ...]):
    """A spec's ``metric``: token accuracy per field, over the gold sentences that carry it."""

    def metric(predicted, gold, vocabs) -> dict:

        metrics = {f: AccuracyMetric() for f in fields}
        for p, g in zip(predicted, gold):
            for f, m in metrics.items():
                if g.get(f) is not None:
                    m.update(p.get(f), g.get(f))
        return {f: m for f, m in metrics.items() if m.n_tokens}

    return metric


def accuracy_rows(name: str, metric) -> list:
    return [(f"{name.upper()} accuracy", None, None, metric.values["acc"])]
