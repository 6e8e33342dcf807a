import itertools
from functools import lru_cache

import numpy as np
import pytest
import torch

from hierarchy.io.spans import repair_bio
from hierarchy.tasks import decoding
from hierarchy.tasks.decoding import decode_tree, is_tree


@lru_cache
def single_root_trees(n: int) -> np.ndarray:
    """All head assignments of ``n`` words that are trees with one root child: ``[k, n]``."""
    heads = np.array(list(itertools.product(range(n + 1), repeat=n)))  # (k, n)
    words = np.arange(1, n + 1)
    ok = (heads != words).all(1) & ((heads == 0).sum(1) == 1)
    with_root = np.concatenate([np.zeros((len(heads), 1), int), heads], 1)  # (k, n + 1)
    ancestors = with_root
    for _ in range(n):  # after n steps up, every word of a tree is at ROOT
        ancestors = np.take_along_axis(with_root, ancestors, 1)
    return heads[ok & (ancestors == 0).all(1)]


def tree_score(s: torch.Tensor, heads) -> float:
    """``s`` is ``[n + 1, n + 1]``; ``heads`` the heads of words ``1..n``."""
    return sum(float(s[i, h]) for i, h in enumerate(heads, 1))


def brute_force(s: torch.Tensor) -> tuple[list[int], float]:
    trees = single_root_trees(s.shape[0] - 1)
    scores = s[1:].double().numpy()[np.arange(trees.shape[1]), trees].sum(1)
    return trees[scores.argmax()].tolist(), scores.max()


def decode_one(s: torch.Tensor) -> list[int]:
    mask = torch.ones(1, s.shape[0], dtype=torch.bool)
    mask[0, 0] = False
    return decode_tree(s[None], mask)[0, 1:].tolist()


def test_is_tree():
    assert is_tree([0])
    assert is_tree([2, 0, 2])
    assert is_tree([0, 1, 2, 3])
    assert not is_tree([])
    assert not is_tree([1])  # self loop
    assert not is_tree([0, 0])  # two root children
    assert not is_tree([2, 1])  # no root child
    assert not is_tree([0, 3, 2])  # cycle beside the tree
    assert not is_tree([0, 3])  # out of range
    assert not is_tree([0, -1])


def test_single_root_trees_counts():
    # n choices of root child times n ** (n - 2) trees (Cayley) hanging from it
    assert [len(single_root_trees(n)) for n in range(1, 6)] == [1, 2, 9, 64, 625]


@pytest.mark.parametrize("n", range(1, 6))
def test_decode_tree_brute_force(n):
    torch.manual_seed(n)
    for _ in range(20):
        s = torch.randn(n + 1, n + 1) * 3
        heads = decode_one(s)
        best, best_score = brute_force(s)
        assert is_tree(heads)
        assert tree_score(s, heads) == pytest.approx(best_score, abs=1e-5), (heads, best)
        for overall_first in (True, False):  # with and without the quick try of the best tree overall
            heads = decoding._mst(s.double().numpy(), overall_first)
            assert is_tree(heads) and tree_score(s, heads) == pytest.approx(best_score, abs=1e-5)


def test_batched_equals_one_by_one():
    torch.manual_seed(0)
    lens = [5, 1, 3, 4, 2, 5, 3]
    seq_len = max(lens) + 1
    s_arc = torch.randn(len(lens), seq_len, seq_len) * 3
    s_arc[1, :, 2:] = 100.0  # padding scores high: must never be picked as head
    mask = torch.arange(seq_len) < torch.tensor(lens)[:, None] + 1
    mask[:, 0] = False
    arcs = decode_tree(s_arc, mask)
    for b, n in enumerate(lens):
        assert arcs[b, 1 : n + 1].tolist() == decode_one(s_arc[b, : n + 1, : n + 1])
        assert arcs[b, 1 : n + 1].tolist() == brute_force(s_arc[b, : n + 1, : n + 1])[0]
        assert (arcs[b, n + 1 :] == 0).all() and arcs[b, 0] == 0
    assert arcs.dtype == torch.long


def test_greedy_tree_is_kept_without_mst(monkeypatch):
    def no_mst(*args, **kwargs):
        raise AssertionError("the MST decoder ran on a sentence that is already a tree")

    monkeypatch.setattr(decoding, "max_spanning_tree", no_mst)
    torch.manual_seed(1)
    gold = [[3, 3, 0, 3], [0, 1, 1, 2]]
    s_arc = torch.randn(2, 5, 5)
    for b, heads in enumerate(gold):
        s_arc[b, torch.arange(1, 5), torch.tensor(heads)] += 10
    mask = torch.tensor([[False, True, True, True, True]] * 2)
    assert decode_tree(s_arc, mask)[:, 1:].tolist() == gold


