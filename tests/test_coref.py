"""Coreference: documents from GUM's bracket notation and back, the CoNLL-2012 conversion, the span candidates, the
head's loss against a brute-force antecedent likelihood, its decoding, and a tiny model that overfits two
documents, saved and reloaded, through ``evaluate --coref`` on predicted and on gold mentions."""
import json
import math

import pytest
import torch
from conftest import SAMPLE, tiny_config
from typer.testing import CliRunner

from hierarchy.cli import app
from hierarchy.core import predict
from hierarchy.core.batching import make_document_batch
from hierarchy.core.config import LayerConfig
from hierarchy.core.persistence import load_model
from hierarchy.core.predict import Predictor
from hierarchy.core.vocab import Vocabs
from hierarchy.io.documents import (
    Document,
    format_conll2012,
    group_documents,
    read_coref,
    spread_clusters,
    write_coref,
)
from hierarchy.io.errors import CorpusError
from hierarchy.io.sentence import Sentence
from hierarchy.modules.spans import candidate_spans, match_codes, non_crossing, speaker_codes
from hierarchy.tasks import Context, coref
from hierarchy.tasks.coref import SPEC, CorefHead, match_gold

TRAIN = SAMPLE / "mentions-train.conllu"
TEXT = """# newdoc id = d1
# global.Entity = GRP-etype-infstat
# sent_id = 1
1\tAnn\t_\t_\t_\t_\t_\t_\t_\tEntity=(1-person-new(2-person-new)
2\t's\t_\t_\t_\t_\t_\t_\t_\t_
3\tdog\t_\t_\t_\t_\t_\t_\t_\tEntity=1)
4\tslept\t_\t_\t_\t_\t_\t_\t_\t_

# sent_id = 2
1\tIt\t_\t_\t_\t_\t_\t_\t_\tEntity=(1-giv)
2\tsaw\t_\t_\t_\t_\t_\t_\t_\t_
3\ther\t_\t_\t_\t_\t_\t_\t_\tEntity=(2)

# newdoc id = d2
# sent_id = 3
1\tRain\t_\t_\t_\t_\t_\t_\t_\tEntity=(1-event-new)
2\tfell\t_\t_\t_\t_\t_\t_\t_\t_

"""


def write(tmp_path, text=TEXT):
    path = tmp_path / "coref.conllu"
    path.write_text(text, encoding="utf-8")
    return path


def test_read_coref_keeps_documents_nested_mentions_and_singletons(tmp_path):
    d1, d2 = read_coref(write(tmp_path))
    assert (d1.id, d2.id, len(d1), len(d2)) == ("d1", "d2", 7, 2)
    assert d1.get("clusters") == [{"type": "person", "mentions": [[0, 3], [4, 5]]},
                                  {"type": "person", "mentions": [[0, 1], [6, 7]]}]
    assert d2.get("clusters") == [{"type": "event", "mentions": [[0, 1]]}]  # entity IDs restart per document
    assert d1.sentences[0].get("coref") == [(0, 3, "1", "person"), (0, 1, "2", "person")]
    given = read_coref(write(tmp_path), given=True)[0].get("given_mentions")
    assert given == [[0, 1], [0, 3], [4, 5], [6, 7]]


def test_read_coref_names_the_line_of_a_bad_bracket(tmp_path):
    with pytest.raises(CorpusError, match=r"coref.conllu:6: .*without an open mention"):
        read_coref(write(tmp_path, TEXT.replace("Entity=1)", "Entity=7)")))


def test_write_coref_reads_back_and_conll2012_conversion(tmp_path):
    documents = read_coref(write(tmp_path))
    write_coref(tmp_path / "out.conllu", documents)
    again = read_coref(tmp_path / "out.conllu")
    assert [d.get("clusters") for d in again] == [d.get("clusters") for d in documents]
    assert [d.id for d in again] == ["d1", "d2"]
    lines = format_conll2012(documents[0]).splitlines()
    assert lines[0] == "#begin document (d1); part 000" and lines[-1] == "#end document"
    assert [line.split("\t")[-1] for line in lines if "\t" in line] == ["(1|(2)", "-", "1)", "-", "(1)", "-", "(2)"]
    singletons = Document([Sentence(["A", "b"])], "x", extra={"clusters": [{"type": "t", "mentions": [[0, 1]]}]})
    assert [line.split("\t")[-1] for line in format_conll2012(singletons, singletons=False).splitlines()
            if "\t" in line] == ["-", "-"]


