"""Token classification (POS: UPOS and XPOS heads side by side), softmax-weighted label embeddings upward."""
import torch
import torch.nn.functional as F
from torch import nn

from ..batching import unpad
from ..modules import MLP


class TaggingTask(nn.Module):
    """One MLP over the layer's states, then a linear classifier per label field (e.g. ``upos``, ``xpos``)."""

    def __init__(self, n_in: int, n_labels: dict[str, int], mlp_dim: int, label_dim: int, dropout: float):
        super().__init__()
        self.fields = list(n_labels)
        self.mlp = MLP(n_in, mlp_dim, dropout)
        self.classifiers = nn.ModuleDict({f: nn.Linear(mlp_dim, n) for f, n in n_labels.items()})
        self.label_embeddings = nn.ModuleDict({f: nn.Linear(n, label_dim, bias=False) for f, n in n_labels.items()})
        self.n_label_out = label_dim * len(n_labels)

    def forward(self, h: torch.Tensor, batch) -> dict[str, torch.Tensor]:
        """``h [batch_size, seq_len, n_in]`` -> ``{field: [batch_size, seq_len, n_labels]}``."""
        x = self.mlp(h)
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
        preds = {f: scores[f].argmax(-1) for f in self.fields}
        return {f: unpad(p, lens) for f, p in preds.items()}
