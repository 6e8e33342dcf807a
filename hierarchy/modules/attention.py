"""A self-attention encoder layer (Transformer block, post-norm) with sinusoidal positions and, optionally, LISA's
syntax head: one attention head whose distribution over the words is trained as the dependency arc distribution
(Strubell et al. 2018), and which can attend to an injected parse instead."""
import math

import torch
from torch import nn

from hierarchy.modules.bilinear import Biaffine


def positions(seq_len: int, size: int, device=None) -> torch.Tensor:
    """Sinusoidal position encodings ``[seq_len, size]`` (Vaswani et al. 2017).

    >>> positions(3, 4)[0].tolist()
    [0.0, 1.0, 0.0, 1.0]
    """
    position = torch.arange(seq_len, dtype=torch.float, device=device)[:, None]
    rate = torch.exp(torch.arange(0, size, 2, dtype=torch.float, device=device) * (-math.log(10000.0) / size))
    table = torch.zeros(seq_len, size, device=device)
    table[:, 0::2] = torch.sin(position * rate)
    table[:, 1::2] = torch.cos(position * rate)[:, : size // 2]
    return table


class AttentionLayer(nn.Module):
    """``[batch_size, seq_len, n_in] -> [batch_size, seq_len, size]``: a projection to ``size`` plus positions, then
    multi-head self-attention and a feed-forward block, each with a residual connection and layer norm; padding rows
    are zero.

    With ``syntax_head``, head 0's attention logits are a biaffine score of its queries (dependents) and keys
    (heads): ``s_arc[b, i, j]``, word ``i`` attends to word ``j``; the root attends to itself (LISA). They are
    returned so that the dependency task trains them with cross-entropy to the gold heads. Given ``inject``
    (``[batch_size, seq_len]``: the position each word's head is at, the word itself for the root), head 0 attends
    to exactly that word (a one-hot distribution) instead of its own.
    """

    def __init__(self, n_in: int, size: int, heads: int, syntax_head: bool = False, dropout: float = 0.0):
        super().__init__()
        if size % heads:
            raise ValueError(f"attention size {size} is not a multiple of its {heads} heads")
        self.n_out, self.heads, self.syntax_head = size, heads, syntax_head
        self.proj = nn.Linear(n_in, size)
        self.qkv = nn.Linear(size, 3 * size)
        self.out = nn.Linear(size, size)
        self.norm1, self.norm2 = nn.LayerNorm(size), nn.LayerNorm(size)
        self.ff = nn.Sequential(nn.Linear(size, 2 * size), nn.ReLU(), nn.Dropout(dropout), nn.Linear(2 * size, size))
        self.dropout = nn.Dropout(dropout)
        self.arc = Biaffine(size // heads, size // heads) if syntax_head else None

    def attend(self, x: torch.Tensor, mask: torch.Tensor, inject: torch.Tensor | None = None):
        """The attention of each head: ``(x, v, probs [batch_size, heads, seq_len, seq_len], s_arc)``; ``x`` is the
        projected input with positions, ``v`` the values ``[batch_size, heads, seq_len, size / heads]``, ``s_arc``
        head 0's logits ``[batch_size, seq_len, seq_len]`` (None without a syntax head)."""
        batch_size, seq_len, _ = x.shape
        x = self.proj(x) + positions(seq_len, self.n_out, x.device).to(x.dtype)
        q, k, v = self.qkv(x).view(batch_size, seq_len, 3, self.heads, -1).permute(2, 0, 3, 1, 4)  # (b, heads, seq, d)
        logits = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])  # (batch, heads, seq, seq)
        s_arc = None
        if self.arc is not None:
            s_arc = self.arc(q[:, 0], k[:, 0]).to(logits.dtype)  # (batch, seq, seq)
            logits = torch.cat([s_arc[:, None], logits[:, 1:]], 1)
        logits = logits.masked_fill(~mask[:, None, None, :], float("-inf"))
        probs = logits.float().softmax(-1).to(v.dtype)
        if inject is not None and self.arc is not None:
            one_hot = torch.zeros_like(probs[:, 0]).scatter_(-1, inject.clamp(min=0)[..., None], 1.0)
            probs = torch.cat([one_hot[:, None], probs[:, 1:]], 1)
        return x, v, probs, s_arc

    def forward(self, x: torch.Tensor, mask: torch.Tensor, inject: torch.Tensor | None = None):
        """-> ``(h [batch_size, seq_len, size], s_arc)``."""
        x, v, probs, s_arc = self.attend(x, mask, inject)
        context = (probs @ v).transpose(1, 2).flatten(2)  # (batch, seq, size)
        h = self.norm1(x + self.dropout(self.out(context)))
        h = self.norm2(h + self.dropout(self.ff(h)))
        return h.masked_fill(~mask[..., None], 0), s_arc
