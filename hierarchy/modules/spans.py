"""Spans of words: the candidates of a document (every span of at most ``max_width`` words inside a sentence), and
a span's representation from its end points, an attention-weighted sum of its words and its width (Lee et al.
2017), computed only for the spans that survive pruning."""
from __future__ import annotations

import torch
from torch import nn


def candidate_spans(sentence_of: torch.Tensor, max_width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every span of 1 to ``max_width`` words that lies inside one sentence: ``(starts, ends)``, each ``[n_spans]``,
    ``ends`` inclusive, ordered by start, then width, on ``sentence_of``'s device. ``sentence_of`` ``[n_words]``: each
    word's sentence.

    >>> candidate_spans(torch.tensor([0, 0, 1]), 2)
    (tensor([0, 0, 1, 2]), tensor([0, 1, 1, 2]))
    """
    n, device = len(sentence_of), sentence_of.device
    starts = torch.arange(n, device=device)[:, None].expand(n, max_width)
    ends = starts + torch.arange(max_width, device=device)[None, :]
    inside = ends < n
    inside[inside.clone()] = sentence_of[ends[inside]] == sentence_of[starts[inside]]
    return starts[inside], ends[inside]


def non_crossing(starts: torch.Tensor, ends: torch.Tensor, scores: torch.Tensor, limit: int) -> torch.Tensor:
    """The best-scoring spans, at most ``limit``, skipping each that crosses (overlaps without nesting in) one kept
    already, as Lee et al. (2017) prune: kept spans nest, so brackets write them unambiguously. ``starts``/``ends``
    ``[n]`` (inclusive), ``scores`` ``[n]`` -> indexes ``[n_kept]``, best first.

    >>> non_crossing(torch.tensor([0, 1, 0, 2]), torch.tensor([1, 2, 2, 2]), torch.tensor([3.0, 2.0, 1.0, 0.0]), 3)
    tensor([0, 2, 3])
    """
    first, last = starts.tolist(), ends.tolist()
    size = max(last, default=-1) + 1
    furthest_end, earliest_start = [-1] * size, [size] * size  # of the kept spans starting / ending at each word
    kept = []
    for i in torch.argsort(scores, descending=True).tolist():
        if len(kept) == limit:
            break
        s, e = first[i], last[i]
        # a kept (s2, e2) with s < s2 <= e < e2, or s2 < s <= e2 < e
        if any(furthest_end[p] > e for p in range(s + 1, e + 1)) or any(earliest_start[p] < s for p in range(s, e)):
            continue
        kept.append(i)
        furthest_end[s], earliest_start[e] = max(furthest_end[s], e), min(earliest_start[e], s)
    return torch.tensor(kept, dtype=torch.long, device=starts.device)


def distance_bucket(distance: torch.Tensor) -> torch.Tensor:
    """Lee et al.'s buckets of a positive distance: 1, 2, 3, 4, 5-7, 8-15, 16-31, 32-63, 64+ -> 0..8.

    >>> distance_bucket(torch.tensor([1, 4, 5, 8, 63, 64, 500])).tolist()
    [0, 3, 4, 5, 7, 8, 8]
    """
    distance = distance.clamp(min=1)
    log = torch.floor(torch.log2(distance.float())).long() + 2  # 5-7 -> 4, 8-15 -> 5...
    return torch.where(distance <= 4, distance - 1, log).clamp(max=8)


def match_codes(forms: torch.Tensor, starts: torch.Tensor, ends: torch.Tensor) -> torch.Tensor:
    """How alike the words of every two spans are, ``2 * same words + same last word`` (0, 1 or 3): ``forms
    [n_words]`` (an id per word form, e.g. of its lowercased text), ``starts``/``ends`` ``[n]`` (inclusive) ->
    ``[n, n]`` uint8 (a byte a pair: the square of the spans is the one quadratic tensor of a document).

    >>> match_codes(torch.tensor([0, 1, 2, 1, 0, 1]), torch.tensor([0, 1, 4]), torch.tensor([1, 1, 5])).tolist()
    [[3, 1, 3], [1, 3, 1], [3, 1, 3]]
    """
    if not len(starts):
        return torch.zeros(0, 0, dtype=torch.uint8, device=forms.device)
    width = ends - starts
    offsets = torch.arange(int(width.max()) + 1, device=forms.device)
    positions = (starts[:, None] + offsets[None, :]).clamp(max=len(forms) - 1)
    words = forms[positions].masked_fill(offsets[None, :] > width[:, None], -1)  # (n, max width)
    text = torch.unique(words, dim=0, return_inverse=True)[1]  # (n,): the same id for the same words
    last = forms[ends]
    return 2 * (text[:, None] == text[None, :]).to(torch.uint8) + (last[:, None] == last[None, :]).to(torch.uint8)


def speaker_codes(speakers: torch.Tensor, addressees: torch.Tensor, antecedents: torch.Tensor) -> torch.Tensor:
    """How the speakers of spans and their antecedents relate: ``speakers``/``addressees`` ``[n]`` (an id per span,
    0 = unknown), ``antecedents`` ``[n, a]`` (indexes) -> ``[n, a]`` codes: 0 where a speaker is unknown, else ``1 +
    same speaker + 2 * (the span is said to the antecedent's speaker) + 4 * (the antecedent was said to the span's
    speaker)`` ("I" and a later "you" of the other side of a dialogue get 1 + 2 + 4).

    >>> speakers, addressees = torch.tensor([1, 2, 1, 0]), torch.tensor([2, 1, 0, 0])
    >>> speaker_codes(speakers, addressees, torch.tensor([[0], [0], [1], [0]])).tolist()
    [[2], [7], [5], [0]]
    """
    s, d = speakers[:, None], addressees[:, None]
    s_a, d_a = speakers[antecedents], addressees[antecedents]
    codes = 1 + (s == s_a).long() + 2 * ((d == s_a) & (d > 0)).long() + 4 * ((s == d_a) & (d_a > 0)).long()
    return codes * ((s > 0) & (s_a > 0)).long()


class SpanEncoder(nn.Module):
    """``[h_start; h_end; attention-pooled h; width embedding]`` projected to ``n_out``."""

    def __init__(self, n_in: int, n_out: int, max_width: int, width_dim: int = 20):
        super().__init__()
        self.max_width = max_width
        self.attention = nn.Linear(n_in, 1)
        self.width = nn.Embedding(max_width, width_dim)
        self.project = nn.Linear(3 * n_in + width_dim, n_out)
        self.n_out = n_out

    def forward(self, words: torch.Tensor, starts: torch.Tensor, ends: torch.Tensor) -> torch.Tensor:
        """``words [n_words, n_in]``, ``starts``/``ends`` ``[n_spans]`` (inclusive) -> ``[n_spans, n_out]``."""
        width = ends - starts  # 0 for one word
        offsets = torch.arange(int(width.max()) + 1 if len(width) else 1, device=words.device)
        positions = (starts[:, None] + offsets[None, :]).clamp(max=len(words) - 1)  # (n_spans, max width)
        logits = self.attention(words).squeeze(-1)[positions]  # (n_spans, max width)
        logits = logits.masked_fill(offsets[None, :] > width[:, None], float("-inf"))
        pooled = (logits.softmax(-1).unsqueeze(-1) * words[positions]).sum(1)  # (n_spans, n_in)
        features = [words[starts], words[ends], pooled, self.width(width.clamp(max=self.max_width - 1))]
        return self.project(torch.cat(features, -1))
