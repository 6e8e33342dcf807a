"""Coreference metrics against the CoNLL-2012 reference scorer's own test cases (conll/reference-coreference-scorers,
test/CorefMetricTestConfig.pm: key TC-A and responses A1-A6 and A10-A13, their entities written out here with
their expected recall and precision), LEA on cases worked by hand, and the assignment against brute force."""
import itertools
import random

import pytest

from hierarchy.tasks.coref_metrics import CorefMetric, b_cubed, best_assignment, ceafe, lea, muc

a, b, c = ("s1", 0, 1), ("s1", 3, 6), ("s2", 0, 0)
d, e, f = ("s2", 2, 3), ("s2", 5, 5), ("s2", 7, 9)
x1, x3, y = ("s2", 1, 1), ("s2", 4, 4), ("s2", 6, 6)
b_part, j1, f_part = ("s1", 4, 5), ("s1", 7, 7), ("s2", 7, 7)
b_short = ("s1", 3, 4)
KEY = [[a], [b, c], [d, e, f]]
RESPONSES = {  # id: (entities, {metric: (recall, precision)}); None where the test gives no figure
    "A1": ([[a], [b, c], [d, e, f]], {"muc": (1, 1), "bcub": (1, 1), "ceafe": (1, 1)}),
    "A2": ([[a], [d, e]], {"muc": (1 / 3, 1), "bcub": ((7 / 3) / 6, 1), "ceafe": (0.6, 0.9)}),
    "A3": ([[a], [b, c, x1], [d, x3, e, f], [y]], {"muc": (1, 3 / 5), "bcub": (1, (4 + 7 / 12) / 9),
                                                    "ceafe": (0.88571, 0.66429)}),
    "A4": ([[a], [b, c, x1], [d, y], [x3]], {"muc": (1 / 3, 1 / 3), "bcub": ((3 + 1 / 3) / 6, (1 + 4 / 3 + 1 / 2) / 7),
                                            "ceafe": (0.73333, 0.55)}),
    "A5": ([[a], [b, b_part, c, x1], [d, y], [x3]], {"muc": (1 / 3, 1 / 4), "bcub": ((3 + 1 / 3) / 6, 2.5 / 8),
                                                    "ceafe": (0.68889, 0.51667)}),
    "A6": ([[a], [b, c, x1], [d, y], [b_part, x3]], {"muc": (1 / 3, 1 / 4), "bcub": ((10 / 3) / 6, (1 + 4 / 3 + 1 / 2) / 8),
                                                    "ceafe": (0.73333, 0.55)}),
    "A10": ([[a], [b], [c], [d], [e], [f]], {"muc": (0, 0), "bcub": (3 / 6, 6 / 6)}),
    "A11": ([[a, b, c, d, e, f]], {"muc": (1, 3 / 5), "bcub": (1, (1 / 6 + 2 * 2 / 6 + 3 * 3 / 6) / 6)}),
    "A12": ([[a], [b_short], [j1], [c], [d], [e], [f_part]], {"muc": (0, 0), "bcub": ((1 + 1 / 2 + 2 / 3) / 6, 4 / 7)}),
    "A13": ([[a, b_short, j1, c, d, e, f_part]], {"muc": (1 / 3, 1 / 6),
                                                  "bcub": ((1 + 1 / 2 + 2 * 2 / 3) / 6, (1 / 7 + 1 / 7 + 2 * 2 / 7) / 7)}),
}


def ratio(num, den):
    return num / den if den else 0.0


@pytest.mark.parametrize("case", RESPONSES)
def test_the_reference_scorers_cases(case):
    response, expected = RESPONSES[case]
    for name, measure in (("muc", muc), ("bcub", b_cubed)):
        recall, precision = expected[name]
        assert ratio(*measure(KEY, response)) == pytest.approx(recall, abs=1e-4), name
        assert ratio(*measure(response, KEY)) == pytest.approx(precision, abs=1e-4), name
    if "ceafe" in expected:
        similarity, n_key, n_response = ceafe(KEY, response)
        assert (similarity / n_key, similarity / n_response) == pytest.approx(expected["ceafe"], abs=1e-4)


