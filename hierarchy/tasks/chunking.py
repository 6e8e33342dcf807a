"""Chunking as BIO tagging with a linear-chain CRF whose Viterbi decoding obeys the BIO transitions."""
import torch
from allennlp_light.modules import ConditionalRandomField
from torch import nn

from ..decoding import bio_constraints, viterbi
from ..modules import MLP


class ChunkingTask(nn.Module):
    """Emission scores from an MLP, a CRF (allennlp-light) over them; label embeddings from the emissions."""

    fields = ["chunks"]

    def __init__(self, n_in: int, labels: list[str], mlp_dim: int, label_dim: int, dropout: float):
        super().__init__()
        self.mlp = MLP(n_in, mlp_dim, dropout)
        self.classifier = nn.Linear(mlp_dim, len(labels))
        self.crf = ConditionalRandomField(len(labels), bio_constraints(labels), include_start_end_transitions=True)
        self.label_embeddings = nn.Linear(len(labels), label_dim, bias=False)
        self.n_label_out = label_dim

    def forward(self, h: torch.Tensor, batch) -> dict[str, torch.Tensor]:
        """``h [batch_size, seq_len, n_in]`` -> ``{"chunks": [batch_size, seq_len, n_labels]}`` emissions."""
        return {"chunks": self.classifier(self.mlp(h))}

    def label_embedding(self, scores) -> torch.Tensor:
        """``[batch_size, seq_len, label_dim]``: label embeddings weighted by the softmax of the emissions."""
        return self.label_embeddings(scores["chunks"].softmax(-1))

    def loss(self, scores, batch) -> torch.Tensor:
        """Negative CRF log-likelihood per word, over the sentences that carry gold chunks."""
        gold = batch.gold.get("chunks")
        if gold is None:
            return scores["chunks"].sum() * 0
        rows = ((gold >= 0) | ~batch.mask).all(-1)  # (batch_size,) sentences fully annotated
        if not rows.any():
            return scores["chunks"].sum() * 0
        mask = batch.mask[rows]
        tags = gold[rows].clamp(min=0)
        log_likelihood = self.crf(scores["chunks"][rows].float(), tags, mask)
        return -log_likelihood / mask.sum()

    def decode(self, scores, batch) -> dict[str, list[list[int]]]:
        """Constrained Viterbi: the best well-formed BIO sequence per sentence."""
        return {"chunks": viterbi(self.crf, scores["chunks"], batch.mask)}