def test_spread_clusters_types_mentions_by_confident_clusters():
    document = Document([Sentence(["The", "market"], extra={"mentions": ["B-place", "I-place"]}),
                         Sentence(["It", "was", "busy"], extra={"mentions": ["B-object", "O", "O"]})], "d")
    clusters = [{"type": "place", "confidence": 0.9, "mentions": [[0, 2], [2, 3]]},
                {"type": "event", "confidence": 1.0, "mentions": [[3, 4]]}]  # a singleton types nothing
    first, second = spread_clusters(document, clusters, typing=0.8)
    assert second.get("mentions") == ["B-place", "O", "O"] and second.get("mentions_layer") == ["B-object", "O", "O"]
    assert first.get("coref") == [(0, 2, "1", "place")] and second.get("coref") == [(0, 1, "1", "place"),
                                                                                    (1, 2, "2", "event")]
    assert spread_clusters(document, clusters, typing=0.95)[1].get("mentions") == ["B-object", "O", "O"]
    assert spread_clusters(document, clusters)[1].get("mentions_layer") is None


def test_group_documents_without_newdoc_is_one_document():
    (document,) = group_documents([Sentence(["A"]), Sentence(["B", "c"])], "input.txt")
    assert document.id == "input.txt" and document.offsets() == [0, 1]


def test_candidate_spans_are_every_short_span_inside_a_sentence():
    sentence_of = torch.tensor([0, 0, 0, 1, 1, 2])
    starts, ends = candidate_spans(sentence_of, 2)
    expected = [(i, j) for i in range(6) for j in range(i, min(i + 2, 6)) if sentence_of[i] == sentence_of[j]]
    assert list(zip(starts.tolist(), ends.tolist())) == expected


def test_match_gold_against_brute_force():
    generator = torch.Generator().manual_seed(0)
    starts = torch.randint(0, 6, (30,), generator=generator)
    ends = starts + torch.randint(0, 3, (30,), generator=generator)
    gold = torch.tensor([[1, 3, 0, 2], [4, 5, 1, 0], [0, 1, 0, 1]])  # start, exclusive end, entity, type
    entity, kind = match_gold(starts, ends, gold)
    for s, e, got_entity, got_kind in zip(starts.tolist(), ends.tolist(), entity.tolist(), kind.tolist()):
        row = next((g for g in gold.tolist() if g[0] == s and g[1] - 1 == e), None)
        assert (got_entity, got_kind) == ((row[2], row[3]) if row else (-1, -1))
    assert match_gold(starts, ends, torch.zeros(0, 4, dtype=torch.long))[0].eq(-1).all()


def test_match_codes_against_brute_force():
    generator = torch.Generator().manual_seed(1)
    forms = torch.randint(0, 3, (12,), generator=generator)
    starts = torch.randint(0, 10, (25,), generator=generator)
    ends = (starts + torch.randint(0, 3, (25,), generator=generator)).clamp(max=11)
    codes = match_codes(forms, starts, ends)
    words = [forms[s : e + 1].tolist() for s, e in zip(starts.tolist(), ends.tolist())]
    expected = [[2 * (u == v) + (u[-1] == v[-1]) for v in words] for u in words]
    assert codes.tolist() == expected
    assert match_codes(forms, starts[:0], ends[:0]).shape == (0, 0)


def test_non_crossing_against_brute_force():
    generator = torch.Generator().manual_seed(2)
    starts = torch.randint(0, 12, (40,), generator=generator)
    ends = (starts + torch.randint(0, 5, (40,), generator=generator)).clamp(max=14)
    scores = torch.randn(40, generator=generator)
    cross = lambda a, b: a[0] < b[0] <= a[1] < b[1] or b[0] < a[0] <= b[1] < a[1]
    for limit in (3, 10, 40):
        kept = []
        for i in sorted(range(40), key=lambda i: -scores[i]):
            span = (int(starts[i]), int(ends[i]))
            if len(kept) < limit and not any(cross(span, (int(starts[j]), int(ends[j]))) for j in kept):
                kept.append(i)
        assert non_crossing(starts, ends, scores, limit).tolist() == kept


def document_batch(document):
    """The batch of one document with the coref head's inputs, over a vocabulary of its own words."""
    return make_document_batch(document, Vocabs.build({"pos": document.sentences}, 1), readers=[SPEC])


