"""A one-layer feed-forward block with dropout, the classifier body of every task head."""
import torch
from torch import nn


class MLP(nn.Module):
    """``[..., n_in] -> [..., n_out]``: linear, then ReLU (or identity), then dropout."""

    def __init__(self, n_in: int, n_out: int, dropout: float = 0.0, activate: bool = True):
        super().__init__()
        self.linear = nn.Linear(n_in, n_out)
        self.activation = nn.ReLU() if activate else nn.Identity()
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.activation(self.linear(x)))
