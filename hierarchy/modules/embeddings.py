"""Word embeddings plus character-level word features (a character CNN or BiLSTM)."""
import torch
from torch import nn


class CharCNN(nn.Module):
    """``[n_words, n_chars] -> [n_words, size]``: convolution, then max over characters."""

    def __init__(self, n_chars: int, char_dim: int, size: int, width: int = 3):
        super().__init__()
        self.embed = nn.Embedding(n_chars, char_dim, padding_idx=0)
        self.conv = nn.Conv1d(char_dim, size, width, padding=width // 2)

    def forward(self, chars: torch.Tensor) -> torch.Tensor:
        x = self.embed(chars).transpose(1, 2)  # (n_words, char_dim, n_chars)
        h = self.conv(x).relu().masked_fill((chars == 0)[:, None, :], 0)
        return h.max(-1).values


class CharLSTM(nn.Module):
    """``[n_words, n_chars] -> [n_words, 2 * size]``: last states of a character BiLSTM (zero for no characters)."""

    def __init__(self, n_chars: int, char_dim: int, size: int):
        super().__init__()
        self.embed = nn.Embedding(n_chars, char_dim, padding_idx=0)
        self.lstm = nn.LSTM(char_dim, size, batch_first=True, bidirectional=True)

    def forward(self, chars: torch.Tensor) -> torch.Tensor:
        lens = (chars > 0).sum(-1)
        out = chars.new_zeros(chars.shape[0], 2 * self.lstm.hidden_size, dtype=self.embed.weight.dtype)
        real = lens > 0
        packed = nn.utils.rnn.pack_padded_sequence(
            self.embed(chars[real]), lens[real].cpu(), batch_first=True, enforce_sorted=False
        )
        _, (h, _) = self.lstm(packed)  # h: (2, n_real_words, size)
        out[real] = torch.cat([h[0], h[1]], -1).to(out.dtype)
        return out


class Embeddings(nn.Module):
    """``words [batch_size, seq_len]``, ``chars [n_types, n_chars]`` (the characters of each distinct word form) and
    ``types [batch_size, seq_len]`` (each word's row of ``chars``) -> ``[batch_size, seq_len, n_out]``. The character
    encoder runs once per distinct form.

    During training each word is replaced by the unknown word (index 1) with probability ``word_dropout``.

    With ``n_vectors`` rows of static vectors of size ``vectors_dim``, ``vectors [batch_size, seq_len]`` (each word's
    row, 0 padding, 1 unknown) picks them; a linear projection to ``word_dim`` is concatenated after the word
    embedding. The vectors are frozen unless ``vectors_trainable``; :meth:`set_vectors` fills them in.

    With a ``transformer`` (:class:`~hierarchy.modules.transformer.TransformerInput`), its scalar mix for
    ``batch.texts`` is concatenated last.
    """

    def __init__(self, n_words, n_chars, word_dim, chars="cnn", char_dim=32, char_size=100, word_dropout=0.0,
                 n_vectors=0, vectors_dim=0, vectors_trainable=False, transformer=None):
        super().__init__()
        self.transformer = transformer
        self.words = nn.Embedding(n_words, word_dim, padding_idx=0)
        self.word_dropout = word_dropout
        encoders = {"cnn": lambda: CharCNN(n_chars, char_dim, char_size),
                    "lstm": lambda: CharLSTM(n_chars, char_dim, char_size)}
        self.chars = encoders.get(chars, lambda: None)()
        self.n_out = word_dim + {"cnn": char_size, "lstm": 2 * char_size}.get(chars, 0)
        self.vectors = self.project = None
        if n_vectors:
            self.vectors = nn.Embedding(n_vectors, vectors_dim, padding_idx=0)
            self.vectors.weight.requires_grad_(vectors_trainable)
            self.project = nn.Linear(vectors_dim, word_dim)
            self.n_out += word_dim
        if transformer is not None:
            self.n_out += transformer.size

    def set_vectors(self, matrix) -> None:
        """Fill the static vectors with ``matrix [n_vectors, vectors_dim]`` (rows 0 and 1, padding and unknown,
        should be zeros)."""
        with torch.no_grad():
            self.vectors.weight.copy_(torch.as_tensor(matrix))

    def forward(self, batch, word_dropout: float | None = None) -> torch.Tensor:
        """``batch`` (:class:`~hierarchy.core.batching.Batch`) -> ``[batch_size, seq_len, n_out]``; ``word_dropout``:
        this batch's rate instead of the module's."""
        words, rate = batch.words, self.word_dropout if word_dropout is None else word_dropout
        if self.training and rate > 0:
            drop = (torch.rand(words.shape, device=words.device) < rate) & (words > 0)
            words = words.masked_fill(drop, 1)
        x = self.words(words)
        if self.vectors is not None:
            x = torch.cat([x, self.project(self.vectors(batch.vectors))], -1)  # (batch, seq, 2 * word_dim)
        if self.chars is not None:
            x = torch.cat([x, self.chars(batch.chars)[batch.types].to(x.dtype)], -1)
        if self.transformer is not None:
            x = torch.cat([x, self.transformer(batch.texts, words.shape[1]).to(x.dtype)], -1)
        return x
