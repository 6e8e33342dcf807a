"""A biaffine scorer of every pair of positions (Dozat & Manning 2017): the arc scorer of a parser."""
import torch
from torch import nn


class Biaffine(nn.Module):
    r"""
    ``s[b, i, j] = [x_i; 1]^T W [y_j; 1] + bias``: a bilinear score of every row of ``x`` with every row of ``y``, each
    extended by a constant 1 (the input biases), so that ``W`` also holds a linear term of each side and a constant.

    The parameter names (``_weight_matrix [n_x + 1, n_y + 1]``, ``_bias [1]``) are those of allennlp's
    ``BilinearMatrixAttention(n_x, n_y, use_input_biases=True)``, so models trained with it load unchanged.

    Examples:
        >>> scorer = Biaffine(3, 2)
        >>> scorer(torch.randn(4, 5, 3), torch.randn(4, 6, 2)).shape
        torch.Size([4, 5, 6])
    """

    def __init__(self, n_x: int, n_y: int):
        super().__init__()
        self._weight_matrix = nn.Parameter(torch.empty(n_x + 1, n_y + 1))
        self._bias = nn.Parameter(torch.zeros(1))
        nn.init.xavier_uniform_(self._weight_matrix)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``x [batch_size, n, n_x]``, ``y [batch_size, m, n_y]`` -> ``[batch_size, n, m]``."""
        x = torch.cat([x, x.new_ones(*x.shape[:-1], 1)], -1)
        y = torch.cat([y, y.new_ones(*y.shape[:-1], 1)], -1)
        return (x.unsqueeze(1) @ self._weight_matrix.unsqueeze(0) @ y.unsqueeze(1).transpose(2, 3)).squeeze(1) + self._bias
