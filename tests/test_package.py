"""``hierarchy package --build wheel|sdist``: an installable model with a card. The wheel is installed (offline,
into a folder of its own) and loaded in a fresh process with spacy.load and hierarchy.load by its name; it annotates
as the model directory does. An encoder from an installed package is a requirement, not a copy."""
import json
import subprocess
import sys
import tarfile
import zipfile

import pytest
import spacy
from conftest import SAMPLE
from test_annotate_cli import invoke

from hierarchy.card import corpus_source, restrictiveness

TEXTS = ["The cat sat on the mat. It was happy.", "Dogs bark loudly!"]
SCRIPT = """import json, sys, spacy, hierarchy
name, texts = sys.argv[1], json.loads(sys.argv[2])
nlp = spacy.load(name)
pipeline = hierarchy.load(name)
print(json.dumps({
    "spacy": [[[t.text, t.pos_, t.tag_, t.head.i, t.dep_] for t in nlp(text)] for text in texts],
    "hierarchy": [[s.words, s.upos, s.heads] for s in pipeline.annotate(texts)],
}))
"""


def install(artifact, target):
    """pip install the distribution offline into ``target`` (a folder of its own; its requirements are here)."""
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", "--target",
                           str(target), str(artifact)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


def run_installed(target, name, cwd):
    env = {"PYTHONPATH": str(target), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", SCRIPT, name, json.dumps(TEXTS)], capture_output=True, text=True,
                          timeout=300, cwd=cwd, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_wheel_installs_and_loads_by_name_offline(trained_model, tmp_path):
    scores = tmp_path / "test.json"
    result = invoke("evaluate", trained_model, "--conllu", SAMPLE / "dev.conllu", "--json")
    scores.write_text(result.stdout)
    result = invoke("package", trained_model, tmp_path / "out", "--build", "wheel", "--name", "hierarchy_en_tiny",
                    "--version", "1.2.0", "--scores", scores)
    assert result.exit_code == 0, result.output
    wheel = tmp_path / "out" / "dist" / "hierarchy_en_tiny-1.2.0-py3-none-any.whl"
    names = zipfile.ZipFile(wheel).namelist()
    assert "hierarchy_en_tiny/en_hierarchy_en_tiny-1.2.0/hierarchy/weights.safetensors" in names
    assert "hierarchy_en_tiny/README.md" in names and "hierarchy_en_tiny-1.2.0.dist-info/RECORD" in names
    metadata = zipfile.ZipFile(wheel).read("hierarchy_en_tiny-1.2.0.dist-info/METADATA").decode()
    assert "Requires-Dist: hierarchy-nlp>=0.1.0,<0.2" in metadata and "License: MIT" in metadata
    install(wheel, tmp_path / "site")
    installed = run_installed(tmp_path / "site", "hierarchy_en_tiny", tmp_path)
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("hierarchy", config={"model": str(trained_model)})
    assert installed["spacy"] == [[[t.text, t.pos_, t.tag_, t.head.i, t.dep_] for t in nlp(text)] for text in TEXTS]
    import hierarchy

    here = hierarchy.load(trained_model).annotate(TEXTS)
    assert installed["hierarchy"] == [[s.words, s.upos, s.heads] for s in here]
    card = (tmp_path / "site" / "hierarchy_en_tiny" / "README.md").read_text()
    assert "# hierarchy_en_tiny 1.2.0" in card and "## Test scores (hierarchy evaluate)" in card
    assert "| pos | upos acc |" in card and "words/s through the spaCy component" in card
    meta = json.loads((tmp_path / "site" / "hierarchy_en_tiny" / "meta.json").read_text())
    given = json.loads(scores.read_text())  # (spaCy writes meta.json's floats to 10 digits)
    assert meta["hierarchy"]["test_scores"]["deps"]["deps"]["las"] == pytest.approx(given["deps"]["deps"]["las"])
    assert meta["hierarchy"]["training"]["hardware"]["cores"] >= 1
    assert meta["hierarchy"]["labels"]["upos"][:2] and meta["lang"] == "en"
    assert invoke("package", trained_model, tmp_path / "out", "--build", "wheel", "--name", "hierarchy_en_tiny",
                  "--version", "1.2.0").exit_code == 2  # exists: --force


def test_an_sdist_is_a_setuptools_project(trained_model, tmp_path):
    result = invoke("package", trained_model, tmp_path / "out", "--build", "sdist")
    assert result.exit_code == 0, result.output
    (sdist,) = (tmp_path / "out" / "dist").iterdir()
    name = sdist.name.removesuffix("-0.1.0.tar.gz")
    assert name == "hierarchy_en_" + trained_model.name.lower()
    with tarfile.open(sdist) as archive:
        members = archive.getnames()
        project = archive.extractfile(f"{name}-0.1.0/pyproject.toml").read().decode()
    assert f"{name}-0.1.0/{name}/__init__.py" in members and f"{name}-0.1.0/PKG-INFO" in members
    assert 'dependencies = ["hierarchy-nlp>=0.1.0,<0.2"]' in project and '"**/*"' in project


def test_bad_package_options_are_one_line(trained_model, tmp_path):
    for args, message in [(["--build", "egg"], "--build must be one of none, wheel, sdist"),
                          (["--version", "one"], "--version 'one': expected a version"),
                          (["--scores", SAMPLE / "dev.conllu"], "expected the JSON of hierarchy evaluate")]:
        result = invoke("package", trained_model, tmp_path / "out", *args)
        assert result.exit_code == 2 and message in result.stderr, result.output
    assert not (tmp_path / "out").exists()


def test_licenses_come_from_the_corpus_readme_and_the_strictest_wins(tmp_path):
    corpus = tmp_path / "mine"
    corpus.mkdir()
    (corpus / "README.md").write_text("# Mine\n- License: **CC BY-NC-SA 4.0** (non-commercial).\n")
    assert corpus_source(str(corpus / "train.conllu"))["license"] == "CC BY-NC-SA 4.0"
    assert corpus_source("/x/ud-english-gum/en_gum-ud-train.conllu")["license"] == "CC BY-NC-SA 4.0"
    assert corpus_source("/x/elsewhere/train.conllu", "CC BY 4.0")["license"] == "CC BY 4.0"  # --license
    licenses = ["CC BY-SA 4.0", "CC BY-NC-SA 4.0", "MIT"]
    assert max(licenses, key=restrictiveness) == "CC BY-NC-SA 4.0"


def test_a_packaged_encoder_from_a_package_is_required_not_copied(tmp_path, monkeypatch):
    """A frozen transformer named by its installed package: the wheel requires the package and has no encoder."""
    pytest.importorskip("transformers")
    from test_transformer import tiny_bert, transformer_config

    from hierarchy.training import Trainer

    site = tmp_path / "site"
    package = site / "tiny_encoder_pkg"
    package.mkdir(parents=True)
    encoder = tiny_bert(package / "model")
    (package / "__init__.py").write_text('from pathlib import Path\nMODEL_DIR = Path(__file__).parent / "model"\n')
    info = site / "tiny_encoder_pkg-0.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tiny-encoder-pkg\nVersion: 0.3\n")
    (info / "top_level.txt").write_text("tiny_encoder_pkg\n")
    monkeypatch.syspath_prepend(str(site))
    config = transformer_config(encoder, tmp_path, True, epochs=1)
    config.model.transformer.path = "tiny_encoder_pkg"
    Trainer(config, tmp_path / "model", progress=False).fit()
    result = invoke("package", tmp_path / "model", tmp_path / "out", "--build", "wheel", "--name", "hierarchy_bert")
    assert result.exit_code == 0, result.output
    wheel = zipfile.ZipFile(tmp_path / "out" / "dist" / "hierarchy_bert-0.1.0-py3-none-any.whl")
    assert not [n for n in wheel.namelist() if "/encoder/" in n]
    assert "Requires-Dist: tiny-encoder-pkg==0.3" in wheel.read("hierarchy_bert-0.1.0.dist-info/METADATA").decode()
    install(tmp_path / "out" / "dist" / "hierarchy_bert-0.1.0-py3-none-any.whl", site)
    done = subprocess.run([sys.executable, "-c", "import sys, hierarchy; "
                           "print(len(hierarchy.load('hierarchy_bert').annotate(['The cat sat.'])[0].words))"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          env={"PYTHONPATH": str(site), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0 and done.stdout.strip() == "4", done.stderr
