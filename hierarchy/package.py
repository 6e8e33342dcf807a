"""``hierarchy package``: a trained model as a spaCy pipeline directory (tokenizer, sentencizer and the
``hierarchy`` component with the model inside) with a ``meta.json`` naming its layers, its training corpora and
their licenses, and its dev scores."""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from hierarchy import DISTRIBUTION
from hierarchy.io.errors import ConfigError
from hierarchy.io.fileio import check_writable, refuse_inside_model
from hierarchy.spacy_component import WRITERS
from hierarchy.tasks import TASKS

UD_EWT = ("UD English EWT", "CC BY-SA 4.0", "https://github.com/UniversalDependencies/UD_English-EWT")
UD_GUM = ("UD English GUM", "CC BY-NC-SA 4.0", "https://github.com/UniversalDependencies/UD_English-GUM")
UP_EWT = ("Universal PropBank English EWT", "CDLA-Sharing-1.0", "https://github.com/UniversalPropositions/UP-1.0")
CONLL2000 = ("CoNLL-2000 chunking (WSJ)", "research use only (Penn Treebank WSJ text, no open license)",
             "https://www.clips.uantwerpen.be/conll2000/chunking/")
SICK = ("SICK", "CC BY-NC-SA 3.0", "https://marcobaroni.org/composes/sick.html")
PACKAGE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")  # what spaCy accepts as a pipeline's name

#: Known corpora, recognised by a piece of their path (first match wins): name, license, URL.
CORPORA = {"en_ewt-up": UP_EWT, "up-english-ewt": UP_EWT, "en_ewt-ud": UD_EWT, "ud-english-ewt": UD_EWT,
           "en_gum-ud": UD_GUM, "ud-english-gum": UD_GUM, "conll2000": CONLL2000, "sick": SICK}


def corpus_source(path: str) -> dict:
    """Name, license and URL of a training corpus, recognised from its path."""
    lowered = path.replace("\\", "/").lower()
    for piece, (name, license, url) in CORPORA.items():
        if piece in lowered:
            return {"name": name, "license": license, "url": url}
    if "data/sample/" in lowered:
        return {"name": "hierarchy sample data", "license": _project_license(), "url": ""}
    return {"name": Path(path).name, "license": "unknown (see the corpus's own license)", "url": ""}


def _project_license() -> str:
    from importlib.metadata import PackageNotFoundError, metadata

    try:
        return metadata(DISTRIBUTION).get("License") or "MIT"
    except PackageNotFoundError:
        return "MIT"


def package_meta(component, name: str) -> dict:
    """spaCy's meta.json fields for a packaged model: layers, corpora and their licenses, dev scores."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        own_version = version(DISTRIBUTION)
    except PackageNotFoundError:
        own_version = "0.0.0"
    data, sources, corpora = component.config.data, {}, {}
    keys = dict.fromkeys(k for task in component.model.depth
                         for k in (TASKS[task].data_key, TASKS[task].data_key + "_dev"))
    for key in keys:
        path = getattr(data, key)
        if path:
            source = corpus_source(path)
            corpora[key] = {"path": path, **source}
            sources.setdefault(source["name"], source)
    dev = component.metrics.get("dev", {})
    performance = {}  # spaCy's score names, from metrics.json's dev scores (percent) as each layer's writer maps them
    for task in component.layers:
        for key, (group, metric) in WRITERS[task].performance.items():
            score = dev.get(task, {}).get(group, {}).get(metric)
            if score is not None:
                performance[key] = score / 100
    layers = ", ".join(TASKS[t].title for t in component.layers)
    return {
        "name": name, "version": own_version,
        "description": f"The hierarchy model ({layers}) as a spaCy pipeline: English tokenizer, sentencizer and the "
                       "'hierarchy' component.",
        "license": "; ".join(f"{s['license']} ({s['name']})" for s in sources.values()),
        "sources": list(sources.values()),
        "requirements": [f"{DISTRIBUTION}>={own_version}"],
        "performance": performance,
        "hierarchy": {"layers": component.layers, "model_layers": list(component.model.depth), "corpora": corpora,
                      "dev_scores": dev},
    }


def package_model(model_dir, out_dir, name: str = "hierarchy", force: bool = False) -> Path:
    """Write a spaCy pipeline directory (tokenizer, sentencizer, the component with the model inside) to
    ``out_dir``, atomically: it is built beside the target and renamed into place."""
    out_dir = Path(out_dir)
    if not PACKAGE_NAME.fullmatch(name):
        raise ConfigError(f"--name {name!r}: a package name is letters, digits and underscores, starting with a letter "
                          "(spaCy's rule, e.g. en_hierarchy_ewt)")
    check_writable(out_dir, directory=True)
    model, target = Path(model_dir).resolve(), out_dir.resolve()
    if target == model or model in target.parents or target in model.parents:
        raise ConfigError(f"{out_dir}: the package would be written onto, into or above the model directory "
                          f"{model_dir} it is made from (choose another output)")
    refuse_inside_model(out_dir, "the package")
    if out_dir.exists() and any(out_dir.iterdir()) and not force:
        raise ConfigError(f"{out_dir}: already exists; pass --force to overwrite")
    nlp = make_pipeline(model_dir, device="auto", store_path=False)
    nlp.meta.update(package_meta(nlp.get_pipe("hierarchy"), name))
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.", suffix=".tmp"))
    try:
        nlp.to_disk(tmp)
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


def make_pipeline(model_dir, device: str = "auto", batch_size: int = 256, store_path: bool = True,
                  precision: str = "auto"):
    """``spacy.blank("en")`` + sentencizer + the ``hierarchy`` component loaded from ``model_dir``.

    With ``store_path=False`` the pipeline's config does not name ``model_dir`` (``model = ""``): the model is
    read with ``from_disk``, so a pipeline saved from it depends on nothing outside its own directory.
    """
    import spacy

    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ConfigError(f"{model_dir}: model directory not found")
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    config = {"model": str(model_dir.resolve()) if store_path else "", "device": device, "batch_size": batch_size,
              "precision": precision}
    component = nlp.add_pipe("hierarchy", config=config)
    if not store_path:
        component.from_disk(model_dir)
    return nlp
