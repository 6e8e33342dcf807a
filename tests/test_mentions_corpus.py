"""Entity mentions: reading GUM's Entity brackets as BIO tags of the outermost mentions, and writing them back."""
import re
from collections import Counter

import pytest
from conftest import CORPORA, SAMPLE

from hierarchy.io.entities import format_mentions, outermost_mentions, read_mentions, write_mentions
from hierarchy.io.errors import CorpusError
from hierarchy.io.spans import bio_spans
from hierarchy.io.ud import read_conllu

DECLARE = "# global.Entity = GRP-etype-infstat-salience-centering-minspan-link-identity"


def conllu(*sentences, declare=True) -> str:
    """CoNLL-U text; each sentence is a list of ``(id, form, misc)``, word 1 the root and the others its dependents."""
    out = [DECLARE] if declare else []
    for k, rows in enumerate(sentences, 1):
        out.append(f"# sent_id = s{k}")
        for token_id, form, misc in rows:
            word = isinstance(token_id, int)
            head, rel = ("0", "root") if token_id == 1 else ("1", "dep") if word else ("_", "_")
            out.append(f"{token_id}\t{form}\t{form.lower()}\tX\tX\t_\t{head}\t{rel}\t_\t{misc}")
        out.append("")
    return "\n".join(out) + "\n"


