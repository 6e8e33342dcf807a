"""A packaged model's card: what it was trained on and under which license, its labels, scores, training time and
hardware, and its annotation speed, as the fields of spaCy's ``meta.json`` and as a README."""
from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, metadata
from pathlib import Path

from hierarchy import DISTRIBUTION
from hierarchy.spacy_component import WRITERS
from hierarchy.tasks import TASKS

UD_EWT = ("UD English EWT", "CC BY-SA 4.0", "https://github.com/UniversalDependencies/UD_English-EWT")
UD_GUM = ("UD English GUM", "CC BY-NC-SA 4.0", "https://github.com/UniversalDependencies/UD_English-GUM")
UP_EWT = ("Universal PropBank English EWT", "CDLA-Sharing-1.0", "https://github.com/UniversalPropositions/UP-1.0")
CONLL2000 = ("CoNLL-2000 chunking (WSJ)", "research use only (Penn Treebank WSJ text, no open license)",
             "https://www.clips.uantwerpen.be/conll2000/chunking/")
SICK = ("SICK", "CC BY-NC-SA 3.0", "https://marcobaroni.org/composes/sick.html")

#: Known corpora, recognised by a piece of their path (first match wins): name, license, URL.
CORPORA = {"en_ewt-up": UP_EWT, "up-english-ewt": UP_EWT, "en_ewt-ud": UD_EWT, "ud-english-ewt": UD_EWT,
           "en_gum-ud": UD_GUM, "ud-english-gum": UD_GUM, "conll2000": CONLL2000, "sick": SICK}
LICENSE_LINE = re.compile(r"License:\s*\**\s*([^*(\n]+?)\s*(?:\*\*|\(|\.\s|$)", re.M)
UNKNOWN = "unknown (see the corpus's own license)"


def corpus_source(path: str, license: str | None = None) -> dict:
    """Name, license and URL of a training corpus: the license from a README beside the file (its ``License:``
    line), else from the corpora this project knows, else ``license`` (``--license``), else unknown."""
    lowered = path.replace("\\", "/").lower()
    name, known, url = next(((n, lic, u) for piece, (n, lic, u) in CORPORA.items() if piece in lowered),
                            (Path(path).name, None, ""))
    if "data/sample/" in lowered:
        name, known = "hierarchy sample data", _project_license()
    readme = Path(path).parent / "README.md"
    found = LICENSE_LINE.search(readme.read_text(encoding="utf-8", errors="replace")) if readme.is_file() else None
    return {"name": name, "license": found.group(1).strip() if found else known or license or UNKNOWN, "url": url}


def restrictiveness(license: str) -> int:
    """How much a license restricts use, to pick a package's: 4 no open license or unknown, 3 non-commercial,
    2 share-alike, 1 attribution, 0 permissive.

    >>> [restrictiveness(x) for x in ("MIT", "CC BY 4.0", "CC BY-SA 4.0", "CC BY-NC-SA 4.0", "research use only")]
    [0, 1, 2, 3, 4]
    """
    text = license.lower()
    words = set(re.split(r"[^a-z]+", text))
    if "unknown" in words or "research" in words or "no explicit open" in text or "no open" in text:
        return 4
    if "nc" in words or "non-commercial" in text or "noncommercial" in words:
        return 3
    if "sa" in words or "sharing" in words or "share" in words:
        return 2
    return 1 if "by" in words else 0


def _project_license() -> str:
    try:
        return metadata(DISTRIBUTION).get("License-Expression") or metadata(DISTRIBUTION).get("License") or "MIT"
    except PackageNotFoundError:
        return "MIT"


