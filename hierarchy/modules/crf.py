"""A linear-chain conditional random field: its log-likelihood (forward algorithm), batched Viterbi decoding under
transition constraints, and the table of transitions BIO allows.

The parameter names and shapes are those of allennlp's ``ConditionalRandomField`` (``transitions``,
``_constraint_mask``, ``start_transitions``, ``end_transitions``), so models trained when the project used it load
unchanged; the arithmetic is done in the same order, so their scores do not move either.
"""
from __future__ import annotations

import torch
from torch import nn

FORBIDDEN = -10000.0  # the score of a forbidden transition in Viterbi decoding


def bio_transitions(labels: list[str]) -> list[tuple[int, int]]:
    r"""
    The transitions allowed between BIO labels.

    Args:
        labels (list[str]): label ``i`` of the CRF, each ``O``, ``B-X`` or ``I-X``.

    Returns:
        ``(from, to)`` pairs: ``I-X`` follows only ``B-X`` or ``I-X``. Index ``len(labels)`` stands for START
        (which may go to ``O`` or ``B-*``) and ``len(labels) + 1`` for END (reached from any label); nothing goes
        to START or leaves END.

    Examples:
        >>> bio_transitions(["O", "B-A", "I-A"])
        [(0, 0), (0, 1), (0, 4), (1, 0), (1, 1), (1, 2), (1, 4), (2, 0), (2, 1), (2, 2), (2, 4), (3, 0), (3, 1)]
    """
    for label in labels:
        if label != "O" and not (label[:2] in ("B-", "I-") and len(label) > 2):
            raise ValueError(f"BIO label {label!r}: expected 'O', 'B-X' or 'I-X'")
    start, end = len(labels), len(labels) + 1

    def allowed(a: int, b: int) -> bool:
        if b == start or a == end:
            return False
        if a == start:
            return b != end and labels[b][0] in "OB"
        if b == end:
            return True
        return labels[b][0] in "OB" or labels[a][0] in "BI" and labels[a][2:] == labels[b][2:]

    return [(a, b) for a in range(len(labels) + 2) for b in range(len(labels) + 2) if allowed(a, b)]