def write(tmp_path, text, name="in.conllu"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def tags_of(tmp_path, *sentences, **options):
    return [s.extra["mentions"] for s in read_mentions(write(tmp_path, conllu(*sentences)), **options)]


def test_nested_mentions_give_only_the_outermost(tmp_path):
    rows = [(1, "My", "Entity=(1-person-new-sssss-cf1-2-coref(2-person-new-sssss-cf2-1-coref)"),
            (2, "sister", "Entity=1)"), (3, "saw", "_"), (4, "the", "Entity=(3-place-new-nnnnn-cf3-5-sgl"),
            (5, "park", "Entity=3)")]
    assert tags_of(tmp_path, rows) == [["B-person", "I-person", "O", "B-place", "I-place"]]


def test_one_word_and_concatenated_brackets(tmp_path):
    rows = [(1, "Colour", "Entity=(4-abstract-new-sssss-cf2-3-coref(5-object-new-sssss-cf3-1-coref)"),
            (2, "of", "_"), (3, "Mars", "Entity=(3-place-new-nnnnn-cf1-1-sgl)4)"),
            (4, "today", "Entity=(6-time-new-nnnnn-cf4-1-sgl)|SpaceAfter=No")]
    assert tags_of(tmp_path, rows) == [["B-abstract", "I-abstract", "I-abstract", "B-time"]]
    assert outermost_mentions(["(4-abstract-new(5-object-new)", "", "(3-place)4)", "(6-time)"]) == [
        (0, 3, "abstract"), (3, 4, "time")]


def test_same_entity_nested_in_itself_and_types_left_out(tmp_path):
    rows = [(1, "Ms.", "Entity=(1-person-new(1-person-new"), (2, "Green", "Entity=1)"), (3, ",", "_"),
            (4, "teacher", "Entity=1)"), (5, "she", "Entity=(1)")]  # a later mention may leave out the type
    assert tags_of(tmp_path, rows) == [["B-person", "I-person", "I-person", "I-person", "B-person"]]


def test_empty_nodes_multiword_tokens_and_discontinuous_mentions(tmp_path):
    rows = [(1, "Ann", "Entity=(1-person-new[1/2]"), (2, "and", "Entity=1[1/2])"),
            ("2.1", "left", "Entity=(9-event-new)"),  # a mention on an empty node only has no word
            (3, "Bob", "_"), (4, "Smith", "Entity=(1-person-new[2/2]1[2/2])"),
            ("5-6", "cats'", "Entity=(2-animal-new)"), (5, "cats", "_"), (6, "'", "_")]
    assert tags_of(tmp_path, rows) == [["B-person", "I-person", "I-person", "I-person", "B-animal", "I-animal"]]


def test_a_file_without_entities_has_no_mentions(tmp_path):
    path = write(tmp_path, conllu([(1, "Hi", "_")], [(1, "Bye", "_")], declare=False))
    assert [s.get("mentions") for s in read_mentions(path)] == [None, None]
    path = write(tmp_path, conllu([(1, "Hi", "_")], [(1, "Bye", "Entity=(1-person-new)")], declare=False))
    assert [s.get("mentions") for s in read_mentions(path)] == [["O"], ["B-person"]]


@pytest.mark.parametrize("rows, line, message", [
    ([(1, "a", "_"), (2, "b", "Entity=3)")], 4, "closing bracket '3)' without an open mention"),
    ([(1, "a", "_"), (2, "b", "Entity=(3-person-new"), (3, "c", "_")], 4, "expected a closing bracket for entity 3"),
    ([(1, "a", "Entity=(3-person-new)"), (2, "b", "Entity=)(")], 4, "expected an entity bracket like"),
    ([(1, "a", "Entity=(7)")], 3, "expected a type for the first mention of entity 7"),
])
def test_malformed_brackets_name_the_file_and_line(tmp_path, rows, line, message):
    path = write(tmp_path, conllu(rows))
    with pytest.raises(CorpusError, match=re.escape(message)) as error:
        read_mentions(path)
    assert str(error.value).startswith(f"{path}:{line}: ")


def test_skip_bad_skips_the_sentence_with_a_warning(tmp_path):
    path = write(tmp_path, conllu([(1, "bad", "Entity=2)")], [(1, "Good", "Entity=(1-person-new)")]))
    with pytest.warns(UserWarning, match=r"in.conllu:3: closing bracket"):
        sentences = read_mentions(path, skip_bad=True)
    assert [(s.words, s.extra["mentions"]) for s in sentences] == [(["Good"], ["B-person"])]


SOURCE = f"""# newdoc id = doc1
{DECLARE}
# sent_id = doc1-1
# text = Ann's cat sleeps.
1-2\tAnn's\t_\t_\t_\t_\t_\t_\t_\t_
1\tAnn\tAnn\tPROPN\tNNP\tNumber=Sing\t3\tnmod:poss\t3:nmod:poss\tEntity=(2-animal-new-nnnnn(1-person-new-nnnnn)|XML=<w>
2\t's\t's\tPART\tPOS\t_\t1\tcase\t1:case\tXML=</w>
2.1\tsleeps\tsleep\tVERB\tVBZ\t_\t_\t_\t4:conj\tCopyOf=4|Entity=(9-event-new)
3\tcat\tcat\tNOUN\tNN\tNumber=Sing\t4\tnsubj\t4:nsubj\tDiscourse=x|Entity=2)
4\tsleeps\tsleep\tVERB\tVBZ\t_\t0\troot\t0:root\tDiscourse=y|SpaceAfter=No
5\t.\t.\tPUNCT\t.\t_\t4\tpunct\t4:punct\t_

"""


def test_writer_output_is_exact_and_keeps_other_misc_fields(tmp_path):
    (sentence,) = read_mentions(write(tmp_path, SOURCE))
    assert sentence.extra["mentions"] == ["B-animal", "I-animal", "I-animal", "O", "O"]
    text, next_id = format_mentions(sentence, ["B-person", "O", "B-animal", "B-event", "I-event"], 5)
    assert next_id == 8
    assert text == f"""# newdoc id = doc1
{DECLARE}
# sent_id = doc1-1
# text = Ann's cat sleeps.
1-2\tAnn's\t_\t_\t_\t_\t_\t_\t_\t_
1\tAnn\tAnn\tPROPN\tNNP\tNumber=Sing\t3\tnmod:poss\t3:nmod:poss\tEntity=(5-person)|XML=<w>
2\t's\t's\tPART\tPOS\t_\t1\tcase\t1:case\tXML=</w>
2.1\tsleeps\tsleep\tVERB\tVBZ\t_\t_\t_\t4:conj\tCopyOf=4
3\tcat\tcat\tNOUN\tNN\tNumber=Sing\t4\tnsubj\t4:nsubj\tDiscourse=x|Entity=(6-animal)
4\tsleeps\tsleep\tVERB\tVBZ\t_\t0\troot\t0:root\tDiscourse=y|Entity=(7-event|SpaceAfter=No
5\t.\t.\tPUNCT\t.\t_\t4\tpunct\t4:punct\tEntity=7)

"""


def test_writer_removes_entity_and_writes_underscore_when_nothing_is_left(tmp_path):
    (sentence,) = read_mentions(write(tmp_path, SOURCE))
    text, next_id = format_mentions(sentence, ["O"] * 5)
    miscs = [line.split("\t")[9] for line in text.splitlines() if "\t" in line]
    assert next_id == 1
    assert miscs == ["_", "XML=<w>", "XML=</w>", "CopyOf=4", "Discourse=x", "Discourse=y|SpaceAfter=No", "_"]
    with pytest.raises(ValueError, match="4 mention tags for 5 words"):
        format_mentions(sentence, ["O"] * 4)
    with pytest.raises(ValueError, match="expected a mention type without"):
        format_mentions(sentence, ["B-ARGM-TMP", "O", "O", "O", "O"])


def test_write_numbers_across_the_file_and_reads_back(tmp_path):
    sentences = read_mentions(write(tmp_path, conllu([(1, "Hi", "_"), (2, "Ann", "_")], [(1, "Bob", "Gloss=b")])))
    sentences = [s.with_layers(mentions=tags) for s, tags in zip(sentences, [["O", "B-person"], ["B-person"]])]
    write_mentions(tmp_path / "out.conllu", sentences)
    text = (tmp_path / "out.conllu").read_text(encoding="utf-8")
    assert "\tEntity=(1-person)\n" in text and "\tEntity=(2-person)|Gloss=b\n" in text
    assert text.startswith(DECLARE + "\n")
    assert [s.extra["mentions"] for s in read_mentions(tmp_path / "out.conllu")] == [["O", "B-person"], ["B-person"]]


@pytest.mark.parametrize("name", ["mentions-train.conllu", "mentions-dev.conllu"])
def test_round_trip_on_the_sample_files(tmp_path, name):
    sentences = read_mentions(SAMPLE / name)
    assert len(read_conllu(SAMPLE / name)) == len(sentences)
    write_mentions(tmp_path / name, sentences)
    again = read_mentions(tmp_path / name)
    assert [s.extra["mentions"] for s in again] == [s.extra["mentions"] for s in sentences]
    assert [s.words for s in again] == [s.words for s in sentences]
    assert (tmp_path / name).read_text(encoding="utf-8").count(DECLARE) == (SAMPLE / name).read_text().count(DECLARE)


def test_sample_train_has_every_type_twice():
    found = Counter(kind for s in read_mentions(SAMPLE / "mentions-train.conllu") for _, _, kind in
                    bio_spans(s.extra["mentions"]))
    types = {"person", "place", "organization", "object", "event", "time", "abstract", "substance", "animal", "plant"}
    assert set(found) == types and min(found.values()) >= 2


def test_gum_dev_reads():
    path = CORPORA / "ud-english-gum" / "en_gum-ud-dev.conllu"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    sentences = read_mentions(path)
    assert len(sentences) == 1575
    found = Counter(kind for s in sentences for _, _, kind in bio_spans(s.extra["mentions"]))
    assert set(found) == {"person", "place", "organization", "object", "event", "time", "abstract", "substance",
                          "animal", "plant"}
    assert sum(found.values()) == 4903
