"""Corpus readers and writers: round trips, errors that name file and line, atomic writes."""
import dataclasses
import itertools
from pathlib import Path

import pytest

from hierarchy.io import Sentence, format_conllu, read_conll2000, read_conllu, write_conll2000, write_conllu
from hierarchy.io.errors import CorpusError
from hierarchy.io.ud import find_cycle

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"

# Lines 1-9: a sentence with a multiword token; lines 11-20: one with an empty node and an odd comment.
ROUND_TRIP = """\
# newdoc id = doc-1
# sent_id = s1
# text = We don't swim.
1\tWe\twe\tPRON\tPRP\tCase=Nom|Number=Plur|Person=1|PronType=Prs\t4\tnsubj\t4:nsubj\t_
2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_
2\tdo\tdo\tAUX\tVBP\tMood=Ind|Tense=Pres|VerbForm=Fin\t4\taux\t4:aux\t_
3\tn't\tnot\tPART\tRB\tPolarity=Neg\t4\tadvmod\t4:advmod\t_
4\tswim\tswim\tVERB\tVB\tVerbForm=Inf\t0\troot\t0:root\tSpaceAfter=No
5\t.\t.\tPUNCT\t.\t_\t4\tpunct\t4:punct\t_

# sent_id = s2
#no space, no equals sign
# text = Ann reads poems, Bo novels
1\tAnn\tAnn\tPROPN\tNNP\tNumber=Sing\t2\tnsubj\t2:nsubj\t_
2\treads\tread\tVERB\tVBZ\t_\t0\troot\t0:root\t_
3\tpoems\tpoem\tNOUN\tNNS\tNumber=Plur\t2\tobj\t2:obj\tSpaceAfter=No
4\t,\t,\tPUNCT\t,\t_\t5\tpunct\t4.1:punct\t_
5\tBo\tBo\tPROPN\tNNP\tNumber=Sing\t2\tconj\t4.1:nsubj\t_
5.1\treads\tread\tVERB\tVBZ\t_\t_\t_\t2:conj\tCopyOf=2
6\tnovels\tnovel\tNOUN\tNNS\tNumber=Plur\t5\torphan\t5.1:obj\t_

"""

GOOD = "# text = Dogs bark loudly\n" + "".join(
    f"{i}\t{w}\t{w.lower()}\t{u}\t{x}\t_\t{h}\t{r}\t_\t_\n"
    for i, w, u, x, h, r in [(1, "Dogs", "NOUN", "NNS", 2, "nsubj"), (2, "bark", "VERB", "VBP", 0, "root"),
                             (3, "loudly", "ADV", "RB", 2, "advmod")])