def test_lea_by_hand():
    """Key {a}, {b c}, {d e f}; response {a}, {b c x1}, {d y}, {x3} (case A4). Recall: {a} resolved (1 of 1 link,
    weight 1), {b c} (1 of 1, weight 2), {d e f} (0 of 3, weight 3): 3 / 6. Precision: {a} 1 x 1, {b c x1} 1 of 3
    links x 3, {d y} 0, {x3} not a singleton of the key 0: 2 / 7."""
    response = RESPONSES["A4"][0]
    assert ratio(*lea(KEY, response)) == pytest.approx(3 / 6)
    assert ratio(*lea(response, KEY)) == pytest.approx(2 / 7)
    assert ratio(*lea(KEY, KEY)) == 1.0


def test_the_metric_adds_documents_and_drops_singletons_when_asked():
    metric = CorefMetric()
    metric.update(KEY, RESPONSES["A4"][0])
    metric.update(KEY, KEY)
    values = metric.values
    assert values["muc"]["recall"] == pytest.approx(100 * (1 + 3) / (3 + 3))
    assert values["bcub"]["precision"] == pytest.approx(100 * ((1 + 4 / 3 + 1 / 2) + 6) / (7 + 6))
    assert values["ceafe"]["recall"] == pytest.approx(100 * (2.2 + 3) / 6)
    assert values["conll_f1"] == pytest.approx((values["muc"]["f1"] + values["bcub"]["f1"] + values["ceafe"]["f1"]) / 3)
    plain = CorefMetric(singletons=False)
    plain.update(KEY, RESPONSES["A4"][0])  # without {a} and {x3}: key {b c} {d e f}, response {b c x1} {d y}
    assert plain.values["ceafe"]["precision"] == pytest.approx(100 * (0.8 + 0.4) / 2)
    assert plain.values["bcub"]["recall"] == pytest.approx(100 * (2 + 1 / 3) / 5)
    assert CorefMetric().values["conll_f1"] == 0.0


def test_the_assignment_equals_brute_force():
    rng = random.Random(0)
    for rows, cols in [(1, 1), (2, 3), (3, 2), (4, 4), (5, 3), (3, 6)]:
        for _ in range(20):
            scores = [[rng.random() for _ in range(cols)] for _ in range(rows)]
            found = best_assignment(scores)
            assert len(found) == min(rows, cols) and len({i for i, _ in found}) == len({j for _, j in found})
            best = max(sum(scores[i][j] for i, j in zip(perm, range(cols)) if i is not None)
                       for perm in itertools.permutations(list(range(rows)) + [None] * max(0, cols - rows), cols))
            assert sum(scores[i][j] for i, j in found) == pytest.approx(best)


def values(key, response, singletons=True) -> dict:
    metric = CorefMetric(singletons=singletons)
    metric.update(key, response)
    return metric.values


def test_corner_cases_derived_by_hand():
    # one big key entity, answered by singletons: MUC finds no link (0/2 and 0/0); B3 recall 1/3 per mention,
    # precision 1; CEAF-e aligns the entity with one singleton, phi4 = 2 * 1 / (3 + 1): recall 0.5 / 1, precision
    # 0.5 / 3
    v = values([[a, b, c]], [[a], [b], [c]])
    assert (v["muc"]["recall"], v["muc"]["precision"]) == (0, 0)
    assert (v["bcub"]["recall"], v["bcub"]["precision"], v["bcub"]["f1"]) == pytest.approx((100 / 3, 100, 50))
    assert (v["ceafe"]["recall"], v["ceafe"]["precision"], v["ceafe"]["f1"]) == pytest.approx((50, 100 / 6, 25))
    assert v["conll_f1"] == pytest.approx((0 + 50 + 25) / 3)
    # the same big entity on both sides: every metric 100, LEA too
    v = values([[a, b, c, d]], [[d, c, b, a]])
    assert all(v[m]["f1"] == pytest.approx(100) for m in ("muc", "bcub", "ceafe", "lea"))
    # an empty response, and an empty key and response: zeros, no division by zero
    for key, response in (([[a, b]], []), ([], [])):
        v = values(key, response)
        assert all(v[m][k] == 0 for m in ("muc", "bcub", "ceafe", "lea") for k in ("recall", "precision", "f1"))
    # all singletons, answered exactly: MUC has no link to count (0), B3 and CEAF-e are 100; without singletons
    # nothing is left to score
    v = values([[a], [b]], [[b], [a]])
    assert (v["muc"]["f1"], v["bcub"]["f1"], v["ceafe"]["f1"]) == pytest.approx((0, 100, 100))
    assert values([[a], [b]], [[b], [a]], singletons=False)["conll_f1"] == 0
