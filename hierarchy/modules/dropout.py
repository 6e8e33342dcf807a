"""Locked (variational) dropout: one mask per sequence, the same at every time step (Gal & Ghahramani 2016)."""
import torch
from torch import nn


class LockedDropout(nn.Module):
    """``[batch_size, seq_len, n] -> [batch_size, seq_len, n]``: zeroes the same features at every position of a
    sequence and scales the others by ``1 / (1 - p)``; the identity in evaluation."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mask = nn.functional.dropout(x.new_ones(x.shape[0], x.shape[-1]), self.p, self.training)  # (batch, n)
        return mask.unsqueeze(1) * x

    def extra_repr(self) -> str:
        return f"p={self.p}"
