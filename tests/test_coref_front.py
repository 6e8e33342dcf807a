"""Coreference where the user meets it (issue 26, part 4): ``annotate`` (the HIERARCHY:COREF column read back as
GUM brackets equals the jsonl ``clusters``; a text file or a ``# newdoc`` is one document; ``--nproc 2`` writes what
one process writes; the HTML view colours and numbers each entity's mentions) and the spaCy component
(``doc.spans["coref_clusters_N"]``, ``doc._.coref_clusters``, ``nlp.pipe`` with two processes, ``nlp.evaluate``)."""
import json
import re

import pytest
import spacy
from conftest import SAMPLE
from spacy.tokens import Doc
from spacy.training import Example
from test_annotate_cli import invoke

from hierarchy.core.persistence import load_model
from hierarchy.core.predict import Predictor
from hierarchy.io.documents import Document, read_coref
from hierarchy.io.sentence import Sentence
from hierarchy.tasks.coref import PALETTE
from hierarchy.tasks.coref_metrics import CorefMetric

GOLD = SAMPLE / "mentions-train.conllu"  # three documents
TEXTS = ["My mother bought a bag of potatoes from him. She paid the farmer and he thanked her.",
         "The dog barked at the pigeons near the fountain. They flew away.", "", "A farmer sold apples."]


def annotate(model, *args, input=None) -> str:
    done = invoke("annotate", model, *args, input=input)
    assert done.exit_code == 0, done.output
    return done.stdout


def column_as_misc(conllu: str, path) -> list[Document]:
    """The documents of annotate's CoNLL-U Plus output, read back by the GUM reader with the HIERARCHY:COREF
    column put in MISC's place (the other columns after MISC dropped)."""
    columns = conllu.splitlines()[0].split()[3:]
    at = columns.index("HIERARCHY:COREF")
    lines = []
    for line in conllu.splitlines()[1:]:
        cells = line.split("\t")
        if len(cells) > 10:
            cells = cells[:9] + [f"Entity={cells[at]}" if cells[at] != "_" else "_"]
        lines.append("\t".join(cells))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return read_coref(path)


def as_sets(clusters) -> list:
    return sorted((c["type"], tuple(map(tuple, c["mentions"]))) for c in clusters)


def test_conllu_column_and_jsonl_clusters_agree(coref_model, tmp_path):
    conllu = annotate(coref_model, "--input", "conllu", GOLD)
    assert conllu.startswith("# global.columns = ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC HIERARCHY:MENTION "
                             "HIERARCHY:COREF\n")
    from_column = column_as_misc(conllu, tmp_path / "back.conllu")
    rows = [json.loads(line) for line in annotate(coref_model, "--input", "conllu", "--format", "jsonl",
                                                  GOLD).splitlines()]
    firsts = [row for row in rows if "clusters" in row]
    gold = read_coref(GOLD)
    assert [d.id for d in from_column] == [row["doc_id"] for row in firsts] == [d.id for d in gold]
    assert sum(len(c["mentions"]) for row in firsts for c in row["clusters"]) > 10
    for document, first in zip(from_column, firsts):
        assert as_sets(document.get("clusters")) == as_sets(first["clusters"])
    # each sentence's `coref` is its share of the document's clusters, entity n being clusters[n - 1]
    start, clusters = 0, None
    for row in rows:
        if "clusters" in row:
            start, clusters = 0, row["clusters"]
        for a, b, entity, kind in row["coref"]:
            assert [start + a, start + b] in clusters[entity - 1]["mentions"] and clusters[entity - 1]["type"] == kind
        start += len(row["words"])
    assert conllu.count("# newdoc id") == 3


def test_a_text_file_is_one_document_and_nproc_2_writes_the_same(coref_model, tmp_path):
    files = [tmp_path / "a.txt", tmp_path / "b.txt"]
    files[0].write_text(f"{TEXTS[0]}\n\n{TEXTS[1]}\n", encoding="utf-8")
    files[1].write_text(TEXTS[3] + "\n", encoding="utf-8")
    rows = [json.loads(line) for line in annotate(coref_model, *files, "--format", "jsonl").splitlines()]
    assert [row["doc_id"] for row in rows] == [str(files[0])] * 4 + [str(files[1])]
    assert ["clusters" in row for row in rows] == [True, False, False, False, True]
    n_words = sum(len(row["words"]) for row in rows[:4])
    assert all(0 <= a < b <= n_words for c in rows[0]["clusters"] for a, b in c["mentions"])
    same = re.compile(r"[0-9a-f]{32}")  # displaCy gives each SVG a random id
    for format in ("conllu", "jsonl", "html"):
        for args in ([*files, "--format", format, "--batch-size", "1"],
                     ["--input", "conllu", GOLD, "--format", format, "--batch-size", "1"]):
            assert same.sub("ID", annotate(coref_model, *args, "--nproc", "2")) == same.sub("ID", annotate(coref_model,
                                                                                                        *args))


