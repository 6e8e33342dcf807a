"""Sentence-pair heads (JMT's top layers): semantic relatedness, then textual entailment.

Both read a pair batch (:func:`~hierarchy.core.batching.make_pair_batch`: ``2 * n_pairs`` rows, the premises then the
hypotheses), max-pool their layer's states over time into one vector per sentence, and classify the pair from
``[|a - b|; a * b]`` (Tai et al. 2015; JMT). With a layer's ``pair_inputs``, they also compare the mean of each
sentence's word inputs (JMT's shortcut into every layer: with a pretrained encoder, close to its own sentence
vector) by InferSent's ``[a; b; |a - b|; a * b]``. Relatedness predicts a distribution over the scores 1..5, trained
with KL divergence to the gold score's two-point distribution; its prediction is the expected score. Its label
embedding (softmax over the five scores times an embedding matrix) is one vector per pair, given to both sentences
of the pair; the model broadcasts it to every token of the layer above, as JMT feeds it into the entailment layer.
"""
import torch
import torch.nn.functional as F
from torch import nn

from hierarchy.io.pairs import read_pairs
from hierarchy.modules import MLP

N_SCORES = 5  # relatedness scores 1..5


def read(path, data):
    """The pair tasks' ``read`` (one function, so tasks reading the same file share one reading of it)."""
    return read_pairs(path, data.skip_bad)


def pair_features(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``h [2 * n_pairs, seq_len, n_in]`` (premises, then hypotheses) -> ``[n_pairs, 2 * n_in]``: ``[|a - b|; a * b]``
    of the sentence vectors ``a``, ``b``, each the max over its words of ``h`` (padding excluded)."""
    pooled = h.masked_fill(~mask[..., None], float("-inf")).max(1).values  # (2 * n_pairs, n_in)
    a, b = pooled.chunk(2)
    return torch.cat([(a - b).abs(), a * b], -1)


def score_distribution(scores: torch.Tensor) -> torch.Tensor:
    """The two-point distribution over 1..5 whose mean is the score (Tai et al.): ``[n]`` -> ``[n, 5]``.

    >>> [[round(p, 2) for p in row] for row in score_distribution(torch.tensor([3.6, 5.0])).tolist()]
    [[0.0, 0.0, 0.4, 0.6, 0.0], [0.0, 0.0, 0.0, 0.0, 1.0]]
    """
    low = scores.floor().clamp(1, N_SCORES - 1)  # (n,) the lower of the two neighbouring scores
    upper = (scores - low)[:, None]  # (n, 1) weight of low + 1
    target = scores.new_zeros(len(scores), N_SCORES)
    target.scatter_(1, (low.long() - 1)[:, None], 1 - upper)
    return target.scatter_(1, low.long()[:, None], upper)


def compare(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``[n, d]`` twice -> ``[n, 4 * d]``: ``[a; b; |a - b|; a * b]``."""
    return torch.cat([a, b, (a - b).abs(), a * b], -1)


class PairHead(nn.Module):
    """Pooled pair features -> an MLP -> ``n_out`` logits ``[n_pairs, n_out]``: JMT's ``[|a - b|; a * b]`` of the
    max-pooled states, and with ``n_inputs`` (the size of ``Context.inputs``) :func:`compare` of each sentence's
    mean word input."""

    def __init__(self, n_in: int, n_out: int, mlp_dim: int, dropout: float, n_inputs: int = 0):
        super().__init__()
        self.n_inputs = n_inputs
        self.mlp = MLP(2 * n_in + 4 * n_inputs, mlp_dim, dropout)
        self.classifier = nn.Linear(mlp_dim, n_out)

    def logits(self, context) -> torch.Tensor:
        mask = context.batch.mask
        features = pair_features(context.states, mask)
        if self.n_inputs:
            x = context.inputs
            mean = (x * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp(min=1)  # (2 * n_pairs, n_inputs)
            features = torch.cat([features, compare(*mean.chunk(2))], -1)
        return self.classifier(self.mlp(features))


class RelatednessHead(PairHead):
    """Relatedness: a distribution over the scores 1..5; label embeddings from its softmax go upward."""

    def __init__(self, n_in: int, mlp_dim: int, label_dim: int, dropout: float, n_inputs: int = 0):
        super().__init__(n_in, N_SCORES, mlp_dim, dropout, n_inputs)
        self.label_embeddings = nn.Linear(N_SCORES, label_dim, bias=False)
        self.n_label_out = label_dim

    def forward(self, context) -> dict[str, torch.Tensor]:
        """``context.states [2 * n_pairs, seq_len, n_in]`` -> ``{"score": [n_pairs, 5]}`` logits over the scores
        1..5."""
        return {"score": self.logits(context)}

    def label_embedding(self, scores) -> torch.Tensor:
        """``[2 * n_pairs, label_dim]``: softmax-weighted embeddings of the five scores, one per sentence (a pair's
        two sentences get the same); the model broadcasts a per-sentence embedding to every token."""
        return self.label_embeddings(scores["score"].softmax(-1)).repeat(2, 1)

    def loss(self, scores, batch) -> torch.Tensor:
        """KL divergence from the gold score's two-point distribution, averaged over the pairs with a gold score."""
        gold = batch.gold.get("score")
        rows = ~gold.isnan() if gold is not None else None
        if rows is None or not rows.any():
            return scores["score"].sum() * 0
        log_p = scores["score"][rows].float().log_softmax(-1)
        return F.kl_div(log_p, score_distribution(gold[rows].float()), reduction="batchmean")

    def decode(self, scores, batch) -> dict[str, list[float]]:
        """The expected score ``sum_k p(k) * k`` per pair."""
        p = scores["score"].float().softmax(-1)
        return {"score": (p @ torch.arange(1.0, N_SCORES + 1, device=p.device)).tolist()}


class EntailmentHead(PairHead):
    """Entailment: ENTAILMENT / NEUTRAL / CONTRADICTION (the order of ``vocabs.labels["entailment"]``)."""

    n_label_out = 0

    def __init__(self, n_in: int, n_labels: int, mlp_dim: int, dropout: float, n_inputs: int = 0):
        super().__init__(n_in, n_labels, mlp_dim, dropout, n_inputs)

    def forward(self, context) -> dict[str, torch.Tensor]:
        """``context.states [2 * n_pairs, seq_len, n_in]`` -> ``{"label": [n_pairs, n_labels]}`` logits."""
        return {"label": self.logits(context)}

    def loss(self, scores, batch) -> torch.Tensor:
        """Cross-entropy over the pairs with a gold label."""
        gold = batch.gold.get("label")
        if gold is None or not (gold >= 0).any():
            return scores["label"].sum() * 0
        return F.cross_entropy(scores["label"].float(), gold, ignore_index=-100)

    def decode(self, scores, batch) -> dict[str, list]:
        """The best label id and the class probabilities per pair."""
        p = scores["label"].float().softmax(-1)
        return {"label": p.argmax(-1).tolist(), "probabilities": p.tolist()}