def repeated_words_batch():
    """The batch of one document, "a b A c d A", each word a given mention ("a" and "A" share a form)."""
    words = ["a", "b", "A", "c", "d", "A"]
    given = [[i, i + 1] for i in range(len(words))]
    return document_batch(Document([Sentence(words)], extra={"given_mentions": given}))


def test_coarse_scores_choose_among_every_earlier_span():
    """With one antecedent a span, a strong same-words score makes the last "A" pick an earlier "a", not its
    nearest predecessor."""
    torch.manual_seed(0)
    batch = repeated_words_batch()
    assert batch.inputs["forms"].tolist() == [0, 1, 0, 2, 3, 0]
    head = CorefHead(4, 2, 6, 0.0, max_width=3, ratio=0.8, antecedents=1).eval()
    with torch.no_grad():
        head.coarse_match.weight[3] = 100.0
    scores = head(Context(batch, torch.randn(*batch.mask.shape, 4)))
    assert scores["antecedents"][5].tolist() in ([0], [2]) and scores["antecedents"][2].tolist() == [0]
    assert scores["pair"][0].isinf().all()  # the first span has no antecedent


def test_same_words_spans_are_candidates_whatever_their_coarse_score():
    """With one antecedent a span and ``matches = 1``, the last "A" picks an earlier "a" though the coarse score
    ranks every match last; without ``matches`` it picks another span."""
    torch.manual_seed(0)
    batch = repeated_words_batch()
    head = CorefHead(4, 2, 6, 0.0, max_width=3, ratio=0.8, antecedents=1, matches=1).eval()
    with torch.no_grad():
        head.coarse_match.weight[3] = -100.0
    states = torch.randn(*batch.mask.shape, 4)
    scores = head(Context(batch, states))
    assert scores["antecedents"][5].tolist() in ([0], [2]) and scores["antecedents"][2].tolist() == [0]
    assert scores["pair"][5].isfinite().all() and scores["pair"][0].isinf().all()
    head.matches = 0
    scores = head(Context(batch, states))
    assert scores["antecedents"][5].tolist() not in ([0], [2]) and scores["antecedents"][2].tolist() == [1]


def test_speaker_codes_against_brute_force():
    torch.manual_seed(0)
    speakers, addressees = torch.randint(0, 3, (9,)), torch.randint(0, 3, (9,))
    antecedents = torch.randint(0, 9, (9, 4))
    codes = speaker_codes(speakers, addressees, antecedents)
    for i in range(9):
        for a, j in enumerate(antecedents[i].tolist()):
            s, d, s_j, d_j = speakers[i], addressees[i], speakers[j], addressees[j]
            expected = 0 if not (s and s_j) else 1 + (s == s_j) + 2 * (d == s_j and d > 0) + 4 * (s == d_j and d_j > 0)
            assert codes[i, a] == expected


def test_speakers_come_from_the_sentences_comments_and_reach_the_pair_scores(tmp_path):
    """Two speakers' "I": the third (A's) scores its antecedent A's "I" differently when the speakers are known; B's
    "I" (the other side of the dialogue, whose embedding is left at 0 as an unknown speaker's) alike."""
    turns = [("A", "B", 1), ("B", "A", 2), ("A", "B", 1)]
    text = "".join(f"# speaker = {who}\n# addressee = {to}\n1\tI\t_\t_\t_\t_\t_\t_\t_\tEntity=({e}-person)\n"
                   f"2\tsee\t_\t_\t_\t_\t_\t_\t_\t_\n\n" for who, to, e in turns)
    (document,) = read_coref(write(tmp_path, "# newdoc id = talk\n" + text), given=True)
    assert coref.inputs([document])["speakers"].tolist() == [[1, 1, 2, 2, 1, 1], [2, 2, 1, 1, 2, 2]]
    batch = document_batch(document)
    torch.manual_seed(0)
    head = CorefHead(4, 2, 6, 0.0, max_width=2, ratio=0.8, antecedents=2, speakers=True).eval()
    with torch.no_grad():
        head.speaker.weight.zero_()
        head.speaker.weight[2] = 1.0  # the same speaker
    states = torch.randn(*batch.mask.shape, 4)
    known = head(Context(batch, states))
    batch.inputs["speakers"].zero_()
    unknown = head(Context(batch, states))
    same = known["antecedents"][2].tolist().index(0)  # the third "I"'s candidate column holding the first "I"
    assert known["pair"][2, same] != unknown["pair"][2, same]
    assert known["pair"][2, 1 - same] == unknown["pair"][2, 1 - same]


