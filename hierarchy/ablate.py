"""``hierarchy ablate``: which auxiliary tasks and corpora help a target task. The recipe is trained as it is and
then with each auxiliary task removed in turn (and each corpus that feeds more than one auxiliary task), with the
same budget and seeds; every variant keeps all the layers (a layer that loses its task stays as a shared encoder
layer) and selects its epoch on the target's dev score alone. Each run is a model directory under the output;
``ablation.json``, rewritten after every run, is the record a restarted ablation resumes from."""
from __future__ import annotations

import copy
import json
import shutil
import statistics
from pathlib import Path

from hierarchy.core.config import Config
from hierarchy.core.persistence import save_json
from hierarchy.io.errors import ConfigError
from hierarchy.io.fileio import read_text
from hierarchy.tasks import TASKS
from hierarchy.training import Trainer
from hierarchy.training.checkpoint import NAME as CHECKPOINT
from hierarchy.training.plot import plt, save_figure

RESULTS = "ablation.json"


def without(config: Config, removed: set[str], target: str) -> Config:
    """A copy of ``config`` without the tasks ``removed`` (their layers stay), selecting on ``target`` alone."""
    out = copy.deepcopy(config)
    for layer in out.model.layers:
        layer.tasks = [t for t in layer.tasks if t not in removed]
    train = out.train
    for table in (train.weights, train.task_batch_tokens):
        for task in removed:
            table.pop(task, None)
    train.score_weights = {t: float(t == target) for t in out.tasks()}
    if train.primary in removed:
        train.primary = ""
    out.validate("ablation variant")
    return out


def variants(config: Config, target: str) -> dict[str, tuple[str, ...]]:
    """``{variant name: tasks removed}``: ``all`` (none), ``-TASK`` per auxiliary task, and ``-CORPUS corpus`` per
    ``[data]`` corpus that feeds two or more auxiliary tasks (a corpus the target reads stays)."""
    tasks = config.tasks()
    if target not in tasks:
        raise ConfigError(f"--target {target}: not a task of this recipe (it has {', '.join(tasks)})")
    auxiliary = [t for t in tasks if t != target]
    if not auxiliary:
        raise ConfigError(f"--target {target}: the recipe has no other task to remove")
    out = {"all": ()} | {f"-{t}": (t,) for t in auxiliary}
    corpora: dict[str, list[str]] = {}
    for task in auxiliary:
        corpora.setdefault(getattr(config.data, TASKS[task].data_key), []).append(task)
    target_corpus = getattr(config.data, TASKS[target].data_key)
    for path, users in corpora.items():
        if len(users) > 1 and path != target_corpus:
            out[f"-{TASKS[users[0]].data_key} corpus"] = tuple(users)
    return out


def load_results(output: Path) -> dict:
    path = output / RESULTS
    if not path.is_file():
        return {}
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path}:{e.lineno}: not valid JSON ({e.msg}); delete it to start the ablation again") \
            from None


def run_ablation(config: Config, target: str, output, seeds: int = 1, progress: bool = False, say=print) -> dict:
    """Train every variant with seeds ``config.train.seed`` .. ``+ seeds - 1`` (skipping runs ``ablation.json``
    already holds, resuming a run that has a checkpoint) and return the results: ``{"target", "epochs", "seeds",
    "variants": {name: {"removed", "tasks", "scores", "mean", "spread", "delta"}}}``."""
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    results = load_results(output)
    seed_list = [config.train.seed + k for k in range(seeds)]
    if results and (results.get("target") != target or results.get("epochs") != config.train.epochs):
        raise ConfigError(f"{output}: holds an ablation of '{results.get('target')}' at {results.get('epochs')} "
                          f"epochs; choose another --output for '{target}' at {config.train.epochs}")
    results.update(target=target, epochs=config.train.epochs, seeds=seed_list)
    found = results.setdefault("variants", {})
    for name, removed in variants(config, target).items():
        variant = without(config, set(removed), target)
        entry = found.setdefault(name, {"removed": list(removed), "tasks": variant.tasks(), "scores": {}})
        for seed in seed_list:
            if str(seed) in entry["scores"]:
                continue
            variant.train.seed = seed
            directory = output / name.replace(" ", "-") / f"seed-{seed}"
            resume = (directory / CHECKPOINT).is_file()
            say(f"{name} (seed {seed}): {'resuming' if resume else 'training'} {', '.join(variant.tasks())}")
            if not resume and directory.exists():
                shutil.rmtree(directory)  # a run killed before its first checkpoint
            state = Trainer(variant, directory, progress=progress).fit(resume=resume)
            entry["scores"][str(seed)] = state["best"]
            summarize(results)
            save_json(results, output / RESULTS)
    summarize(results)
    return results


def summarize(results: dict) -> None:
    """Fill in each variant's mean over seeds, spread (max - min) and delta from ``all``."""
    for entry in results["variants"].values():
        scores = list(entry["scores"].values())
        entry["mean"] = statistics.fmean(scores) if scores else None
        entry["spread"] = max(scores) - min(scores) if len(scores) > 1 else 0.0
    base = results["variants"].get("all", {}).get("mean")
    for entry in results["variants"].values():
        entry["delta"] = None if base is None or entry["mean"] is None else entry["mean"] - base


def plot_ablation(results: dict, path) -> None:
    """A bar per variant: the target's dev score (mean over seeds, the spread as an error bar), ``all`` first."""
    names = [n for n, e in results["variants"].items() if e.get("mean") is not None]
    means = [results["variants"][n]["mean"] for n in names]
    spreads = [results["variants"][n]["spread"] / 2 for n in names]
    fig, ax = plt.subplots(figsize=(max(5.0, 1.2 * len(names)), 4.5))
    bars = ax.bar(names, means, yerr=spreads, capsize=4, color=["#555"] + ["#8ab"] * (len(names) - 1))
    ax.bar_label(bars, fmt="%.2f", padding=2)
    low = min(means) - max(2.0, (max(means) - min(means)) * 0.5)
    ax.set_ylim(max(low, 0), max(means) + max(1.0, (max(means) - min(means)) * 0.3))
    ax.set_ylabel(f"{results['target']} dev score")
    ax.set_title(f"Removing each auxiliary task ({results['epochs']} epochs, {len(results['seeds'])} seed(s))")
    ax.tick_params(axis="x", labelrotation=20)
    save_figure(fig, path)
