"""A bidirectional LSTM over packed sequences, so padding never leaks into the backward direction."""
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class BiLSTM(nn.Module):
    """``[batch_size, seq_len, n_in] -> [batch_size, seq_len, 2 * size]``; rows past ``lens`` are zero."""

    def __init__(self, n_in: int, size: int):
        super().__init__()
        self.n_out = 2 * size
        self.lstm = nn.LSTM(n_in, size, batch_first=True, bidirectional=True)

    def forward(self, x: torch.Tensor, lens: torch.Tensor) -> torch.Tensor:
        packed = pack_padded_sequence(x, lens.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        return out