def _logsumexp(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``log(sum(exp(x)))`` over ``dim``, shifted by the maximum."""
    top = x.max(dim).values
    return top + (x - top.unsqueeze(dim)).exp().sum(dim).log()


class ConditionalRandomField(nn.Module):
    r"""
    A linear-chain CRF over ``n_tags`` tags: ``score(y) = start[y_1] + sum_t emit[t, y_t] + sum_t trans[y_t, y_t+1]
    + end[y_n]``, normalised over every tag sequence.

    Args:
        n_tags (int): the number of tags.
        constraints (list[tuple[int, int]]): the allowed ``(from, to)`` transitions, START being ``n_tags`` and END
            ``n_tags + 1`` (e.g. :func:`bio_transitions`); ``None`` allows all. They restrict :meth:`decode`; the
            likelihood (:meth:`forward`) is over every sequence, as allennlp's is.
        include_start_end_transitions (bool): learn scores for the first and the last tag.
    """

    def __init__(self, n_tags: int, constraints: list[tuple[int, int]] | None = None,
                 include_start_end_transitions: bool = True):
        super().__init__()
        self.n_tags = n_tags
        self.transitions = nn.Parameter(torch.empty(n_tags, n_tags))  # [from, to]
        allowed = torch.ones(n_tags + 2, n_tags + 2)
        if constraints is not None:
            allowed.zero_()
            for a, b in constraints:
                allowed[a, b] = 1.0
        self._constraint_mask = nn.Parameter(allowed, requires_grad=False)  # [from, to]; row n_tags START, col n+1 END
        self.include_start_end_transitions = include_start_end_transitions
        if include_start_end_transitions:
            self.start_transitions = nn.Parameter(torch.empty(n_tags))
            self.end_transitions = nn.Parameter(torch.empty(n_tags))
        nn.init.xavier_normal_(self.transitions)
        if include_start_end_transitions:
            nn.init.normal_(self.start_transitions)
            nn.init.normal_(self.end_transitions)

    def forward(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        r"""
        The log-likelihood of ``tags``, summed over the batch.

        Args:
            emissions (torch.Tensor): ``[batch_size, seq_len, n_tags]``.
            tags (torch.LongTensor): ``[batch_size, seq_len]``, any valid tag at padding.
            mask (torch.BoolTensor): ``[batch_size, seq_len]``, ``True`` on the words, which come first; every
                sentence has at least one.

        Returns:
            A scalar: ``sum_b log p(tags_b | emissions_b)``.
        """
        mask = mask.bool()
        log_z = self.log_partition(emissions, mask)  # first: the order of autograd's sums, hence of its roundings
        return torch.sum(self.score(emissions, tags, mask) - log_z)

    def log_partition(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``[batch_size]``: ``log Z``, the log of the summed exponentiated scores of every tag sequence (the
        forward algorithm); ``emissions [batch_size, seq_len, n_tags]``, ``mask [batch_size, seq_len]``."""
        emissions, mask = emissions.transpose(0, 1).contiguous(), mask.bool().transpose(0, 1)  # time first
        alpha = emissions[0]  # (batch, n_tags): log-sum of the paths ending in each tag
        if self.include_start_end_transitions:
            alpha = self.start_transitions[None] + alpha
        for emit, real in zip(emissions[1:], mask[1:]):
            step = _logsumexp(alpha[:, :, None] + emit[:, None, :] + self.transitions[None], 1)
            alpha = step * real[:, None] + alpha * (~real)[:, None]
        if self.include_start_end_transitions:
            alpha = alpha + self.end_transitions[None]
        return _logsumexp(alpha)

    def score(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``[batch_size]``: the unnormalised score of ``tags [batch_size, seq_len]``; ``emissions [batch_size,
        seq_len, n_tags]``, ``mask [batch_size, seq_len]``."""
        emissions = emissions.transpose(0, 1).contiguous()  # time first
        tags, mask = tags.transpose(0, 1), mask.bool().transpose(0, 1)
        total = self.start_transitions[tags[0]] if self.include_start_end_transitions else 0.0
        for t in range(len(tags) - 1):
            emitted = emissions[t].gather(1, tags[t, :, None]).squeeze(1)  # (batch,)
            total = total + self.transitions[tags[t], tags[t + 1]] * mask[t + 1] + emitted * mask[t]
        last = tags.gather(0, (mask.sum(0) - 1)[None]).squeeze(0)  # (batch,) each sentence's last tag
        if self.include_start_end_transitions:
            total = total + self.end_transitions[last]
        return total + emissions[-1].gather(1, last[:, None]).squeeze(1) * mask[-1]

    @torch.no_grad()
    def decode(self, emissions: torch.Tensor, mask: torch.Tensor) -> list[list[int]]:
        r"""
        The best tag sequence of each sentence that keeps to the constraints, for the whole batch at once; a
        forbidden transition costs ``FORBIDDEN`` (a sequence uses one only where no other is possible).

        Args:
            emissions (torch.Tensor): ``[batch_size, seq_len, n_tags]``.
            mask (torch.BoolTensor): ``[batch_size, seq_len]``, ``True`` on the words, which come first.

        Returns:
            The tags of each sentence, as many as it has words.
        """
        emissions, mask = emissions.float(), mask.bool()
        batch_size, seq_len, n = emissions.shape
        allowed = self._constraint_mask.float()
        forbid = lambda ok: FORBIDDEN * (1 - ok)  # noqa: E731
        transitions = self.transitions * allowed[:n, :n] + forbid(allowed[:n, :n])  # (from, to)
        start, end = forbid(allowed[n, :n]), forbid(allowed[:n, n + 1])
        if self.include_start_end_transitions:
            start = start + self.start_transitions * allowed[n, :n]
            end = end + self.end_transitions * allowed[:n, n + 1]
        score = start + emissions[:, 0]  # (batch, n): the best path ending in each tag
        backpointers = []
        keep = torch.arange(n, device=emissions.device).expand(batch_size, n)
        for t in range(1, seq_len):
            best, previous = (score[:, :, None] + transitions).max(1)  # (batch, n): best tag before each tag
            real = mask[:, t, None]
            score = torch.where(real, best + emissions[:, t], score)
            backpointers.append(torch.where(real, previous, keep))  # past the end a tag stays itself
        tags = [(score + end).argmax(-1)]
        for previous in reversed(backpointers):
            tags.append(previous.gather(1, tags[-1][:, None]).squeeze(1))
        paths = torch.stack(tags[::-1], 1).tolist()
        return [path[:n_words] for path, n_words in zip(paths, mask.sum(-1).tolist())]
