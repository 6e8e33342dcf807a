"""``hierarchy package``: a trained model as a spaCy pipeline directory (its language's tokenizer, a sentencizer and
the ``hierarchy`` component with the model inside), or as an installable wheel or sdist of one, with a model card
(:mod:`hierarchy.card`)."""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from importlib.metadata import packages_distributions, version
from pathlib import Path

from hierarchy import DISTRIBUTION
from hierarchy.card import package_meta, readme
from hierarchy.core.persistence import encoder_package, load_config_file
from hierarchy.distribution import VERSION, own_version, package_files, write_sdist, write_wheel
from hierarchy.io import read_conllu
from hierarchy.io.errors import ConfigError, HierarchyError
from hierarchy.io.fileio import check_writable, read_text, refuse_inside_model

PACKAGE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")  # what spaCy accepts as a pipeline's name
BUILDS = ("none", "wheel", "sdist")
SPEED_WORDS = 3000  # the annotation speed in the card is measured on up to this many words of the dev corpus


def default_name(model_dir, lang: str) -> str:
    """``hierarchy_<lang>_<the model directory's name>``, in the characters a package name may have.

    >>> default_name("models/jmt-ewt-minilm", "en")
    'hierarchy_en_jmt_ewt_minilm'
    """
    return f"hierarchy_{lang}_" + re.sub(r"[^A-Za-z0-9_]+", "_", Path(model_dir).resolve().name).strip("_").lower()


def requirements(config) -> list[str]:
    """What a packaged model needs: this project in a compatible version range and, for a frozen transformer that
    came from an installed package, that package (not a copy of its weights)."""
    own = own_version()
    major, minor = (int(x) for x in own.split(".")[:2])
    upper = f"{major}.{minor + 1}" if major == 0 else f"{major + 1}"
    out = [f"{DISTRIBUTION}>={own},<{upper}"]
    module = encoder_package(config)
    if module:
        dist = packages_distributions().get(module.split(".")[0], [module.replace("_", "-")])[0]
        out.append(f"{dist}=={version(dist)}")
    return out


def annotation_speed(nlp, config) -> dict:
    """Words per second of ``nlp`` (the packaged pipeline) on up to :data:`SPEED_WORDS` words of the model's dev
    corpus, when it is CoNLL-U and readable here; empty otherwise."""
    import torch

    path = next((getattr(config.data, key) for key in ("deps_dev", "pos_dev") if getattr(config.data, key)), "")
    if not path.endswith(".conllu") or not Path(path).is_file():
        return {}
    texts, words = [], 0
    for sentence in read_conllu(path):
        if words >= SPEED_WORDS:
            break
        texts.append(" ".join(sentence.words))
        words += len(sentence)
    list(nlp.pipe(texts[:5]))  # warm up
    start = time.perf_counter()
    list(nlp.pipe(texts))
    from hierarchy.training.loop import machine  # lazy: the training package imports matplotlib

    hardware = machine(torch.device("cpu"))
    return {"words_per_second": words / (time.perf_counter() - start), "words": words, "text": Path(path).name,
            "threads": torch.get_num_threads(), "precision": nlp.get_pipe("hierarchy").cfg["precision"],
            "cpu": hardware["cpu"]}