def test_html_numbers_and_colours_each_entity(coref_model, tmp_path):
    out = tmp_path / "view.html"
    annotate(coref_model, "--input", "conllu", GOLD, "--format", "html", "-o", out)
    page = out.read_text(encoding="utf-8")
    assert re.findall(r"<h2>([^<]*)</h2>", page) == [d.id for d in read_coref(GOLD)]
    labels = re.findall(r'<span style="background: (#[0-9a-f]+); z-index: 10;[^"]*">\s*\[(\d+)\] (\w+)\s*</span>', page)
    assert len({n for _, n, _ in labels}) > 3
    for colour, n, _ in labels:  # one colour per entity, from the palette
        assert colour == PALETTE[(int(n) - 1) % len(PALETTE)]


def test_a_model_without_a_document_layer_writes_as_before(trained_model):
    rows = [json.loads(line) for line in annotate(trained_model, "--format", "jsonl", input=TEXTS[0]).splitlines()]
    assert not {"doc_id", "coref", "clusters"} & set().union(*rows)
    assert "HIERARCHY:COREF" not in annotate(trained_model, input=TEXTS[0])


@pytest.fixture(scope="module")
def nlp(coref_model):
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("hierarchy", config={"model": str(coref_model)})
    return nlp


def clusters(doc) -> list:
    return [[(span.start_char, span.end_char, span.label_) for span in cluster] for cluster in doc._.coref_clusters]


def test_spacy_spans_extension_and_the_library_agree(nlp, coref_model):
    doc = nlp(TEXTS[0])
    keys = sorted(k for k in doc.spans if k.startswith("coref_clusters_"))
    assert keys == sorted(f"coref_clusters_{n}" for n in range(1, len(keys) + 1)) and len(keys) > 2
    assert [list(doc.spans[f"coref_clusters_{n}"]) for n in range(1, len(keys) + 1)] == doc._.coref_clusters
    sentences = [Sentence([t.text for t in s]) for s in doc.sents]
    (document,) = Predictor(*load_model(coref_model)[::2])([Document(sentences)])
    tokens = list(doc)  # no whitespace tokens: the document's words
    expected = [[(tokens[a].idx, tokens[b - 1].idx + len(tokens[b - 1]), c["type"]) for a, b in c["mentions"]]
                for c in document.get("clusters")]
    assert clusters(doc) == expected
    again = Doc(nlp.vocab).from_bytes(doc.to_bytes())  # the clusters live in doc.spans: they serialize
    assert clusters(again) == clusters(doc)
    assert clusters(nlp(doc.text)) == clusters(doc)  # a second run replaces, not adds


def test_spacy_pipe_and_two_processes_equal_one_by_one(nlp):
    one_by_one = [clusters(nlp(text)) for text in TEXTS]
    assert [clusters(doc) for doc in nlp.pipe(TEXTS, batch_size=3)] == one_by_one
    assert [clusters(doc) for doc in nlp.pipe(TEXTS, n_process=2, batch_size=1)] == one_by_one


def test_spacy_scores(nlp):
    predicted = [nlp(text) for text in TEXTS[:2]]
    examples = [Example(doc, Doc(nlp.vocab).from_bytes(doc.to_bytes())) for doc in predicted]  # right by definition
    scores = nlp.get_pipe("hierarchy").score(examples)
    assert scores["coref_mentions_f"] == pytest.approx(1.0)
    same = CorefMetric(singletons=True)  # a perfect response: MUC is 0 only where no entity has two mentions
    for doc in predicted:
        same.update(*[[[(s.start_char, s.end_char) for s in c] for c in doc._.coref_clusters]] * 2)
    assert scores["coref_singletons_f"] == pytest.approx(same.values["conll_f1"] / 100)
    assert set(scores) == set(nlp.get_pipe("hierarchy").score([]))
    unannotated = [Example(doc, nlp.make_doc(doc.text)) for doc in predicted]
    assert nlp.get_pipe("hierarchy").score(unannotated)["coref_f"] is None
    assert nlp.evaluate(examples)["coref_mentions_f"] == pytest.approx(1.0)
