"""The command line end to end on the sample data, and one clear error (non-zero exit, the file and line named,
no model directory left) for each kind of bad input."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from conftest import ROOT, SAMPLE
from typer.testing import CliRunner

from hierarchy.cli import app
from hierarchy.core.config import FORMAT_VERSION
from hierarchy.core.persistence import load_config_file, load_model
from hierarchy.core.predict import annotate, score
from hierarchy.io import read_conll2000, read_conllu

PNG = b"\x89PNG\r\n\x1a\n"


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def assert_one_error(result, *named):
    """Non-zero exit, one ``error: ...`` line on stderr naming each of ``named``, no traceback."""
    assert result.exit_code not in (0, None), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for text in named:
        assert str(text) in lines[0], (text, lines[0])
    assert "Traceback" not in result.output
    return lines[0]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """``hierarchy train models/jmt.toml --output TMP --train.epochs=1 --quiet``, run from the repository root."""
    out = tmp_path_factory.mktemp("cli") / "jmt"
    with pytest.MonkeyPatch.context() as m:
        m.chdir(ROOT)
        result = invoke("train", "models/jmt.toml", "--output", out, "--train.epochs=1", "--quiet")
    assert result.exit_code == 0, result.output
    assert f"model in {out}" in result.stdout
    return out


# --- help ---

def test_help_from_the_console_script():
    script = Path(sys.executable).with_name("hierarchy")
    result = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "hierarchy" in result.stdout and "train" in result.stdout and "evaluate" in result.stdout


@pytest.mark.parametrize("command, words", [
    ("train", ["--output", "--resume", "--force", "--device", "--quiet", "recipe", "--data.pos=FILE"]),
    ("evaluate", ["--conllu", "--chunks", "--json", "--write-predictions", "--device", "model_dir"]),
])
def test_subcommand_help(command, words):
    result = invoke(command, "--help")
    assert result.exit_code == 0, result.output
    for word in words:
        assert word in result.stdout, word


def test_every_subcommand_explains_itself():
    group = typer.main.get_command(app)
    assert {"train", "evaluate"} <= set(group.commands)
    for name, command in group.commands.items():
        result = invoke(name, "--help")
        assert result.exit_code == 0, (name, result.output)
        first_line = command.help.strip().splitlines()[0]
        assert plain(first_line)[:40] in plain(result.stdout), name
        flags = [line for line in result.stdout.splitlines() if "<bool>" in line and "--help" not in line]
        assert not flags, (name, flags)  # a flag takes no value: showing one invited --json true (--help: Click's)


def plain(text: str) -> str:
    """Help text without the box drawing and the line wrapping of rich."""
    return " ".join(text.translate({ord(c): " " for c in "│╭╮╰╯─"}).split())


def test_help_shows_text_in_square_brackets():
    """Help strings are rich markup: an unescaped ``[default: ...]`` is taken for a tag and vanishes."""
    text = plain(invoke("train", "--help").stdout)
    assert "the recipe's path without .toml" in text
    assert "the recipe's train.device" in text


# --- end to end ---

def test_train_writes_a_model_directory(model_dir):
    names = {p.name for p in model_dir.iterdir()}
    assert {"config.toml", "vocab.json", "weights.safetensors", "metrics.json", "log.jsonl", "dev-scores.png"} <= names
    assert not [n for n in names if n.endswith(".tmp")]
    assert f"format_version = {FORMAT_VERSION}" in (model_dir / "config.toml").read_text()
    config = load_config_file(model_dir / "config.toml")
    tasks = ["pos", "chunks", "mentions", "deps", "coref", "srl", "relatedness", "entailment"]
    assert config.train.epochs == 1 and config.tasks() == tasks
    log = [json.loads(line) for line in (model_dir / "log.jsonl").read_text().splitlines()]
    assert [line["epoch"] for line in log] == [1]
    assert set(log[0]["dev"]) == set(tasks)
    metrics = json.loads((model_dir / "metrics.json").read_text())
    assert metrics["best_epoch"] == 1 and metrics["epochs"] == 1
    assert metrics["dev"]["pos"]["upos"]["acc"] >= 0 and "las" in metrics["dev"]["deps"]["deps"]
    assert (model_dir / "dev-scores.png").read_bytes().startswith(PNG)
    assert set(json.loads((model_dir / "vocab.json").read_text())["labels"]) == {
        "upos", "xpos", "chunks", "mentions", "rels", "coref_types", "roles", "senses", "sense_lemmas", "roleset_lemmas",
        "entailment"}
    load_model(model_dir)


def test_recipe_paths_are_relative_to_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("train", ROOT / "models" / "jmt.toml", "--output", tmp_path / "out", "--quiet")
    assert_one_error(result, "data/sample/train.conllu", "file not found", "data.pos",
                     f"read from the working directory, {tmp_path}")  # says where it looked, and why
    assert not (tmp_path / "out").exists()


def expected_scores(model_dir) -> dict:
    """What the scorer functions say about the model on the sample dev files."""
    model, _, vocabs = load_model(model_dir)
    gold = read_conllu(SAMPLE / "dev.conllu")
    predicted = annotate(model, vocabs, gold, ["pos", "deps"])
    expected = {task: {name: m.values for name, m in score(task, predicted, gold).items()} for task in ("pos", "deps")}
    gold = read_conll2000(SAMPLE / "chunks-dev.txt")
    metric = score("chunks", annotate(model, vocabs, gold, ["chunks"]), gold)["chunks"]
    expected["chunks"] = {"chunks": metric.values | {"per_type": metric.per_type}}
    return expected


def test_evaluate_prints_one_table(model_dir):
    result = invoke("evaluate", model_dir, "--conllu", SAMPLE / "dev.conllu", "--chunks", SAMPLE / "chunks-dev.txt")
    assert result.exit_code == 0, result.output
    rows = {}
    for line in result.stdout.splitlines():
        cells = [c.strip() for c in line.strip("│┃").split("│")]
        if len(cells) == 6:
            rows[cells[2]] = cells
    expected = expected_scores(model_dir)
    assert rows["UPOS accuracy"][:2] == ["1", "POS"]
    assert rows["UPOS accuracy"][5] == f"{expected['pos']['upos']['acc']:.2f}"
    assert rows["XPOS accuracy"][5] == f"{expected['pos']['xpos']['acc']:.2f}"
    assert rows["all chunks"][:2] == ["2", "chunks"]
    chunks = expected["chunks"]["chunks"]
    assert rows["all chunks"][3:] == [f"{chunks[k]:.2f}" for k in ("precision", "recall", "f1")]
    assert rows["NP"][5] == f"{chunks['per_type']['NP']['f1']:.2f}"  # one row per chunk type
    assert set(chunks["per_type"]) <= set(rows)
    assert rows["UAS"][:2] == ["4", "dependencies"] and rows["LAS"][:2] == ["4", "dependencies"]
    assert rows["UAS"][5] == f"{expected['deps']['deps']['uas']:.2f}"
    assert rows["LAS"][5] == f"{expected['deps']['deps']['las']:.2f}"


def test_evaluate_json_has_the_scorers_numbers(model_dir):
    result = invoke("evaluate", model_dir, "--conllu", SAMPLE / "dev.conllu", "--chunks", SAMPLE / "chunks-dev.txt",
                    "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == expected_scores(model_dir)


def test_evaluate_one_file_scores_its_layers_only(model_dir):
    result = invoke("evaluate", model_dir, "--chunks", SAMPLE / "chunks-dev.txt", "--json")
    assert result.exit_code == 0, result.output
    assert set(json.loads(result.stdout)) == {"chunks"}


def test_evaluate_writes_predictions(model_dir, tmp_path):
    out = tmp_path / "predictions"
    result = invoke("evaluate", model_dir, "--conllu", SAMPLE / "dev.conllu", "--chunks", SAMPLE / "chunks-dev.txt",
                    "--write-predictions", out)
    assert result.exit_code == 0, result.output
    gold = read_conllu(SAMPLE / "dev.conllu")
    written = read_conllu(out / "dev.conllu")
    assert [s.words for s in written] == [s.words for s in gold]
    model, _, vocabs = load_model(model_dir)
    predicted = annotate(model, vocabs, gold, ["pos", "deps"])
    for field in ("upos", "xpos", "heads", "rels"):
        assert [getattr(s, field) for s in written] == [getattr(s, field) for s in predicted], field
    assert [s.meta.comments for s in written] == [s.meta.comments for s in gold]

    gold_lines = (SAMPLE / "chunks-dev.txt").read_text().splitlines()
    lines = (out / "chunks-dev.chunks.txt").read_text().splitlines()
    assert len(lines) == len(gold_lines)
    gold_chunks = read_conll2000(SAMPLE / "chunks-dev.txt")
    predicted = [t for s in annotate(model, vocabs, gold_chunks, ["chunks"]) for t in s.chunks]
    rows = [line.split() for line in lines if line.strip()]
    assert all(len(row) == 4 for row in rows)
    assert [row[:3] for row in rows] == [line.split() for line in gold_lines if line.strip()]
    assert [row[3] for row in rows] == predicted


# --- training into existing directories ---

def tiny_recipe(tmp_path, **paths) -> Path:
    """A small recipe over the sample data (absolute paths); ``paths`` replace data entries, ``extra`` is appended."""
    extra = paths.pop("extra", "")
    data = {"pos": SAMPLE / "train.conllu", "pos_dev": SAMPLE / "dev.conllu", "chunks": SAMPLE / "chunks-train.txt",
            "chunks_dev": SAMPLE / "chunks-dev.txt", "deps": SAMPLE / "train.conllu", "deps_dev": SAMPLE / "dev.conllu"}
    data.update(paths)
    lines = [f"format_version = {FORMAT_VERSION}", "[data]", "max_sentences = 3"]
    lines += [f'{key} = "{value}"' for key, value in data.items()]
    lines += ["[model]", "word_dim = 4", "char_dim = 2", "char_size = 2", "label_dim = 2", "mlp_dim = 4",
              "arc_dim = 4", "rel_dim = 2", "dropout = 0.0", "word_dropout = 0.0", "min_freq = 1"]
    for task in ("pos", "chunks", "deps"):
        lines += ["[[model.layers]]", "size = 4", f'tasks = ["{task}"]']
    lines += ["[train]", "epochs = 1", "device = \"cpu\"", extra]
    path = tmp_path / "recipe.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_existing_model_directory_needs_force_or_resume(tmp_path):
    recipe = tiny_recipe(tmp_path)
    out = tmp_path / "model"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert_one_error(invoke("train", recipe, "--output", out, "--quiet"), out, "--force", "--resume")
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert_one_error(invoke("train", recipe, "--output", out, "--quiet", "--resume"), out, "checkpoint")

    result = invoke("train", recipe, "--output", out, "--quiet", "--force")
    assert result.exit_code == 0, result.output
    result = invoke("train", recipe, "--output", out, "--quiet", "--resume", "--train.epochs=2")
    assert result.exit_code == 0, result.output
    assert len((out / "log.jsonl").read_text().splitlines()) == 2


def test_default_output_is_the_recipe_path_without_toml(tmp_path):
    result = invoke("train", tiny_recipe(tmp_path), "--quiet")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "recipe" / "weights.safetensors").is_file()


# --- bad input: one message, non-zero exit, no model directory ---

HEADER = "# text = Dogs bark loudly\n"
GOOD = ["1\tDogs\tdog\tNOUN\tNNS\t_\t2\tnsubj\t_\t_", "2\tbark\tbark\tVERB\tVBP\t_\t0\troot\t_\t_",
        "3\tloudly\tloudly\tADV\tRB\t_\t2\tadvmod\t_\t_"]


def conllu_with(line3: str) -> str:
    """A one-sentence CoNLL-U text whose word 3 (file line 4) is ``line3``."""
    return HEADER + "\n".join(GOOD[:2] + [line3]) + "\n\n"


BAD_CORPORA = [
    ("empty", "pos", "", None, "no sentences found"),
    ("columns", "pos", conllu_with("3\tloudly\tloudly\tADV\tRB\t_\t2\tadvmod\t_"), 4, "columns"),
    ("head out of range", "deps", conllu_with("3\tloudly\tloudly\tADV\tRB\t_\t9\tadvmod\t_\t_"), 4, "out of range"),
    ("head not an integer", "deps", conllu_with("3\tloudly\tloudly\tADV\tRB\t_\ttwo\tadvmod\t_\t_"), 4,
     "integer HEAD"),
    ("cycle", "deps", HEADER + "\n".join([GOOD[0].replace("\t2\t", "\t3\t"), GOOD[1],
                                          GOOD[2].replace("\t2\t", "\t1\t")]) + "\n\n", 2, "cycle"),
    ("chunk columns", "chunks", "Dogs NNS B-NP\nbark VBP B-VP\nloudly RB\n", 3, "3 space-separated columns"),
    ("chunk tag", "chunks", "Dogs NNS B-NP\nbark VBP X-VP\n", 2, "chunk tag"),
]


@pytest.mark.parametrize("name, task, text, line, expected", BAD_CORPORA, ids=[c[0] for c in BAD_CORPORA])
def test_bad_corpus(tmp_path, name, task, text, line, expected):
    bad = tmp_path / "bad.txt"
    bad.write_text(text, encoding="utf-8")
    recipe = tiny_recipe(tmp_path, **{task: bad})
    before = set(tmp_path.iterdir())
    message = assert_one_error(invoke("train", recipe, "--quiet"), expected)
    assert message.startswith(f"error: {bad}:{line}: " if line else f"error: {bad}: ")
    assert set(tmp_path.iterdir()) == before  # no model directory (the default output would be tmp/recipe)


def test_missing_corpus(tmp_path):
    missing = tmp_path / "missing.conllu"
    recipe = tiny_recipe(tmp_path, deps_dev=missing)
    before = set(tmp_path.iterdir())
    assert_one_error(invoke("train", recipe, "--quiet"), f"{missing}: file not found")
    assert set(tmp_path.iterdir()) == before


@pytest.mark.parametrize("extra, args, named", [
    ("epoch = 3", [], ["recipe.toml", "unknown config key 'train.epoch'"]),
    ("", ["--foo.bar=1"], ["command line", "unknown config key 'foo.bar'"]),
    ("", ["--train.epoch", "3"], ["command line", "unknown config key 'train.epoch'"]),
    ("", ["--train.epochs=many"], ["'train.epochs' must be int"]),
    ("", ["stray"], ["unexpected argument 'stray'"]),
    ('sampling = "alternate"', [], ["recipe.toml", "train.sampling"]),
])
def test_bad_recipe_or_override(tmp_path, extra, args, named):
    recipe = tiny_recipe(tmp_path, extra=extra)
    before = set(tmp_path.iterdir())
    assert_one_error(invoke("train", recipe, "--quiet", *args), *named)
    assert set(tmp_path.iterdir()) == before


def test_missing_recipe(tmp_path):
    assert_one_error(invoke("train", tmp_path / "nope.toml"), tmp_path / "nope.toml")
    assert list(tmp_path.iterdir()) == []


def test_evaluate_missing_model_directory(tmp_path):
    assert_one_error(invoke("evaluate", tmp_path / "nope", "--conllu", SAMPLE / "dev.conllu"), tmp_path / "nope")


def test_evaluate_needs_a_gold_file(model_dir):
    assert_one_error(invoke("evaluate", model_dir), "--conllu")


def test_evaluate_missing_or_bad_gold_file(model_dir, tmp_path):
    assert_one_error(invoke("evaluate", model_dir, "--conllu", tmp_path / "nope.conllu"), tmp_path / "nope.conllu")
    bad = tmp_path / "bad.conllu"
    bad.write_text(conllu_with("3\tloudly\tloudly\tADV\tRB\t_\t9\tadvmod\t_\t_"), encoding="utf-8")
    out = tmp_path / "predictions"
    assert_one_error(invoke("evaluate", model_dir, "--conllu", bad, "--write-predictions", out), f"{bad}:4:")
    assert not out.exists()


@pytest.fixture
def model_copy(model_dir, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    return copy


def test_evaluate_other_format_version(model_copy):
    config = model_copy / "config.toml"
    config.write_text(config.read_text().replace(f"format_version = {FORMAT_VERSION}", "format_version = 99"))
    assert_one_error(invoke("evaluate", model_copy, "--conllu", SAMPLE / "dev.conllu"), config, "format_version 99")


def test_evaluate_without_weights(model_copy):
    (model_copy / "weights.safetensors").unlink()
    assert_one_error(invoke("evaluate", model_copy, "--conllu", SAMPLE / "dev.conllu"),
                     model_copy / "weights.safetensors")


def test_evaluate_corrupt_weights(model_copy):
    (model_copy / "weights.safetensors").write_bytes(b"not a safetensors file")
    assert_one_error(invoke("evaluate", model_copy, "--conllu", SAMPLE / "dev.conllu"),
                     model_copy / "weights.safetensors")


def test_evaluate_config_unknown_key(model_copy):
    config = model_copy / "config.toml"
    config.write_text(config.read_text().replace("[train]", "[train]\nepochz = 3"))
    assert_one_error(invoke("evaluate", model_copy, "--conllu", SAMPLE / "dev.conllu"), config, "'train.epochz'")


def test_resume_from_a_corrupt_checkpoint(tmp_path):
    recipe = tiny_recipe(tmp_path)
    out = tmp_path / "model"
    assert invoke("train", recipe, "--output", out, "--quiet").exit_code == 0
    (out / "checkpoint.safetensors").write_bytes(b"\x00" * 10)
    assert_one_error(invoke("train", recipe, "--output", out, "--quiet", "--resume", "--train.epochs=2"),
                     out / "checkpoint.safetensors")


def test_model_files_respect_the_umask(model_dir):
    """Files of a model directory are as readable as any file the user creates (mkstemp alone gives 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    for path in model_dir.iterdir():
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask, path.name


# --- sentence pairs: evaluate --pairs, annotate --pairs ---

PAIRS_DEV = SAMPLE / "pairs-dev.txt"


def test_pair_options_in_help():
    for command in ("evaluate", "annotate"):
        result = invoke(command, "--help")
        assert result.exit_code == 0, result.output
        assert "--pairs" in result.stdout, command
    assert "relatedness" in plain(invoke("evaluate", "--help").stdout)


def expected_pair_scores(model_dir) -> dict:
    """What ``hierarchy.core.predict.score`` says about the model on the sample dev pairs, as ``evaluate --json`` has it."""
    from hierarchy.core.predict import predict_pairs
    from hierarchy.io import read_pairs

    model, _, vocabs = load_model(model_dir)
    gold = read_pairs(PAIRS_DEV)
    predicted = predict_pairs(model, vocabs, gold)
    relatedness = score("relatedness", predicted, gold)["relatedness"]
    entailment = score("entailment", predicted, gold)["entailment"]
    return {"relatedness": {"relatedness": relatedness.values},
            "entailment": {"entailment": entailment.values | {"per_class": entailment.per_class,
                                                              "confusion": entailment.matrix}}}


def same_json(a, b) -> bool:
    """Equal as JSON (NaN equals NaN: a correlation of constant predictions is NaN)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def table_rows(stdout: str, n_cells: int) -> list[list[str]]:
    rows = []
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.replace("┃", "│").strip("│").split("│")]  # ┃: header rows
        if len(cells) == n_cells:
            rows.append(cells)
    return rows


def test_evaluate_pairs_prints_scores_and_confusion(model_dir):
    result = invoke("evaluate", model_dir, "--pairs", PAIRS_DEV)
    assert result.exit_code == 0, result.output
    expected = expected_pair_scores(model_dir)
    rows = {cells[2]: cells for cells in table_rows(result.stdout, 6)}
    related, entail = expected["relatedness"]["relatedness"], expected["entailment"]["entailment"]
    assert rows["Pearson r x 100"][:2] == ["6", "relatedness"]
    assert rows["Pearson r x 100"][5] == f"{related['pearson']:.2f}"
    assert rows["Spearman rho x 100"][5] == f"{related['spearman']:.2f}"
    assert rows["MSE"][5] == f"{related['mse']:.4f}"
    assert rows["accuracy"][:2] == ["7", "entailment"] and rows["accuracy"][5] == f"{entail['acc']:.2f}"
    for label, c in entail["per_class"].items():  # one row per class
        assert rows[label][3:] == [f"{c[k]:.2f}" for k in ("precision", "recall", "f1")], label
    assert not {"UAS", "UPOS accuracy", "all chunks"} & set(rows)  # only the layers of the given file
    assert "Entailment confusion" in result.stdout
    labels = list(entail["confusion"])
    header = next(cells for cells in table_rows(result.stdout, 1 + len(labels)) if cells[0] == "gold")
    assert header[1:] == labels
    confusion = {cells[0]: cells[1:] for cells in table_rows(result.stdout, 1 + len(labels)) if cells[0] in labels}
    assert confusion == {gold: [str(n) for n in row.values()] for gold, row in entail["confusion"].items()}
    assert sum(int(n) for row in confusion.values() for n in row) == 12


def test_evaluate_pairs_json_has_the_scorers_numbers(model_dir):
    result = invoke("evaluate", model_dir, "--pairs", PAIRS_DEV, "--json")
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    assert scores["relatedness"]["relatedness"].keys() == {"pearson", "spearman", "mse"}
    assert {"acc", "per_class", "confusion"} <= scores["entailment"]["entailment"].keys()
    assert same_json(scores, expected_pair_scores(model_dir))


def test_evaluate_pairs_with_sentence_files(model_dir):
    """All layers but SRL in one run: one table in layer order, one JSON object with every task."""
    args = ["evaluate", model_dir, "--conllu", SAMPLE / "dev.conllu", "--chunks", SAMPLE / "chunks-dev.txt",
            "--pairs", PAIRS_DEV]
    result = invoke(*args, "--json")
    assert result.exit_code == 0, result.output
    assert same_json(json.loads(result.stdout), expected_scores(model_dir) | expected_pair_scores(model_dir))
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    layers = [cells[0] for cells in table_rows(result.stdout, 6) if cells[0].isdigit()]
    assert layers == sorted(layers) and set(layers) == {"1", "2", "4", "6", "7"}


def test_evaluate_pairs_writes_predictions(model_dir, tmp_path):
    from hierarchy.core.predict import predict_pairs
    from hierarchy.io import format_pairs, read_pairs

    out = tmp_path / "predictions"
    result = invoke("evaluate", model_dir, "--pairs", PAIRS_DEV, "--write-predictions", out)
    assert result.exit_code == 0, result.output
    assert [p.name for p in out.iterdir()] == ["pairs-dev.pairs.tsv"]
    gold = read_pairs(PAIRS_DEV)
    model, _, vocabs = load_model(model_dir)
    written = (out / "pairs-dev.pairs.tsv").read_text(encoding="utf-8")
    assert written == format_pairs(gold, predict_pairs(model, vocabs, gold))
    back = read_pairs(out / "pairs-dev.pairs.tsv")  # reads back: the gold columns are gold_label and gold_score
    assert [(p.premise.words, p.hypothesis.words, p.label, p.score, p.id) for p in back] == \
        [(p.premise.words, p.hypothesis.words, p.label, p.score, p.id) for p in gold]


def test_evaluate_pairs_without_pair_layers(trained_model, tmp_path):
    result = invoke("evaluate", trained_model, "--pairs", PAIRS_DEV)
    assert result.exit_code == 2
    assert_one_error(result, "the model has no pairs layer (relatedness, entailment)")


def test_evaluate_pairs_without_pair_layers_writes_nothing(trained_model, tmp_path):
    """The missing pair layers are found before any prediction file is written, as a bad gold file is."""
    out = tmp_path / "predictions"
    result = invoke("evaluate", trained_model, "--conllu", SAMPLE / "dev.conllu", "--pairs", PAIRS_DEV,
                    "--write-predictions", out)
    assert result.exit_code == 2
    assert_one_error(result, "the model has no pairs layer (relatedness, entailment)")
    assert not out.exists()


def bad_pairs_file(tmp_path):
    lines = PAIRS_DEV.read_text(encoding="utf-8").splitlines()
    lines[3] = "\t".join(lines[3].split("\t")[:-1] + ["7"])  # file line 4: relatedness score 7
    bad = tmp_path / "bad-pairs.txt"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return bad


def test_evaluate_bad_or_missing_pairs_file(model_dir, tmp_path):
    bad = bad_pairs_file(tmp_path)
    out = tmp_path / "predictions"
    result = invoke("evaluate", model_dir, "--pairs", bad, "--write-predictions", out)
    assert result.exit_code == 2
    message = assert_one_error(result, f"{bad}:4:", "relatedness score from 1 to 5", "'7'")
    assert message.startswith(f"error: {bad}:4: ")
    assert not out.exists()
    assert_one_error(invoke("evaluate", model_dir, "--pairs", tmp_path / "nope.txt"), tmp_path / "nope.txt",
                     "file not found")


def test_annotate_pairs_tsv_to_stdout(model_dir):
    from hierarchy.core.predict import predict_pairs
    from hierarchy.io import format_pairs, read_pairs

    result = invoke("annotate", model_dir, "--pairs", PAIRS_DEV)
    assert result.exit_code == 0, result.output
    gold = read_pairs(PAIRS_DEV)
    lines = result.stdout.splitlines()
    assert len(lines) == 1 + len(gold)
    assert lines[0].split("\t") == ["id", "premise", "hypothesis", "gold_label", "predicted_label", "p_ENTAILMENT",
                                    "p_NEUTRAL", "p_CONTRADICTION", "gold_score", "predicted_score"]
    assert [line.split("\t")[0] for line in lines[1:]] == [p.id for p in gold]
    model, _, vocabs = load_model(model_dir)
    assert result.stdout == format_pairs(gold, predict_pairs(model, vocabs, gold))
    for line in lines[1:]:
        cells = line.split("\t")
        assert cells[4] in ("ENTAILMENT", "NEUTRAL", "CONTRADICTION")
        assert sum(map(float, cells[5:8])) == pytest.approx(1, abs=2e-4) and 1 <= float(cells[9]) <= 5
    assert invoke("annotate", model_dir, "--pairs", PAIRS_DEV, "--format", "tsv").stdout == result.stdout


def test_annotate_pairs_jsonl_to_a_file(model_dir, tmp_path):
    from hierarchy.core.predict import predict_pairs
    from hierarchy.io import read_pairs

    out = tmp_path / "out" / "pairs.jsonl"
    result = invoke("annotate", model_dir, "--pairs", PAIRS_DEV, "--format", "jsonl", "-o", out)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    gold = read_pairs(PAIRS_DEV)
    model, _, vocabs = load_model(model_dir)
    predicted = predict_pairs(model, vocabs, gold)
    assert len(rows) == len(gold)
    for row, pair, p in zip(rows, gold, predicted):
        assert row.keys() == {"id", "premise", "hypothesis", "gold_label", "gold_score", "label", "probabilities",
                              "relatedness"}
        assert (row["id"], row["gold_label"], row["gold_score"]) == (pair.id, pair.label, pair.score)
        assert row["premise"] == " ".join(pair.premise.words) and row["hypothesis"] == " ".join(pair.hypothesis.words)
        assert (row["label"], row["probabilities"], row["relatedness"]) == (p["label"], p["probabilities"],
                                                                            p["relatedness"])


@pytest.mark.parametrize("args, named", [
    (["--format", "html"], ["--format html", "--pairs"]),
    (["--format", "conllu"], ["--format conllu", "--pairs"]),
    ([str(SAMPLE / "dev.conllu")], ["--pairs", "not both"]),
])
def test_annotate_pairs_bad_options(model_dir, tmp_path, args, named):
    out = tmp_path / "out.tsv"
    result = invoke("annotate", model_dir, "--pairs", PAIRS_DEV, "-o", out, *args)
    assert result.exit_code == 2
    assert_one_error(result, *named)
    assert not out.exists()


def test_annotate_pairs_from_a_headerless_tsv_echoes_the_text(model_dir, tmp_path):
    """Two tab-separated columns without a header are premise and hypothesis; the output gives each text as the
    file had it, not its tokens re-joined."""
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("A man plays a guitar.\tA person plays music.\nThe dog isn't running.\tA dog runs!\n")
    result = invoke("annotate", model_dir, "--pairs", pairs)
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert [row[1:3] for row in rows[1:]] == [["A man plays a guitar.", "A person plays music."],
                                             ["The dog isn't running.", "A dog runs!"]]
    one_column = tmp_path / "one.tsv"
    one_column.write_text("just one column\n")
    assert_one_error(invoke("annotate", model_dir, "--pairs", one_column), "one.tsv:1", "two tab-separated columns")


def test_annotate_bad_pairs_file(model_dir, tmp_path):
    bad = bad_pairs_file(tmp_path)
    out = tmp_path / "out.tsv"
    result = invoke("annotate", model_dir, "--pairs", bad, "-o", out)
    assert result.exit_code == 2
    assert_one_error(result, f"{bad}:4:", "relatedness score from 1 to 5")
    assert not out.exists()


def test_annotate_pairs_without_pair_layers(trained_model, tmp_path):
    out = tmp_path / "out.tsv"
    result = invoke("annotate", trained_model, "--pairs", PAIRS_DEV, "-o", out)
    assert result.exit_code == 2
    assert_one_error(result, "the model has no sentence-pair layer")
    assert not out.exists()


def test_short_help_and_version():
    for args in (["-h"], ["train", "-h"], ["evaluate", "-h"], ["inspect", "-h"]):
        result = invoke(*args)
        assert result.exit_code == 0 and "Usage" in result.stdout, (args, result.output)
    result = invoke("--version")
    assert result.exit_code == 0 and result.stdout.startswith("hierarchy ")


def test_a_mistyped_key_gets_a_suggestion(tmp_path):
    recipe = tiny_recipe(tmp_path)
    line = assert_one_error(invoke("train", recipe, "--output", tmp_path / "out", "--train.epoch=2"))
    assert "did you mean 'train.epochs'?" in line
    recipe.write_text(recipe.read_text().replace("epochs = 1", "epoch = 1"), encoding="utf-8")
    assert "did you mean 'train.epochs'?" in assert_one_error(invoke("train", recipe, "--output", tmp_path / "o"))


def test_training_prints_a_header_and_each_epochs_dev_scores(tmp_path):
    result = invoke("train", tiny_recipe(tmp_path), "--output", tmp_path / "out", "--train.epochs=2")
    assert result.exit_code == 0, result.output
    text = result.output.replace("\r", "\n")
    assert "parameters" in text and "layers 1 pos · 2 chunks · 3 deps" in text
    assert "  pos: 3 sentences /" in text and "dev" in text
    epochs = [line[line.index("epoch "):] for line in text.splitlines() if "epoch " in line and " dev: " in line]
    assert [line.split()[1] for line in epochs] == ["1/2", "2/2"]  # (a progress bar may precede it on its line)
    assert all("pos: upos " in e and "chunks: f1 " in e and "deps: uas " in e and " las " in e for e in epochs)
    assert text.count("  train loss: pos ") == 2
    resumed = invoke("train", tiny_recipe(tmp_path), "--output", tmp_path / "out", "--resume", "--train.epochs=3")
    assert "resuming after epoch 2" in resumed.output


def test_ctrl_c_says_how_to_resume(tmp_path, monkeypatch):
    from hierarchy.training import Trainer

    def interrupted(self, resume=False):
        raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "fit", interrupted)
    result = invoke("train", tiny_recipe(tmp_path), "--output", tmp_path / "out", "--quiet")
    assert result.exit_code == 130
    assert "interrupted" in result.stderr and "--resume" in result.stderr and str(tmp_path / "out") in result.stderr