def head_scores(n_words=7, seed=0):
    """A tiny head over random states of two sentences (4 + 3 words), with its batch."""
    torch.manual_seed(seed)
    document = Document([Sentence(list("abcd")), Sentence(list("efg"))][: 1 + (n_words > 4)])
    batch = document_batch(document)
    head = CorefHead(4, 2, 6, 0.0, max_width=3, ratio=0.8, antecedents=3).eval()
    states = torch.randn(*batch.mask.shape, 4)
    return head, batch, head(Context(batch, states))


def test_pair_scores_add_the_antecedents_mention_score_not_the_spans_own():
    head, batch, _ = head_scores()
    states = torch.randn(*batch.mask.shape, 4)
    before = head(Context(batch, states))
    with torch.no_grad():
        head.mention[-1].bias[0] += 1.5  # every span's mention score up by 1.5: the same spans are kept
    after = head(Context(batch, states))
    assert torch.equal(before["kept"], after["kept"]) and torch.equal(before["antecedents"], after["antecedents"])
    finite = before["pair"].isfinite()
    assert finite.any() and torch.allclose(after["pair"][finite] - before["pair"][finite], torch.tensor(1.5))


def test_loss_is_the_marginal_likelihood_of_gold_antecedents_by_brute_force():
    head, batch, scores = head_scores()
    batch.gold["coref"] = torch.tensor([[0, 2, 0, 1], [4, 5, 0, 1], [2, 3, 1, 0], [5, 7, 1, 0]])
    entity, kind = match_gold(scores["starts"], scores["ends"], batch.gold["coref"])
    total = 0.0
    for i, span in enumerate(scores["kept"].tolist()):
        options = [0.0]  # the dummy
        right = []
        for a in range(scores["pair"].shape[1]):
            value = scores["pair"][i, a].item()
            if math.isinf(value):
                continue
            options.append(value)
            j = scores["kept"][int(scores["antecedents"][i, a])]
            if entity[span] >= 0 and entity[j] == entity[span]:
                right.append(value)
        right = right or [0.0]  # no gold antecedent: the dummy is right
        total += math.log(sum(math.exp(v) for v in options)) - math.log(sum(math.exp(v) for v in right))
    bce = torch.nn.functional.binary_cross_entropy_with_logits(scores["mention"], (entity >= 0).float(), reduction="none")
    mention = (bce[entity >= 0].mean() + bce[entity < 0].mean()) / 2
    found = kind >= 0
    types = torch.nn.functional.cross_entropy(scores["types"][found], kind[found])
    expected = total / len(scores["kept"]) + mention.item() + types.item()
    assert head.loss(scores, batch).item() == pytest.approx(expected, rel=1e-5)


def test_decode_links_best_antecedents_and_keeps_confident_singletons():
    head, batch, scores = head_scores()
    k = len(scores["kept"])
    pair = torch.full_like(scores["pair"], -5.0).masked_fill(scores["pair"].isinf(), float("-inf"))
    pair[2, scores["antecedents"][2].tolist().index(0)] = 3.0  # kept span 2 links to kept span 0
    scores = scores | {"pair": pair, "mention": torch.full_like(scores["mention"], -1.0)}
    scores["mention"][scores["kept"][k - 1]] = 2.0  # the last kept span is a mention of its own
    (clusters,) = head.decode(scores, batch)["clusters"]
    span = lambda i: [int(scores["starts"][scores["kept"][i]]), int(scores["ends"][scores["kept"][i]]) + 1]
    assert sorted(spans for _, _, spans in clusters) == sorted([[span(0), span(2)], [span(k - 1)]])
    head.threshold = -6.0  # model.link_threshold below every pair score: each span links to its best antecedent
    (clusters,) = head.decode(scores, batch)["clusters"]
    assert [spans for _, _, spans in clusters] == [sorted(span(i) for i in range(k))]


def test_overfit_save_reload(coref_model):
    model, _, vocabs = load_model(coref_model)
    gold = read_coref(TRAIN)[:2]
    predictor = Predictor(model, vocabs)
    metrics = predictor.evaluate({"coref": gold})[0]["coref"]
    assert metrics["coref"].values["conll_f1"] == pytest.approx(100), metrics["coref"].values
    assert metrics["coref_singletons"].values["conll_f1"] > 85, metrics["coref_singletons"].values
    predicted = predictor(gold)
    assert [d.get("clusters") for d in predicted] == [d.get("clusters") for d in Predictor(*load_model(
        coref_model)[::2])(gold)]
    assert predicted[0].sentences[0].get("coref") is not None  # spread into the sentences
    assert predicted[0].sentences[0].get("mentions") is not None  # the sentence layers predicted in the same pass