def package_model(model_dir, out_dir, name: str | None = None, force: bool = False, build: str = "none",
                  package_version: str = "0.1.0", license: str | None = None, scores=None) -> Path:
    """Package ``model_dir`` into ``out_dir``: with ``build="none"`` the spaCy pipeline directory itself (tokenizer,
    sentencizer, the component with the model inside), built beside the target and renamed into place; with
    ``"wheel"`` or ``"sdist"`` an installable distribution in ``out_dir/dist``. ``name``: the package's (default
    :func:`default_name`); ``license``: the license of corpora whose README gives none; ``scores``: a JSON file of
    ``hierarchy evaluate --json`` (test scores for the card). Returns the directory or the distribution file."""
    out_dir = Path(out_dir)
    if build not in BUILDS:
        raise ConfigError(f"--build must be one of {', '.join(BUILDS)}, not '{build}'")
    if not Path(model_dir).is_dir():
        raise ConfigError(f"{model_dir}: model directory not found")
    config = load_config_file(Path(model_dir) / "config.toml")
    name = name if name is not None else default_name(model_dir, config.model.lang)
    if not PACKAGE_NAME.fullmatch(name):
        raise ConfigError(f"--name {name!r}: a package name is letters, digits and underscores, starting with a letter "
                          "(spaCy's rule, e.g. en_hierarchy_ewt)")
    if not re.fullmatch(VERSION, package_version):
        raise ConfigError(f"--version {package_version!r}: expected a version such as 1.0.0 (PEP 440)")
    test_scores = read_scores(scores) if scores else None
    check_writable(out_dir, directory=True)
    model, target = Path(model_dir).resolve(), out_dir.resolve()
    if target == model or model in target.parents or target in model.parents:
        raise ConfigError(f"{out_dir}: the package would be written onto, into or above the model directory "
                          f"{model_dir} it is made from (choose another output)")
    refuse_inside_model(out_dir, "the package")
    final = out_dir if build == "none" else out_dir / "dist" / (
        f"{name}-{package_version}-py3-none-any.whl" if build == "wheel" else f"{name}-{package_version}.tar.gz")
    if (final.is_dir() and any(final.iterdir()) or final.is_file()) and not force:
        raise ConfigError(f"{final}: already exists; pass --force to overwrite")
    nlp = make_pipeline(model_dir, device="auto", store_path=False)
    component = nlp.get_pipe("hierarchy")
    meta = package_meta(component, name, package_version, requirements(config), license, test_scores,
                        annotation_speed(nlp, config))
    nlp.meta.update(meta)
    card = readme(meta, read_text(Path(model_dir) / "config.toml"))
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.", suffix=".tmp"))
    try:
        nlp.to_disk(tmp)
        (tmp / "README.md").write_text(card, encoding="utf-8")
        if build != "none":
            files = package_files(tmp, meta, card)
            final.parent.mkdir(parents=True, exist_ok=True)
            built = (write_wheel if build == "wheel" else write_sdist)(files, meta, card, tmp)
            os.replace(built, final)
            shutil.rmtree(tmp)
            return final
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp made it private
        if out_dir.is_dir():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def read_scores(path) -> dict:
    """Test scores for the card: the JSON ``hierarchy evaluate --json`` prints (``{task: {metric: values}}``)."""
    try:
        scores = json.loads(read_text(path, "the JSON of hierarchy evaluate --json"))
        assert isinstance(scores, dict) and all(isinstance(v, dict) for v in scores.values())
    except (json.JSONDecodeError, AssertionError):
        raise HierarchyError(f"{path}: expected the JSON of hierarchy evaluate --json ({{task: {{metric: ...}}}})"
                             ) from None
    return scores


def make_pipeline(model_dir, device: str = "auto", batch_size: int = 256, store_path: bool = True,
                  precision: str = "auto"):
    """``spacy.blank(lang)`` + sentencizer + the ``hierarchy`` component loaded from ``model_dir`` (``lang``: the
    model's ``model.lang``).

    With ``store_path=False`` the pipeline's config does not name ``model_dir`` (``model = ""``): the model is
    read with ``from_disk``, so a pipeline saved from it depends on nothing outside its own directory.
    """
    import spacy

    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ConfigError(f"{model_dir}: model directory not found")
    lang = load_config_file(model_dir / "config.toml").model.lang
    nlp = spacy.blank(lang)
    nlp.add_pipe("sentencizer")
    config = {"model": str(model_dir.resolve()) if store_path else "", "device": device, "batch_size": batch_size,
              "precision": precision}
    component = nlp.add_pipe("hierarchy", config=config)
    if not store_path:
        component.from_disk(model_dir)
    return nlp
