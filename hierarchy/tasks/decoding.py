"""Dependency trees from arc scores: greedy heads, then Chu-Liu-Edmonds without recursion, O(n^2)
(:mod:`hierarchy.tasks.mst`), for the sentences whose greedy heads are not a tree (SuPar's ``s_arc[b, dep, head]``)."""

from __future__ import annotations

import numpy as np
import torch

from hierarchy.io.trees import find_cycle
from hierarchy.tasks.mst import max_spanning_tree


def is_tree(heads: list[int]) -> bool:
    r"""
    Whether ``heads`` is a well-formed dependency tree with exactly one root child.

    Args:
        heads (list[int]): ``heads[i]`` is the head of word ``i + 1`` (1-based), 0 is ROOT.

    Returns:
        ``True`` iff every head is in ``[0, n]``, no word heads itself, exactly one word
        has head 0 and there is no cycle. An empty sentence is not a tree.

    Examples:
        >>> is_tree([2, 0, 2]), is_tree([0, 0]), is_tree([2, 1]), is_tree([0, 2])
        (True, False, False, False)
    """
    n = len(heads)
    if not all(0 <= h <= n and h != i for i, h in enumerate(heads, 1)):
        return False
    return sum(h == 0 for h in heads) == 1 and not find_cycle(heads)


def _mst(scores: np.ndarray, overall_first: bool = True) -> list[int]:
    r"""
    The best tree with exactly one root child for one sentence of ``n`` words.

    Args:
        scores (numpy.ndarray): ``[n + 1, n + 1]``, ``scores[dep, head]``, float64.
        overall_first (bool): first try the best tree overall, which is the answer when it has one root child.
            Pointless when each word's best head already gives a tree with several root children: that is the
            best tree overall.

    Returns:
        The heads of words ``1..n``.
    """
    n = scores.shape[0] - 1
    arcs = scores[1:]  # arcs into ROOT never count
    valid = np.isfinite(arcs) & ~np.eye(n, n + 1, k=1, dtype=bool)
    if not valid.any():  # every arc forbidden: any single-root tree will do
        return [0] + [1] * (n - 1)
    lo, hi = arcs[valid].min(), arcs[valid].max()
    # -inf (and nan) become finite but worse than any real arc: the MST code computes
    # differences of scores, and -inf - -inf is nan.
    floor = lo - (hi - lo) - 1.0
    energy = np.where(np.isfinite(scores), scores, floor).T.copy()  # energy[head, dep]
    # The best tree overall is the answer when it has one root child (it beats every one-root tree): the usual
    # case when the best heads make a cycle, and a quick one. Otherwise, single root: every tree has n arcs, each
    # in [floor, hi], so two trees' sums differ by at most n * (hi - floor) < big. Subtracting big from every arc
    # leaving ROOT costs a tree with k root children k * big, so any one-root tree beats any tree with k >= 2 root
    # children, and one-root trees keep their order (each pays big exactly once). Every tree has at least one root
    # child, so the maximum spanning tree has exactly one. (Slower: no word's best head is ROOT any more, so the
    # algorithm contracts cycle after cycle.)
    if overall_first:
        heads = max_spanning_tree(energy)
        if heads.count(0) == 1:
            return heads
    big = n * (hi - floor) + 1.0
    energy[0, 1:] -= big
    return max_spanning_tree(energy, copy=False)


def decode_tree(s_arc: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    r"""
    Greedy heads, re-decoded with Chu-Liu-Edmonds for the sentences that are not trees.

    Args:
        s_arc (torch.Tensor): ``[batch_size, seq_len, seq_len]``.
            ``s_arc[b, i, j]`` scores word ``j`` as the head of word ``i``; position 0 is ROOT.
            Any float dtype and device; ``-inf`` forbids an arc unless no tree avoids it.
        mask (torch.BoolTensor): ``[batch_size, seq_len]``. ``True`` for real words,
            ``False`` for ROOT (position 0) and the padding, which must come last.

    Returns:
        ~torch.LongTensor: ``[batch_size, seq_len]``, the head of each word, 0 at ROOT and
        padding, on the device of ``s_arc``. Each sentence is a tree with one root child;
        a sentence whose greedy heads already form one keeps them.

    Examples:
        >>> s_arc = torch.tensor([[[0., 0., 0.],
        ...                        [5., 0., 4.],    # word 1: ROOT 5, word 2: 4
        ...                        [3., 1., 0.]]])  # word 2: ROOT 3, word 1: 1
        >>> mask = torch.tensor([[False, True, True]])
        >>> decode_tree(s_arc, mask)  # greedy [0, 0, 0] has two root children
        tensor([[0, 2, 0]])
    """
    mask = mask.bool()
    seq_len = s_arc.shape[-1]
    s_arc = s_arc.float()
    # a head is ROOT or a real word, never the word itself
    can_head = mask.clone()
    can_head[:, 0] = True
    allowed = can_head.unsqueeze(1) & ~torch.eye(seq_len, dtype=torch.bool, device=s_arc.device)
    arcs = s_arc.masked_fill(~allowed, float("-inf")).argmax(-1)
    arcs = arcs.masked_fill(~mask, 0)  # (batch, seq)
    lens = mask.sum(-1).tolist()
    seqs = arcs.tolist()
    bad = [b for b, n in enumerate(lens) if n and not is_tree(seqs[b][1 : n + 1])]
    if bad:
        scores = s_arc[bad].detach().double().cpu().numpy()
        for scores_b, b in zip(scores, bad):
            n = lens[b]
            heads = _mst(scores_b[: n + 1, : n + 1], overall_first=bool(find_cycle(seqs[b][1 : n + 1])))
            arcs[b, 1 : n + 1] = torch.tensor(heads, device=arcs.device)
    return arcs
