"""A bidirectional LSTM that never lets padding into the backward direction: packed on CUDA, one direction at a
time over the padded batch elsewhere."""
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

PARAMETERS = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


class BiLSTM(nn.Module):
    """``[batch_size, seq_len, n_in] -> [batch_size, seq_len, 2 * size]``; rows past ``lens`` are zero.

    On CUDA the batch goes to cuDNN packed. Elsewhere each direction runs over the padded batch, the backward one
    over each row reversed within its length: padding comes after the words, so neither reads it before a word.
    On a CPU that is as fast as packing in fp32 and 20-45% faster in bf16 (oneDNN's LSTM takes no packed input).
    """

    def __init__(self, n_in: int, size: int):
        super().__init__()
        self.n_out = 2 * size
        self.lstm = nn.LSTM(n_in, size, batch_first=True, bidirectional=True)

    def forward(self, x: torch.Tensor, lens: torch.Tensor) -> torch.Tensor:
        if x.is_cuda:
            return self.packed(x, lens)
        batch_size, seq_len, _ = x.shape
        steps = torch.arange(seq_len, device=x.device)[None, :]
        lens = lens.to(x.device)[:, None]
        words = steps < lens  # (batch, seq)
        # rows of the flattened batch: each sentence's words reversed, its padding in place
        rows = seq_len * torch.arange(batch_size, device=x.device)[:, None]
        flip = (torch.where(words, lens - 1 - steps, steps) + rows).view(-1)
        zeros = x.new_zeros(1, batch_size, self.lstm.hidden_size)
        forward = self.direction(x, zeros, "")
        backward = self.direction(x.flatten(0, 1)[flip].view_as(x), zeros, "_reverse")
        backward = backward.flatten(0, 1)[flip].view_as(forward)
        return torch.cat([forward, backward], -1).masked_fill(~words[..., None], 0)

    def direction(self, x: torch.Tensor, zeros: torch.Tensor, suffix: str) -> torch.Tensor:
        """One direction of the LSTM (its weights with ``suffix``) left to right over ``x``."""
        weights = [getattr(self.lstm, name + suffix) for name in PARAMETERS]
        return torch.lstm(x, (zeros, zeros), weights, True, 1, 0.0, self.training, False, True)[0]

    def packed(self, x: torch.Tensor, lens: torch.Tensor) -> torch.Tensor:
        packed = pack_padded_sequence(x, lens.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        return out
