"""A learned, softmax-weighted mix of layers: ELMo's scalar mix over a transformer's layers, and the sluice
network's mixing of the hierarchy's layers for a task that reads more than its own (Ruder et al. 2019)."""
import torch
from torch import nn


class ScalarMix(nn.Module):
    """``[..., n_layers, size] -> [..., size]``: ``gamma * sum_l softmax(w)_l h_l`` (Peters et al. 2018)."""

    def __init__(self, n_layers: int):
        super().__init__()
        self.weights = nn.Parameter(torch.zeros(n_layers))
        self.gamma = nn.Parameter(torch.ones(()))

    def forward(self, layers: torch.Tensor) -> torch.Tensor:
        return self.gamma * torch.einsum("...lh,l->...h", layers, self.weights.softmax(0).to(layers.dtype))

    def shares(self) -> list[float]:
        """``softmax(w)``: each layer's share of the mix (before ``gamma``)."""
        return self.weights.detach().softmax(0).tolist()