def package_meta(component, name: str, version: str, requirements: list[str], license: str | None = None,
                 scores: dict | None = None, speed: dict | None = None) -> dict:
    """spaCy's ``meta.json`` fields for a packaged model: its layers and labels, corpora and their licenses (the
    most restrictive is the package's), dev scores (and test ``scores``: ``hierarchy evaluate --json``), training
    time and hardware, annotation ``speed``."""
    data, sources, corpora = component.config.data, {}, {}
    keys = dict.fromkeys(k for task in component.model.depth
                         for k in (TASKS[task].data_key, TASKS[task].data_key + "_dev"))
    for key in keys:
        path = getattr(data, key)
        if path:
            source = corpus_source(path, license)
            corpora[key] = {"path": path, **source}
            sources.setdefault(source["name"], source)
    strictest = max((s["license"] for s in sources.values()), key=restrictiveness, default=license or UNKNOWN)
    dev = component.metrics.get("dev", {})
    performance = {}  # spaCy's score names, from metrics.json's dev scores (percent) as each layer's writer maps them
    for task in component.layers:
        for key, (group, metric) in WRITERS[task].performance.items():
            score = dev.get(task, {}).get(group, {}).get(metric)
            if score is not None:
                performance[key] = score / 100
    layers = ", ".join(TASKS[t].title for t in component.layers)
    labels = {table: vocab.itos for table, vocab in component.vocabs.labels.items()}
    metrics = component.metrics
    return {
        "name": name, "version": version, "lang": component.config.model.lang,
        "description": f"The hierarchy model ({layers}) as a spaCy pipeline: the '{component.config.model.lang}' "
                       "tokenizer, a sentencizer and the 'hierarchy' component.",
        "license": strictest, "sources": list(sources.values()), "requirements": requirements,
        "performance": performance, "labels": {"hierarchy": sorted(labels)},
        "hierarchy": {"layers": component.layers, "model_layers": list(component.model.depth), "corpora": corpora,
                      "labels": labels, "dev_scores": dev, "test_scores": scores or {},
                      "training": {key: metrics.get(key) for key in ("epochs", "best_epoch", "train_seconds",
                                                                     "train_words_per_second", "device", "hardware")},
                      "annotation_speed": speed or {}},
    }


def readme(meta: dict, recipe: str) -> str:
    """The card as Markdown: what the model is, its license and why, its corpora, labels, scores, training and
    speed, and the recipe it was trained with."""
    info = meta["hierarchy"]
    training, speed = info["training"], info["annotation_speed"]
    lines = [f"# {meta['name']} {meta['version']}", "", meta["description"], "",
             "```python", "import spacy, hierarchy", f"nlp = spacy.load({meta['name']!r})",
             f"pipeline = hierarchy.load({meta['name']!r})", "```", "",
             f"Requires: {', '.join(meta['requirements'])}.", "", "## License", "",
             f"**{meta['license']}**: the most restrictive license of the corpora the model was trained on (a model "
             "trained on a corpus is bound by its terms).", "", "## Training corpora", "",
             "| data key | corpus | license | path |", "|---|---|---|---|"]
    lines += [f"| {key} | {c['name']} | {c['license']} | `{c['path']}` |" for key, c in info["corpora"].items()]
    lines += ["", "## Layers and labels", ""]
    lines += [f"- **{table}** ({len(labels)}): {', '.join(labels)}" for table, labels in info["labels"].items()]
    for title, scores in (("Dev scores (model selection)", info["dev_scores"]),
                          ("Test scores (hierarchy evaluate)", info["test_scores"])):
        rows = [(task, name, metric, value) for task, groups in scores.items() for name, group in groups.items()
                for metric, value in group.items() if isinstance(value, (int, float))]
        lines += ["", f"## {title}", ""] + (["| task | metric | value |", "|---|---|---|"]
                                            + [f"| {t} | {n} {m} | {v:.2f} |" for t, n, m, v in rows] if rows
                                            else ["Not given."])
    hardware = training.get("hardware") or {}
    lines += ["", "## Training", "",
              f"{training.get('epochs')} epochs (best: {training.get('best_epoch')}), "
              f"{(training.get('train_seconds') or 0) / 60:.1f} minutes at "
              f"{training.get('train_words_per_second') or 0:.0f} words/s on {training.get('device')} "
              f"({', '.join(f'{k} {v}' for k, v in hardware.items()) or 'hardware not recorded'}).", "",
              "## Annotation speed", "",
              (f"{speed['words_per_second']:.0f} words/s through the spaCy component ({speed['words']} words of "
               f"{speed['text']}, {speed['threads']} thread(s), {speed['precision']}, {speed['cpu']}), measured when "
               "the package was made." if speed else "Not measured."), "",
              "## Recipe", "", "```toml", recipe.rstrip(), "```", ""]
    return "\n".join(lines)