def test_evaluate_coref_on_predicted_and_gold_mentions_writes_brackets(coref_model, tmp_path):
    runner = CliRunner()
    done = runner.invoke(app, ["evaluate", str(coref_model), "--coref", str(TRAIN), "--json",
                               "--write-predictions", str(tmp_path / "p")])
    assert done.exit_code == 0, done.output
    scores = json.loads(done.stdout)["coref"]
    assert {"coref", "coref_singletons", "coref_mentions"} <= scores.keys()
    assert {"muc", "bcub", "ceafe", "lea", "conll_f1"} <= scores["coref"].keys()
    written = read_coref(tmp_path / "p" / "mentions-train.coref.conllu")
    assert len(written) == len(read_coref(TRAIN))
    gold_run = runner.invoke(app, ["evaluate", str(coref_model), "--coref", str(TRAIN), "--coref-mentions", "gold",
                                   "--json"])
    assert gold_run.exit_code == 0, gold_run.output
    on_gold = json.loads(gold_run.stdout)["coref"]
    assert on_gold["coref_mentions"]["precision"] == on_gold["coref_mentions"]["recall"] == 100.0
    assert "mentions_layer" in on_gold and "mentions_by_clusters" not in on_gold  # model.cluster_typing is off


def test_cluster_typing_reports_mention_f1_with_and_without(coref_model):
    model, _, vocabs = load_model(coref_model)
    model.tasks["coref"].typing = 0.5
    metrics = Predictor(model, vocabs).evaluate({"coref": read_coref(TRAIN)[:2]})[0]["coref"]
    assert {"mentions_layer", "mentions_by_clusters"} <= metrics.keys()
    assert metrics["mentions_layer"].n_gold == metrics["mentions_by_clusters"].n_gold > 0


def test_coref_needs_the_mentions_below(tmp_path):
    config = tiny_config()
    config.model.layers = [LayerConfig(size=4, tasks=["coref"]), LayerConfig(size=4, tasks=["mentions"])]
    with pytest.raises(Exception, match="'mentions' must sit in a layer below 'coref'"):
        config.validate("recipe")


def test_a_document_without_given_mentions_has_a_zero_loss_and_no_cluster():
    head, batch, _ = head_scores()
    batch.inputs["given"] = torch.zeros(0, 2, dtype=torch.long)
    batch.gold["coref"] = torch.zeros(0, 4, dtype=torch.long)
    scores = head(Context(batch, torch.randn(*batch.mask.shape, 4)))
    assert head.loss(scores, batch).item() == 0.0
    assert head.decode(scores, batch)["clusters"] == [[]]


def test_the_mention_scores_come_only_from_predicted_mentions():
    gold = read_coref(TRAIN)[:1]
    assert gold[0].sentences[0].get("mentions") is None  # the reader gives no tags a prediction could inherit
    metrics = coref.metric(gold, gold, None)  # "predictions" without the mention layer's tags
    assert "mentions_layer" not in metrics and metrics["coref"].values["conll_f1"] == pytest.approx(100)


def test_a_long_document_is_predicted_in_parts_whose_clusters_join(coref_model, monkeypatch):
    model, _, vocabs = load_model(coref_model)
    document = read_coref(TRAIN)[0]
    whole = Predictor(model, vocabs)([document])[0]
    first = document.sentences[: len(document.sentences) // 2]
    split = len([w for s in first for w in s.words])
    monkeypatch.setattr(predict, "DOCUMENT_WORDS", split)
    parts = predict.document_parts(document, split)
    assert len(parts[0]) == split and len(parts) >= 2
    joined = Predictor(model, vocabs)([document])[0]
    alone = [Predictor(model, vocabs)([p])[0] for p in parts]
    layers = [{"clusters": p.get("clusters"), "cluster_typing": 0.0} for p in alone]
    expected = coref.join(layers, [len(p) for p in parts], vocabs)["clusters"]
    assert joined.get("clusters") == expected and len(whole.sentences) == len(joined.sentences)
    assert all(b <= split or a >= split for c in joined.get("clusters") for a, b in c["mentions"])
