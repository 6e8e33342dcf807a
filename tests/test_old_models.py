"""Models written before the project replaced allennlp-light's modules with its own load and predict exactly as they
did: the fixtures were trained and their predictions written by the code of that time (tests/fixtures/README.md)."""
import json
from pathlib import Path

import pytest
from conftest import ROOT
from typer.testing import CliRunner

from hierarchy.cli import app

FIXTURES = Path(__file__).parent / "fixtures" / "model-v1"
GOLD = {
    "jmt": ["--conllu", "data/sample/dev.conllu", "--chunks", "data/sample/chunks-dev.txt",
            "--mentions", "data/sample/mentions-dev.conllu", "--srl", "data/sample/srl-spans.txt",
            "--srl-format", "conll05", "--pairs", "data/sample/pairs-dev.txt"],
    "lisa": ["--conllu", "data/sample/srl-dev.conllu", "--srl", "data/sample/srl-dev.conllu"],
}
TEXT = {"jmt": "data/sample/dev.conllu", "lisa": "data/sample/srl-dev.conllu"}


def flat(tree: dict, prefix: str = "") -> dict:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``."""
    out = {}
    for key, value in tree.items():
        out.update(flat(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value})
    return out


@pytest.mark.parametrize("name", ["jmt", "lisa"])
def test_a_model_from_before_predicts_as_it_did(name, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    model, expected = FIXTURES / name, FIXTURES / f"{name}-expected"
    runner = CliRunner()
    result = runner.invoke(app, ["evaluate", str(model), "--json", "--write-predictions", str(tmp_path)] + GOLD[name])
    assert result.exit_code == 0, result.output
    # the scores to float precision (a CPU without AVX-512 rounds the sums of a metric a little otherwise), the
    # predicted labels exactly
    assert flat(json.loads(result.stdout)) == pytest.approx(flat(json.loads((expected / "evaluate.json").read_text())),
                                                            rel=1e-4)
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(p.name for p in (expected / "predictions").iterdir())
    for file in written:
        assert (tmp_path / file).read_text() == (expected / "predictions" / file).read_text(), file
    result = runner.invoke(app, ["annotate", str(model), TEXT[name], "--input", "conllu", "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    assert result.stdout == (expected / "annotate.jsonl").read_text()
