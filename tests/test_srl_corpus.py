"""SRL readers and writers: head-based CoNLL-U Plus and span-based CoNLL-2005 columns, round trips, bad input."""
import re

import pytest
from conftest import SAMPLE

from hierarchy.io import Sentence
from hierarchy.io.errors import CorpusError
from hierarchy.io.srl import bio_to_brackets, read_conll05, read_srl, read_srl_conllu, write_conll05, write_srl
from hierarchy.io.ud import write_conllu

ROW = "{i}\t{w}\t{w}\tX\tX\t_\t{h}\tdep\t_\t_"


def conllu(tmp_path, rows, comments=("# sent_id = 1",), name="x.conllu"):
    path = tmp_path / name
    path.write_text("\n".join([*comments, *rows]) + "\n\n", encoding="utf-8")
    return path


def word(i, w, h, *srl):
    return "\t".join([ROW.format(i=i, w=w, h=h), *srl])


def test_sample_files_read_with_unannotated_and_predicateless_sentences():
    train = read_srl_conllu(SAMPLE / "srl-train.conllu")
    assert len(train) == 30 and len(read_srl_conllu(SAMPLE / "srl-dev.conllu")) == 10
    first = train[0]
    assert first.senses[4] == "leave.01" and first.roles == [["_", "ARG0", "_", "_", "V", "_", "ARGM-TMP", "_",
                                                              "ARGM-TMP", "_"]]
    no_up = [s for s in train if s.meta.metadata.get("propbank") == "no-up"]
    assert len(no_up) == 1 and no_up[0].senses is None and no_up[0].roles is None  # unsupervised, not "no roles"
    empty = [s for s in train if s.roles == []]
    assert len(empty) == 2 and all(set(s.senses) == {"_"} for s in empty)  # an empty 12th field, or just column 11


def test_conllu_round_trip(tmp_path):
    src = SAMPLE / "srl-train.conllu"
    write_srl(tmp_path / "out.conllu", read_srl(src, "conllu"), "conllu")
    again = read_srl_conllu(tmp_path / "out.conllu")
    assert [(s.senses, s.roles) for s in again] == [(s.senses, s.roles) for s in read_srl_conllu(src)]
    # byte for byte, except that a predicate-less sentence loses its empty 12th field
    expected = src.read_text().replace("\t_\t\n", "\t_\n")
    assert (tmp_path / "out.conllu").read_text() == expected


def test_writer_replaces_srl_columns_and_keeps_multiword_lines_at_ten(tmp_path):
    path = conllu(tmp_path, ["1-2\tdon't\t_\t_\t_\t_\t_\t_\t_\t_", word(1, "do", 3, "_", "_"),
                             word(2, "n't", 3, "_", "ARGM-NEG"), word(3, "go", 0, "go.01", "V")])
    (sentence,) = read_srl_conllu(path)
    sentence.senses, sentence.roles = ["_", "_", "_"], []
    write_conllu(tmp_path / "out.conllu", [sentence])
    lines = (tmp_path / "out.conllu").read_text().splitlines()
    assert [len(line.split("\t")) for line in lines[1:5]] == [10, 11, 11, 11]


def test_span_round_trip(tmp_path):
    src = SAMPLE / "srl-spans.txt"
    sentences = read_conll05(src)
    assert sentences[0].roles == [["B-A0", "I-A0", "I-A0", "B-V", "B-A1", "I-A1", "B-AM-TMP", "O"]]
    assert sentences[0].senses[3] == "open" and sentences[2].roles == []
    write_conll05(tmp_path / "out.txt", sentences)
    assert (tmp_path / "out.txt").read_text() == src.read_text()


def test_bio_to_brackets_reads_ill_formed_tags_as_conlleval():
    assert bio_to_brackets(["I-A0", "I-A0", "O", "B-V", "I-A1", "B-A1"]) == ["(A0*", "*)", "*", "(V*)", "(A1*)",
                                                                               "(A1*)"]


@pytest.mark.parametrize("rows, message", [
    ([word(1, "a", 2, "_", "ARG0", "_"), word(2, "b", 0, "go.01", "V", "_")], ":2: expected 1 predicate column(s) "
                                                                              "after column 11 (one per roleset in "
                                                                              "column 11), found 2"),
    ([word(1, "a", 2, "_", "ARG0"), word(2, "b", 0, "go.01", "ARG1")], ":3: expected a V in column 12 (predicate "
                                                                       "1, 'b', go.01), found none"),
    ([word(1, "a", 2, "say.01", "_", "V"), word(2, "b", 0, "go.01", "V", "_")],
     ":3: expected the V of column 12 (predicate 1, 'a', say.01) on word 1, found it on word 2, another predicate"),
    (["1-2\tab\t_\t_\t_\t_\t_\t_\t_\t_\t_\tARG0", word(1, "a", 2, "_", "_"), word(2, "b", 0, "go.01", "V")],
     ":2: expected no SRL label on a multiword-token"),
])
def test_conllu_bad_input(tmp_path, rows, message):
    path = conllu(tmp_path, rows)
    with pytest.raises(CorpusError, match=re.escape(message)):
        read_srl_conllu(path)
    good = "\n".join(["# sent_id = 2", word(1, "ok", 0, "_")])
    path.write_text(path.read_text() + good + "\n\n")
    with pytest.warns(UserWarning, match="skipping sentence"):
        assert [s.words for s in read_srl_conllu(path, skip_bad=True)] == [["ok"]]


@pytest.mark.parametrize("text, message", [
    ("a\t-\t(A0*\nb\tgo\t(V*)\n", ":2: unbalanced brackets in column 3: '(V' opens inside the open (A0 span"),
    ("a\t-\t*)\nb\tgo\t(V*)\n", ":1: unbalanced brackets in column 3: ')' closes no span"),
    ("a\t-\t(A0*\nb\tgo\t*\n", ":2: unbalanced brackets in column 3: the (A0 span is never closed"),
    ("a\t-\t(A0*)\nb\tgo\t*\n", ":2: expected the predicate 'b' inside a (V*) span"),
    ("a\t-\t(A0*)\t*\nb\tgo\t(V*)\n", ":1: expected 3 columns"),
    ("a\t-\tA0\nb\tgo\t(V*)\n", ":1: expected a cell like"),
])
def test_span_bad_input(tmp_path, text, message):
    path = tmp_path / "x.txt"
    path.write_text(text)
    with pytest.raises(CorpusError, match=re.escape(message)):
        read_conll05(path)
    path.write_text(text + "\nc\t-\nd\t-\n")
    with pytest.warns(UserWarning, match="skipping sentence"):
        assert [s.words for s in read_conll05(path, skip_bad=True)] == [["c", "d"]]


def test_writer_checks_lengths(tmp_path):
    bad = Sentence(["a", "b"], senses=["_", "go.01"], roles=[["V"]])
    with pytest.raises(ValueError, match="roles has 1 values for 2 words"):
        write_conllu(tmp_path / "out.conllu", [bad])
