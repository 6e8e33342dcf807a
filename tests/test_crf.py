"""The project's own small modules against brute force: the CRF's likelihood and Viterbi over every tag sequence, the
BIO transition table, the biaffine scorer against an explicit einsum, and locked dropout's one mask per sequence."""
import itertools

import pytest
import torch

from hierarchy.modules.bilinear import Biaffine
from hierarchy.modules.crf import ConditionalRandomField, bio_transitions
from hierarchy.modules.dropout import LockedDropout

LABELS = ["O", "B-A", "I-A", "B-B", "I-B"]


def well_formed(tags: list[str]) -> bool:
    return all(t[0] != "I" or (p != "O" and p[2:] == t[2:]) for p, t in zip(["O"] + tags, tags))


def random_crf(n_tags: int, constraints=None, start_end: bool = True, seed: int = 0) -> ConditionalRandomField:
    torch.manual_seed(seed)
    crf = ConditionalRandomField(n_tags, constraints, include_start_end_transitions=start_end)
    with torch.no_grad():
        for param in crf.parameters():
            if param.requires_grad:
                param.normal_(std=2)
    return crf


def path_score(crf: ConditionalRandomField, emissions: torch.Tensor, seq) -> torch.Tensor:
    """The score of one tag sequence ``seq`` over ``emissions [len(seq), n_tags]``, summed term by term."""
    score = sum(emissions[t, tag] for t, tag in enumerate(seq))
    score = score + sum(crf.transitions[a, b] for a, b in zip(seq, seq[1:]))
    if crf.include_start_end_transitions:
        score = score + crf.start_transitions[seq[0]] + crf.end_transitions[seq[-1]]
    return score


def test_bio_transitions():
    allowed = set(bio_transitions(LABELS))
    start, end = len(LABELS), len(LABELS) + 1
    for i, j in itertools.product(range(len(LABELS)), repeat=2):
        assert ((i, j) in allowed) == (LABELS[j][0] != "I" or LABELS[i][2:] == LABELS[j][2:])
        assert ((start, j) in allowed) == well_formed([LABELS[j]])
        assert (i, end) in allowed and (j, start) not in allowed and (end, j) not in allowed
    assert (start, end) not in allowed and (end, end) not in allowed
    with pytest.raises(ValueError, match="U-A"):
        bio_transitions(["O", "U-A"])


@pytest.mark.parametrize("start_end", [True, False])
@pytest.mark.parametrize("constrained", [True, False])
def test_log_likelihood_equals_brute_force(start_end, constrained):
    """``log Z`` is the log-sum-exp of every sequence's score (over all sequences, constraints or not: they only
    restrict decoding), the score of the gold sequence is its term-by-term sum, padding counts for nothing."""
    crf = random_crf(len(LABELS), bio_transitions(LABELS) if constrained else None, start_end, seed=3)
    lens = [1, 2, 4, 3]
    emissions = torch.randn(len(lens), 4, len(LABELS)) * 2
    mask = torch.arange(4) < torch.tensor(lens)[:, None]
    tags = torch.randint(len(LABELS), (len(lens), 4))
    log_z, score = crf.log_partition(emissions, mask), crf.score(emissions, tags, mask)
    expected = 0.0
    for b, n in enumerate(lens):
        every = torch.stack([path_score(crf, emissions[b], seq)
                             for seq in itertools.product(range(len(LABELS)), repeat=n)])
        gold = path_score(crf, emissions[b], tags[b, :n].tolist())
        assert log_z[b].item() == pytest.approx(every.logsumexp(0).item(), abs=1e-4)
        assert score[b].item() == pytest.approx(gold.item(), abs=1e-4)
        expected += (gold - every.logsumexp(0)).item()
    assert crf(emissions, tags, mask).item() == pytest.approx(expected, abs=1e-4)


def test_log_likelihood_gradient_is_expected_counts_minus_gold():
    """The gradient of the log-likelihood for the transitions is the gold transition counts minus their expectation,
    brute-forced over every sequence of a 3-word sentence."""
    crf = random_crf(3, start_end=False, seed=1)
    emissions, tags, mask = torch.randn(1, 3, 3), torch.tensor([[0, 2, 2]]), torch.ones(1, 3, dtype=torch.bool)
    crf(emissions, tags, mask).backward()
    seqs = list(itertools.product(range(3), repeat=3))
    with torch.no_grad():
        probs = torch.stack([path_score(crf, emissions[0], s) for s in seqs]).softmax(0)
    expected = torch.zeros(3, 3)
    for p, seq in zip(probs, seqs):
        for a, b in zip(seq, seq[1:]):
            expected[a, b] -= p
    expected[0, 2] += 1
    expected[2, 2] += 1
    assert torch.allclose(crf.transitions.grad, expected, atol=1e-5)


@pytest.mark.parametrize("start_end", [True, False])
@pytest.mark.parametrize("seed", range(3))
def test_viterbi_equals_brute_force_under_bio_constraints(start_end, seed):
    crf = random_crf(len(LABELS), bio_transitions(LABELS), start_end, seed)
    lens = [1, 2, 3, 4, 4, 3]
    emissions = torch.randn(len(lens), 4, len(LABELS)) * 3
    emissions[:, 0, 2] += 5  # tempt it to start with I-A
    mask = torch.arange(4) < torch.tensor(lens)[:, None]
    decoded = crf.decode(emissions, mask)
    for b, n in enumerate(lens):
        allowed = [seq for seq in itertools.product(range(len(LABELS)), repeat=n)
                   if well_formed([LABELS[i] for i in seq])]
        best = max(allowed, key=lambda seq: path_score(crf, emissions[b], seq).item())
        assert decoded[b] == list(best)


def test_viterbi_without_constraints_equals_brute_force():
    crf = random_crf(3, seed=5)
    lens = torch.randint(1, 6, (30,))
    emissions = torch.randn(30, 5, 3) * 2
    mask = torch.arange(5) < lens[:, None]
    decoded = crf.decode(emissions, mask)
    for b, n in enumerate(lens.tolist()):
        best = max(itertools.product(range(3), repeat=n), key=lambda seq: path_score(crf, emissions[b], seq).item())
        assert decoded[b] == list(best)


def test_biaffine_equals_einsum():
    torch.manual_seed(0)
    scorer = Biaffine(3, 4)
    with torch.no_grad():
        scorer._bias.fill_(0.5)
    x, y = torch.randn(2, 5, 3), torch.randn(2, 6, 4)
    ones = lambda t: torch.cat([t, torch.ones(*t.shape[:-1], 1)], -1)  # noqa: E731
    expected = torch.einsum("bip,pq,bjq->bij", ones(x), scorer._weight_matrix, ones(y)) + 0.5
    assert torch.allclose(scorer(x, y), expected, atol=1e-5)
    assert [name for name, _ in scorer.named_parameters()] == ["_weight_matrix", "_bias"]


def test_locked_dropout_keeps_one_mask_per_sequence():
    torch.manual_seed(0)
    dropout = LockedDropout(0.5)
    x = torch.ones(4, 7, 16)
    y = dropout(x)
    assert torch.equal(y, y[:, :1].expand_as(y))  # the same features at every time step
    assert set(y.unique().tolist()) == {0.0, 2.0}  # kept features scaled by 1 / (1 - p)
    assert not torch.equal(y[0], y[1])  # each sequence draws its own mask
    dropout.eval()
    assert torch.equal(dropout(x), x)
