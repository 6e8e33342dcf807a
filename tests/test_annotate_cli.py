"""``hierarchy annotate`` (text or CoNLL-U in; CoNLL-U Plus, JSON lines or HTML out) and ``hierarchy package``."""
import json
import re
import subprocess
import sys

import pytest
import spacy
from conftest import ROOT, SAMPLE
from typer.testing import CliRunner

from hierarchy.cli import app
from hierarchy.io import read_conllu

runner = CliRunner()
TEXT = "The cat sat on the mat. It was happy.\n\nDogs bark 🐕 loudly!\nΗ γάτα κάθεται.\n"


def invoke(*args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def test_conllu_round_trip(trained_model, tmp_path):
    """CoNLL-U in, CoNLL-U Plus out: same tokens, comments and multiword tokens; the library's predictions."""
    from hierarchy.core.persistence import load_model
    from hierarchy.core.predict import annotate

    out = tmp_path / "dev.conllu"
    result = invoke("annotate", trained_model, SAMPLE / "dev.conllu", "--input", "conllu", "--format", "conllu",
                    "--output", out)
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# global.columns = ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC HIERARCHY:CHUNK\n")
    gold, back = read_conllu(SAMPLE / "dev.conllu"), read_conllu(out)
    assert [s.words for s in back] == [s.words for s in gold]
    assert [s.meta.metadata["sent_id"] for s in back] == [s.meta.metadata["sent_id"] for s in gold]
    assert [[t["form"] for t in s.meta] for s in back] == [[t["form"] for t in s.meta] for s in gold]  # MWT lines kept
    model, _, vocabs = load_model(trained_model)
    expected = annotate(model, vocabs, gold)
    assert [s.upos for s in back] == [s.upos for s in expected]
    assert [s.heads for s in back] == [s.heads for s in expected]
    chunks = [[t["hierarchy:chunk"] for t in s.meta if isinstance(t["id"], int)] for s in back]
    assert chunks == [s.chunks for s in expected]
    assert all(s.rels[s.heads.index(0)] == "root" for s in back)


def test_text_from_stdin(trained_model, tmp_path):
    result = invoke("annotate", trained_model, input=TEXT)
    assert result.exit_code == 0, result.output
    (tmp_path / "out.conllu").write_text(result.stdout, encoding="utf-8")
    back = read_conllu(tmp_path / "out.conllu")
    assert [s.words for s in back] == [["The", "cat", "sat", "on", "the", "mat", "."], ["It", "was", "happy", "."],
                                       ["Dogs", "bark", "🐕", "loudly", "!"], ["Η", "γάτα", "κάθεται", "."]]
    assert [s.meta.metadata["text"] for s in back][-1] == "Η γάτα κάθεται."
    assert all(h is not None for s in back for h in s.heads)


def test_jsonl(trained_model, tmp_path):
    (tmp_path / "in.txt").write_text(TEXT, encoding="utf-8")
    result = invoke("annotate", trained_model, tmp_path / "in.txt", "--format", "jsonl", "--device", "cpu")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 4 and rows[0]["words"][:2] == ["The", "cat"]
    for row in rows:
        n = len(row["words"])
        assert len(row["upos"]) == len(row["xpos"]) == len(row["deprels"]) == len(row["chunks"]) == n
        assert row["heads"].count(0) == 1 and all(0 <= h <= n for h in row["heads"])
        assert all(0 <= a < b <= n for a, b, _ in row["chunk_spans"])


@pytest.fixture(scope="module")
def full_model(tmp_path_factory):
    """The sample recipe (every layer: POS, chunks, mentions, dependencies, roles, pairs) trained two epochs."""
    out = tmp_path_factory.mktemp("full") / "model"
    result = invoke("train", ROOT / "models" / "jmt.toml", "--output", out, "--train.epochs=2", "--quiet")
    assert result.exit_code == 0, result.output
    return out


def test_jsonl_follows_its_schema_with_character_offsets(full_model):
    """Every key of a line is in schema/annotation.schema.json and valid there; ``offsets`` spell the words."""
    import jsonschema

    schema = json.loads((ROOT / "schema" / "annotation.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    result = invoke("annotate", full_model, "--format", "jsonl", input=TEXT)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    for row in rows:
        jsonschema.validate(row, schema, cls=jsonschema.Draft202012Validator)
        assert set(row) <= set(schema["properties"])
        assert [row["text"][a:b] for a, b in row["offsets"]] == row["words"]
    assert {"heads", "chunk_spans", "mention_spans", "srl"} <= set(rows[0])
    bad = dict(rows[0], heads=[-1] * len(rows[0]["words"]))  # the schema really checks
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema, cls=jsonschema.Draft202012Validator)


def test_html(trained_model, tmp_path):
    out = tmp_path / "out.html"
    result = invoke("annotate", trained_model, "--format", "html", "--output", out, input=TEXT)
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert page.count("<svg") == 4 and "</html>" in page


def test_empty_input(trained_model):
    result = invoke("annotate", trained_model, input="\n  \n")
    assert result.exit_code == 0 and result.stdout == ""


@pytest.mark.parametrize("args, message", [
    (["annotate", "{tmp}/missing"], "missing: model directory not found"),
    (["annotate", "{model}", "{tmp}/missing.txt"], "missing.txt: file not found"),
    (["annotate", "{model}", "--format", "xml"], "--format must be one of conllu, jsonl, html, not 'xml'"),
    (["annotate", "{model}", "--input", "conllu", str(SAMPLE / "chunks-dev.txt")], "chunks-dev.txt:1: expected 10"),
    (["package", "{tmp}/missing", "{tmp}/out"], "missing: model directory not found"),
    (["annotate", "{model}", "--precision", "fp16"], "precision must be one of auto, bf16, fp32, int8, not 'fp16'"),
])
def test_bad_input(trained_model, tmp_path, args, message):
    result = invoke(*[a.format(tmp=tmp_path, model=trained_model) for a in args], input="Hello.")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["annotate", "evaluate"])
def test_bf16_on_a_cpu_without_it_is_one_error_line(trained_model, tmp_path, monkeypatch, command):
    """Where oneDNN cannot run bf16 LSTMs (no AVX512-BF16 or AMX), an explicit bf16 names the CPU capability and the
    alternative instead of oneDNN's traceback."""
    import hierarchy.core.predict

    monkeypatch.setattr(hierarchy.core.predict, "cpu_runs_bf16", lambda: False)
    args = [command, trained_model, "--precision", "bf16", "--device", "cpu"]
    args += ["--conllu", SAMPLE / "dev.conllu"] if command == "evaluate" else ["--output", tmp_path / "out.conllu"]
    result = invoke(*args, input="Hello.")
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == ("error: precision bf16: this CPU has neither AVX512-BF16 nor AMX, which bf16 "
                                     "LSTMs need on a CPU; use --precision fp32 (or auto)")
    assert not (tmp_path / "out.conllu").exists()


def test_package_loads_in_a_fresh_process(trained_model, tmp_path):
    out = tmp_path / "en_hierarchy"
    result = invoke("package", trained_model, out)
    assert result.exit_code == 0, result.output
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    assert meta["hierarchy"]["layers"] == ["pos", "chunks", "deps"]
    assert meta["hierarchy"]["corpora"]["pos"]["path"].endswith("train.conllu")
    assert meta["sources"][0]["license"] == "MIT"
    assert meta["requirements"] == ["hierarchy-nlp>=0.1.0,<0.2"]  # not "hierarchy": another project on PyPI
    assert "upos:NOUN" in meta["labels"]["hierarchy"] and "rels:nsubj" in meta["labels"]["hierarchy"]
    dev = json.loads((trained_model / "metrics.json").read_text())["dev"]
    assert meta["performance"]["dep_las"] == pytest.approx(dev["deps"]["deps"]["las"] / 100)
    assert invoke("package", trained_model, out).exit_code == 2  # exists
    assert invoke("package", trained_model, out, "--force").exit_code == 0

    texts = ["The cat sat on the mat. It was happy.", "", " ", "Dogs bark 🐕 loudly!", "猫がマットの上に座った。"]
    script = ("import json, sys, spacy\n"  # never imports hierarchy: spaCy finds the factory via the entry point
              "nlp = spacy.load(sys.argv[1])\n"
              "docs = nlp.pipe(json.loads(sys.argv[2]))\n"
              "print(json.dumps([[[t.text, t.pos_, t.tag_, t.head.i, t.dep_] for t in d] "
              "+ [[s.start, s.end, s.label_] for s in d.spans['chunks']] for d in docs]))\n")
    done = subprocess.run([sys.executable, "-c", script, str(out), json.dumps(texts)], capture_output=True,
                          text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("hierarchy", config={"model": str(trained_model)})
    here = [[[t.text, t.pos_, t.tag_, t.head.i, t.dep_] for t in d] + [[s.start, s.end, s.label_] for s in d.spans["chunks"]]
            for d in map(nlp, texts)]
    assert json.loads(done.stdout) == here


def test_html_escapes_the_labels_a_model_gives():
    """displaCy escapes words, not labels: a tampered vocabulary must not inject markup into the page."""
    import spacy

    from hierarchy.formats import html_page
    from hierarchy.io import Sentence

    s = Sentence(["a<b", "c"], upos=["NOUN", "NOUN"], xpos=["<i>", "NN"], heads=[2, 0], rels=["<script>x", "root"])
    s.chunks = ["B-<img src=x>", "O"]
    page = html_page(spacy.blank("en").vocab, [s], ["pos", "chunks", "deps"])
    assert "<script>" not in page and "<img src" not in page and "<i>" not in page
    assert "&lt;script&gt;x" in page and "&lt;img src=x&gt;" in page and "a&lt;b" in page


def test_package_refuses_to_write_onto_into_or_above_its_model(trained_model, tmp_path):
    import shutil

    from hierarchy.io.errors import ConfigError
    from hierarchy.package import package_model

    model = tmp_path / "models" / "tiny"
    shutil.copytree(trained_model, model)
    before = sorted(p.name for p in model.iterdir())
    for target in (model, model / "package", tmp_path / "models"):
        with pytest.raises(ConfigError, match="onto, into or above the model directory"):
            package_model(model, target, force=True)
    assert sorted(p.name for p in model.iterdir()) == before


@pytest.mark.parametrize("format", ["conllu", "jsonl", "html"])
@pytest.mark.parametrize("input, path", [("text", None), ("conllu", SAMPLE / "dev.conllu")])
def test_worker_processes_write_what_one_process_writes(trained_model, input, path, format):
    """--nproc 2 (forked workers that predict and format chunks of at most two paragraphs or sentences; this process
    numbers and writes them): the same output, in the input's order. displaCy gives each SVG a random id."""
    args = ["annotate", trained_model, "--input", input, "--format", format, "--batch-size", "2",
            *([path] if path else [])]
    text = None if path else TEXT * 3
    one, two = invoke(*args, input=text), invoke(*args, "--nproc", "2", input=text)
    assert one.exit_code == 0 and two.exit_code == 0, two.output
    same = re.compile(r"[0-9a-f]{32}")
    assert same.sub("ID", two.stdout) == same.sub("ID", one.stdout)
    assert one.stdout.count({"conllu": "# sent_id", "jsonl": '"sent_id"', "html": "<figure"}[format]) > 4
    assert invoke(*args, "--nproc", "0", input=text).exit_code == 2


def test_worker_chunks_shrink_toward_the_end_and_cover_the_input():
    from hierarchy.annotate_work import MIN_CHUNK_WORDS, chunk_ranges

    sizes = [100] * 1000
    for nproc in (1, 2, 3):
        chunks = chunk_ranges(sizes, 256, nproc)
        assert [a for a, _ in chunks[1:]] == [b for _, b in chunks[:-1]] and chunks[0][0] == 0
        assert chunks[-1][1] == len(sizes) and all(b - a <= 256 for a, b in chunks)
    chunks = chunk_ranges(sizes, 256, 2)
    words = [100 * (b - a) for a, b in chunks]
    assert words == sorted(words, reverse=True) and min(words[:-1]) >= MIN_CHUNK_WORDS
    assert chunk_ranges([], 256, 2) == []
    starts = list(range(0, 1000, 7))  # documents of seven units: a chunk begins with one
    for nproc in (1, 2):
        chunks = chunk_ranges(sizes, 20, nproc, starts)
        assert {a for a, _ in chunks} <= set(starts) and chunks[-1][1] == len(sizes)
        assert [a for a, _ in chunks[1:]] == [b for _, b in chunks[:-1]] and all(b - a <= 20 + 6 for a, b in chunks)