def write(tmp_path, text, name="in.conllu"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def bad(*edits):
    """GOOD, then a copy of GOOD (lines 6-9) edited: each ``(line_number, old, new)`` replaces old by new."""
    lines = (GOOD + "\n" + GOOD).split("\n")
    for number, old, new in edits:
        assert old in lines[number - 1]
        lines[number - 1] = lines[number - 1].replace(old, new, 1)
    return "\n".join(lines)


def test_round_trip_is_byte_identical(tmp_path):
    sentences = read_conllu(write(tmp_path, ROUND_TRIP))
    assert [s.words for s in sentences] == [["We", "do", "n't", "swim", "."],
                                            ["Ann", "reads", "poems", ",", "Bo", "novels"]]
    first = sentences[0]
    assert first.heads == [4, 4, 4, 0, 4] and first.rels[3] == "root" and first.xpos[2] == "RB"
    assert first.source.endswith("in.conllu:1") and sentences[1].source.endswith("in.conllu:11")
    assert first.meta.metadata["sent_id"] == "s1" and len(first.meta) == 6
    write_conllu(tmp_path / "out.conllu", sentences)
    assert (tmp_path / "out.conllu").read_text(encoding="utf-8") == ROUND_TRIP
    assert format_conllu(sentences) == ROUND_TRIP


def test_normalises_line_ends_and_blank_lines(tmp_path):
    messy = "\n\n" + ROUND_TRIP.replace("\n\n# sent_id = s2", "\n  \n\n# sent_id = s2").replace("\n", "\r\n")
    sentences = read_conllu(write(tmp_path, messy[:-2]))  # and no final blank line
    assert format_conllu(sentences) == ROUND_TRIP


def test_unannotated_columns_are_none(tmp_path):
    text = "1\tHi\t_\tINTJ\t_\t_\t_\t_\t_\t_\n2\tthere\t_\tADV\t_\t_\t_\t_\t_\t_\n\n"
    [sentence] = read_conllu(write(tmp_path, text))
    assert sentence.upos == ["INTJ", "ADV"]
    assert sentence.xpos is None and sentence.heads is None and sentence.rels is None
    assert format_conllu([sentence]) == text


def test_a_column_annotated_for_some_words_only_is_an_error(tmp_path):
    """``_`` beside real tags would be learnt as a tag."""
    text = "1\tHi\t_\t_\t_\t_\t_\t_\t_\t_\n2\tthere\t_\tADV\t_\t_\t_\t_\t_\t_\n\n"
    with pytest.raises(CorpusError, match=r"in.conllu:1: expected a UPOS for every word of the sentence"):
        read_conllu(write(tmp_path, text))


def test_two_roots_are_an_error(tmp_path):
    text = "1\tHi\t_\tINTJ\t_\t_\t0\troot\t_\t_\n2\tthere\t_\tADV\t_\t_\t0\troot\t_\t_\n\n"
    with pytest.raises(CorpusError, match=r"in.conllu:2: expected one word with HEAD 0 .*found 2: words 1, 2"):
        read_conllu(write(tmp_path, text))


def test_a_byte_order_mark_and_old_mac_line_ends_are_read(tmp_path):
    text = "# sent_id = 1\n1\tHi\t_\tINTJ\t_\t_\t0\troot\t_\t_\n\n"
    for variant in ("\ufeff" + text, text.replace("\n", "\r"), "\ufeff" + text.replace("\n", "\r\n")):
        [sentence] = read_conllu(write(tmp_path, variant))
        assert sentence.words == ["Hi"] and sentence.meta.metadata["sent_id"] == "1"


def test_writer_takes_layers_from_the_sentence(tmp_path):
    sentences = read_conllu(write(tmp_path, ROUND_TRIP))
    pred = dataclasses.replace(sentences[0], upos=["X"] * 5, heads=[0, 1, 1, 1, 1], rels=["r"] * 5, xpos=None)
    lines = format_conllu([pred]).splitlines()
    assert lines[3] == "1\tWe\twe\tX\t_\tCase=Nom|Number=Plur|Person=1|PronType=Prs\t0\tr\t4:nsubj\t_"
    assert lines[4] == "2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_"
    assert format_conllu(sentences) == ROUND_TRIP  # the original's meta is untouched


def test_writer_without_meta():
    raw = Sentence(["Hi", "there"], upos=["INTJ", "ADV"], heads=[0, 1])
    assert format_conllu([raw]) == "1\tHi\t_\tINTJ\t_\t_\t0\t_\t_\t_\n2\tthere\t_\tADV\t_\t_\t1\t_\t_\t_\n\n"


@pytest.mark.parametrize("text, line, expected", [
    (bad((8, "\t_\t_", "")), 8, "expected 10 tab-separated columns, found 8"),
    (bad((8, "\t_\t_", "\t_\t_\tX")), 8, "expected 10 tab-separated columns, found 11"),
    (bad((7, "\t2\t", "\tx\t")), 7, "expected an integer HEAD (or '_'), found 'x'"),
    (bad((7, "\t2\t", "\t_\t")), 7, "expected an integer HEAD, found '_' (other words here have one)"),
    (bad((9, "\t2\t", "\t17\t")), 9, "HEAD '17' out of range for a 3-token sentence"),
    (bad((8, "2\t", "3\t")), 8, "expected ID 2 (IDs must run 1..n in order), found '3'"),
    (bad((8, "2\t", "x\t")), 8, "expected an ID like 5, 3-4 or 8.1, found 'x'"),
    (bad((8, "\t0\t", "\t3\t")), 7, "expected a word with HEAD 0 (the root), found none"),
    (bad((7, "\t2\t", "\t3\t"), (9, "\t2\t", "\t1\t")), 7, "HEAD cycle 1 -> 3 -> 1: word 1 does not reach the root"),
    (bad((8, "2\t", "2-4\tbark\t_\t_\t_\t_\t_\t_\t_\t_\n2\t")), 8, "multiword token ends at word 4, past the last"),
    (bad((9, "3\t", "1.1\tx\tx\tX\tX\t_\t_\t_\t_\t_\n3\t")), 9, "expected an empty node after word 2 (ID 2.k)"),
    (bad((9, "3\t", "# late\n3\t")), 9, "expected a token line, found a comment"),
    (GOOD + "\n# only a comment\n", 6, "expected at least one word line, found none"),
    (bad((8, "\tbark\t", "\t\t")), 8, "expected a word form in the FORM column, found it empty"),
    (bad((8, "2\t", " \n2\t")), 8, "a line of only whitespace inside a sentence"),
])
def test_bad_conllu(tmp_path, text, line, expected):
    path = write(tmp_path, text)
    with pytest.raises(CorpusError) as info:
        read_conllu(path)
    assert str(info.value).startswith(f"{path}:{line}: {expected}")
    assert info.value.line == line


def test_whitespace_lines_between_sentences_are_blank_lines(tmp_path):
    path = write(tmp_path, GOOD + "\n  \t\n\n" + GOOD + " \n")
    assert [len(s) for s in read_conllu(path)] == [3, 3]


def test_an_empty_node_may_have_fewer_columns(tmp_path):
    """Universal PropBank writes some empty nodes (ID 24.1) without the predicate columns: they carry no roles."""
    plus = "".join(line + "\t_\t_\t_\n" if line[:1].isdigit() else line + "\n" for line in GOOD.splitlines())
    path = write(tmp_path, plus.replace("3\tloudly", "2.1\tbark\tbark\tVERB\tVBP\t_\t_\t_\t_\t_\t_\n3\tloudly"))
    sentence, = read_conllu(path)
    assert sentence.words == ["Dogs", "bark", "loudly"] and len(sentence.meta) == 4


@pytest.mark.parametrize("text", ["", "\n \n\n"])
def test_no_sentences(tmp_path, text):
    path = write(tmp_path, text)
    with pytest.raises(CorpusError, match="no sentences found") as info:
        read_conllu(path)
    assert str(path) in str(info.value)


def test_missing_file_and_bad_encoding(tmp_path):
    with pytest.raises(CorpusError, match="file not found") as info:
        read_conllu(tmp_path / "nowhere.conllu")
    assert info.value.line is None and "nowhere.conllu: file not found" in str(info.value)
    path = tmp_path / "latin1.conllu"
    path.write_bytes(GOOD.replace("\tdogs", "\td\xf6gs").encode("latin-1"))
    with pytest.raises(CorpusError, match=r"latin1.conllu:2: expected UTF-8 text"):
        read_conllu(path)


def test_skip_bad(tmp_path):
    path = write(tmp_path, bad((9, "\t2\t", "\t17\t")) + "\n" + GOOD)
    with pytest.warns(UserWarning, match=r"in.conllu:9: HEAD '17' out of range"):
        sentences = read_conllu(path, skip_bad=True)
    assert [s.source.rsplit(":", 1)[1] for s in sentences] == ["1", "11"]


def test_conllu_plus_columns_round_trip(tmp_path):
    plus = GOOD.replace("\t_\t_\n", "\t_\t_\t_\tARG0\n")  # 12 columns, no global.columns line
    plus = plus.replace("1\tDogs", "1-2\tDogsbark\t_\t_\t_\t_\t_\t_\t_\t_\n1\tDogs")  # a 10-column range line
    [sentence] = read_conllu(write(tmp_path, plus + "\n"))
    assert sentence.meta[1]["col12"] == "ARG0"
    assert format_conllu([sentence]) == plus + "\n"
    declared = "# global.columns = ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC SENSE ARGS\n" + plus
    [sentence] = read_conllu(write(tmp_path, declared + "\n"))
    assert sentence.meta[1]["args"] == "ARG0" and format_conllu([sentence]) == declared + "\n"
    with pytest.raises(CorpusError, match=r"in.conllu:4: expected 12 tab-separated columns like line 3, found 13"):
        read_conllu(write(tmp_path, plus.replace("ARG0\n3", "ARG0\tX\n3", 1)))
    with pytest.raises(CorpusError, match=r"in.conllu:1: expected global.columns to start with ID FORM"):
        read_conllu(write(tmp_path, declared.replace("ID FORM", "FORM ID")))
    first_bad = declared.replace("\t0\t", "\t9\t") + "\n" + plus  # global.columns outlives a skipped sentence
    with pytest.warns(UserWarning, match="HEAD '9' out of range"):
        [sentence] = read_conllu(write(tmp_path, first_bad), skip_bad=True)
    assert sentence.meta[1]["args"] == "ARG0"


def test_the_conllu_package_is_not_shadowed():
    import conllu

    assert conllu.parse("1\tHi\t_\t_\t_\t_\t0\troot\t_\t_\n")[0][0]["form"] == "Hi"


def test_find_cycle():
    assert find_cycle([0, 3, 2]) == [2, 3]
    assert find_cycle([2, 0, 2]) == [] and find_cycle([1]) == [1]


def test_find_cycle_on_every_small_head_list():
    """Against the naive check: a word reaches the root within n steps or never."""
    for n in range(1, 6):
        for heads in itertools.product(range(n + 1), repeat=n):
            def reaches_root(word):
                for _ in range(n):
                    word = heads[word - 1]
                    if word == 0:
                        return True
                return False

            cycle = find_cycle(list(heads))
            assert (cycle == []) == all(map(reaches_root, range(1, n + 1))), heads
            if cycle:  # a real cycle, smallest word first
                assert cycle[0] == min(cycle) and len(set(cycle)) == len(cycle), heads
                assert [heads[word - 1] for word in cycle] == cycle[1:] + cycle[:1], heads


def test_failed_write_leaves_nothing(tmp_path):
    sentences = read_conllu(write(tmp_path, ROUND_TRIP))
    broken = dataclasses.replace(sentences[1], upos=["X"])  # wrong length: fails after the first sentence
    target = tmp_path / "missing" / "out.conllu"
    with pytest.raises(ValueError, match="upos has 1 values for 6 words"):
        write_conllu(target, [sentences[0], broken])
    assert not target.exists() and list(target.parent.iterdir()) == []
    existing = write(tmp_path, "old\n", "old.conllu")
    with pytest.raises(ValueError):
        write_conllu(existing, [sentences[0], broken])
    assert existing.read_text() == "old\n"
    with pytest.raises(ValueError, match="conll.txt"):
        write_conll2000(tmp_path / "c.txt", [Sentence(["a"], source="conll.txt:1")], [["O", "O"]])
    assert not (tmp_path / "c.txt").exists()


CHUNKS = "Dogs NNS B-NP\nbark VBP B-VP\n. . O\n\nCats\tNNS  I-NP\nsleep VBP B-VP\n"


def test_conll2000_read_write(tmp_path):
    sentences = read_conll2000(write(tmp_path, CHUNKS, "c.txt"))
    assert sentences[0].words == ["Dogs", "bark", "."] and sentences[0].xpos == ["NNS", "VBP", "."]
    assert sentences[1].chunks == ["I-NP", "B-VP"] and sentences[1].source.endswith("c.txt:5")
    preds = [["B-NP", "B-VP", "O"], ["B-NP", "I-NP"]]
    write_conll2000(tmp_path / "out.txt", sentences, preds)
    assert (tmp_path / "out.txt").read_text().split("\n")[:5] == [
        "Dogs NNS B-NP B-NP", "bark VBP B-VP B-VP", ". . O O", "", "Cats NNS I-NP B-NP"]
    raw = [dataclasses.replace(s, chunks=None) for s in sentences]
    write_conll2000(tmp_path / "out.txt", raw, preds)
    assert (tmp_path / "out.txt").read_text().startswith("Dogs NNS B-NP\nbark VBP B-VP\n. . O\n\n")
    with pytest.raises(ValueError, match="some sentences have gold chunks"):
        write_conll2000(tmp_path / "out.txt", [sentences[0], raw[1]], preds)


@pytest.mark.parametrize("text, line, expected", [
    (CHUNKS.replace("bark VBP B-VP", "bark VBP"), 2, "expected 3 space-separated columns WORD POS CHUNK, found 2"),
    (CHUNKS.replace("sleep VBP B-VP", "sleep VBP VP"), 6, "expected a chunk tag O, B-X or I-X, found 'VP'"),
])
def test_bad_conll2000(tmp_path, text, line, expected):
    path = write(tmp_path, text, "c.txt")
    with pytest.raises(CorpusError) as info:
        read_conll2000(path)
    assert str(info.value) == f"{path}:{line}: {expected}"
    with pytest.warns(UserWarning, match=f"c.txt:{line}:"):
        assert len(read_conll2000(path, skip_bad=True)) == 1
    with pytest.raises(CorpusError, match="no sentences found"):
        read_conll2000(write(tmp_path, "\n", "empty.txt"))
    with pytest.raises(CorpusError, match="file not found"):
        read_conll2000(tmp_path / "none.txt")


@pytest.mark.skipif(not (CORPORA / "ud-english-ewt").exists(), reason="shared corpora not present")
def test_real_ewt_dev_round_trip(tmp_path):
    source = CORPORA / "ud-english-ewt" / "en_ewt-ud-dev.conllu"
    sentences = read_conllu(source)
    assert (len(sentences), sum(map(len, sentences))) == (2001, 25147)
    write_conllu(tmp_path / "dev.conllu", sentences)
    assert (tmp_path / "dev.conllu").read_bytes() == source.read_bytes()