def test_only_bad_sentences_are_redecoded(monkeypatch):
    calls, real_mst = [], decoding.max_spanning_tree
    monkeypatch.setattr(decoding, "max_spanning_tree",
                        lambda energy, **k: calls.append(len(energy)) or real_mst(energy, **k))
    s_arc = torch.zeros(3, 4, 4)
    s_arc[0, torch.arange(1, 4), torch.tensor([0, 1, 1])] = 5  # greedy is a tree
    s_arc[1, torch.arange(1, 4), torch.tensor([0, 0, 0])] = 5  # three root children
    s_arc[1, torch.arange(1, 4), torch.tensor([3, 1, 1])] = torch.tensor([4.0, 4.0, 4.5])
    s_arc[2, torch.arange(1, 4), torch.tensor([0, 3, 2])] = 5  # cycle 2 <-> 3
    s_arc[2, 2, 1], s_arc[2, 3, 1] = 4, 1
    mask = torch.tensor([[False, True, True, True]] * 3)
    arcs = decode_tree(s_arc, mask)
    # sentences 1 and 2 only, each with ROOT + 3 words, once each: sentence 1's best heads are already the best
    # tree overall, with three root children, so it goes straight to the root penalty; sentence 2's make a
    # cycle, and the best tree overall, which has one root child, is the answer
    assert calls == [4, 4]
    assert arcs[0, 1:].tolist() == [0, 1, 1]
    assert arcs[1, 1:].tolist() == [0, 1, 1] == brute_force(s_arc[1])[0]  # 5 + 4 + 4.5
    assert arcs[2, 1:].tolist() == [0, 1, 2] == brute_force(s_arc[2])[0]  # 5 + 4 + 5


def test_two_root_children_and_cycle_match_brute_force():
    s = torch.tensor([[0.0, 0, 0], [5, 0, 4], [3, 1, 0]])
    assert decode_one(s) == brute_force(s)[0] == [2, 0]
    s = torch.tensor([[0.0, 0, 0, 0], [1, 0, 6, 1], [0, 6, 0, 0], [9, 0, 2, 0]])  # greedy: 1 <-> 2
    assert decode_one(s) == brute_force(s)[0] == [3, 1, 0]  # 1 + 6 + 9 beats [2, 3, 0]: 6 + 0 + 9


def test_infinite_and_low_precision_scores():
    torch.manual_seed(2)
    s = torch.randn(5, 5) * 3
    s[1:, 0] = float("-inf")
    s[4, 0] = 0.0  # only word 4 may attach to ROOT
    s[2, 3] = float("-inf")
    heads = decode_one(s)
    assert heads == brute_force(s.masked_fill(s.isinf(), -1e4))[0] and heads[3] == 0
    assert decode_one(torch.full((5, 5), float("-inf"))) in single_root_trees(4).tolist()
    assert decode_one(s.masked_fill(s.isinf(), -1e9)) == heads
    for dtype in (torch.bfloat16, torch.float16):
        t = torch.randn(6, 6).to(dtype)
        assert decode_one(t) == brute_force(t.float())[0]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA")
def test_cuda_matches_cpu():
    torch.manual_seed(3)
    s_arc = torch.randn(4, 6, 6, dtype=torch.bfloat16)
    mask = torch.arange(6) < torch.tensor([6, 3, 5, 2])[:, None]
    mask[:, 0] = False
    arcs = decode_tree(s_arc.cuda(), mask.cuda())
    assert arcs.is_cuda and arcs.cpu().equal(decode_tree(s_arc, mask))


LABELS = ["O", "B-A", "I-A", "B-B", "I-B"]


def well_formed(tags: list[str]) -> bool:
    return all(t[0] != "I" or (p != "O" and p[2:] == t[2:]) for p, t in zip(["O"] + tags, tags))


def test_repair_bio():
    assert repair_bio([]) == []
    assert repair_bio(["O", "B-A", "I-A", "O"]) == ["O", "B-A", "I-A", "O"]
    assert repair_bio(["I-A", "I-A"]) == ["B-A", "I-A"]
    assert repair_bio(["O", "I-A", "B-B", "I-A", "I-B"]) == ["O", "B-A", "B-B", "B-A", "B-B"]
    assert repair_bio(["B-A", "I-B", "I-B"]) == ["B-A", "B-B", "I-B"]
    for tags in itertools.product(LABELS, repeat=3):
        repaired = repair_bio(list(tags))
        assert well_formed(repaired)
        assert [t[2:] for t in repaired] == [t[2:] for t in tags]
        if well_formed(list(tags)):
            assert repaired == list(tags)


def all_trees(n: int) -> np.ndarray:
    """All head assignments of ``n`` words that are trees, with any number of root children: ``[k, n]``."""
    heads = np.array(list(itertools.product(range(n + 1), repeat=n)))  # (k, n)
    with_root = np.concatenate([np.zeros((len(heads), 1), int), heads], 1)  # (k, n + 1)
    ancestors = with_root
    for _ in range(n):
        ancestors = np.take_along_axis(with_root, ancestors, 1)
    return heads[(heads != np.arange(1, n + 1)).all(1) & (ancestors == 0).all(1)]


def test_the_mst_decoder_equals_brute_force_and_needs_no_recursion():
    """The O(n^2) Chu-Liu-Edmonds finds the best of every tree (random scores have no ties), and decodes a
    3,000-word sentence of random scores (hundreds of nested contractions) without recursion."""
    from hierarchy.io.trees import find_cycle
    from hierarchy.tasks.mst import max_spanning_tree

    rng = np.random.default_rng(0)
    for n in [1, 2, 3, 4, 5, 6] * 8:
        energy = rng.normal(size=(n + 1, n + 1))  # energy[head, dep]
        trees = all_trees(n)
        scores = energy[trees, np.arange(1, n + 1)].sum(1)
        assert max_spanning_tree(energy) == trees[scores.argmax()].tolist()
    energy = rng.normal(size=(3001, 3001))
    heads = max_spanning_tree(energy)
    assert len(heads) == 3000 and not find_cycle(heads)
