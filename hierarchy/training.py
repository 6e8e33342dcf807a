"""The training loop: JMT's per-layer schedule with successive regularization, or one joint loss; dev-based model
selection, early stopping, gradient clipping, crash-safe checkpoints and resume."""
from __future__ import annotations

import json
import random
import time
from pathlib import Path

import torch
from tqdm import tqdm

from .batching import batches
from .checkpoint import NAME as CHECKPOINT, load_checkpoint, save_checkpoint
from .config import PAIR_TASKS, Config, data_key
from .corpus import read_conll2000, read_conllu, read_pairs, read_srl
from .errors import ConfigError, CorpusError
from .fileio import atomic_write
from .model import Hierarchy
from .persistence import load_config_file, resolve_device, save_json, save_model
from .plot import plot_history
from .predict import autocast, evaluate
from .vocab import Vocabs

READERS = {"pos": read_conllu, "chunks": read_conll2000, "deps": read_conllu, "relatedness": read_pairs,
           "entailment": read_pairs}  # and "srl", "predicates": read_srl in data.srl_format
# the field a task's corpus must carry
NEEDS = {"pos": "upos", "chunks": "chunks", "deps": "heads", "predicates": "senses", "srl": "senses",
         "relatedness": "score", "entailment": "label"}


def load_corpora(config: Config) -> tuple[dict, dict]:
    """Read every task's train and dev corpus (a file shared by two tasks is read once): ``{task: sentences}``, and
    ``{task: pairs}`` for the sentence-pair tasks."""
    cache, train, dev = {}, {}, {}
    data = config.data
    srl = lambda path, skip_bad: read_srl(path, data.srl_format, skip_bad)  # noqa: E731
    readers = dict(READERS, srl=srl, predicates=srl)
    for task in config.tasks():
        key = data_key(task)
        for split, path in ((train, getattr(data, key)), (dev, getattr(data, f"{key}_dev"))):
            if not path:
                continue
            if (readers[task], path) not in cache:
                cache[readers[task], path] = readers[task](path, skip_bad=data.skip_bad)
            split[task] = cache[readers[task], path]
            if not any(getattr(s, NEEDS[task]) is not None for s in split[task]):
                what = "pair" if task in PAIR_TASKS else "sentence"
                raise CorpusError(path, None, f"no {what} carries {NEEDS[task]} annotation, needed by task '{task}'")
        if task not in dev and data.holdout:
            path = getattr(data, key)
            if len(train[task]) <= data.holdout:
                raise CorpusError(path, None, f"data.holdout = {data.holdout} leaves no training sentence")
            if ("holdout", path) not in cache:  # tasks sharing a file share its split (and count once in vocabs)
                cache["holdout", path] = train[task][: -data.holdout], train[task][-data.holdout :]
            train[task], dev[task] = cache["holdout", path]
    if data.max_sentences:
        cut = {}
        train = {task: cut.setdefault(id(items), items[: data.max_sentences]) for task, items in train.items()}
        dev = {task: cut.setdefault(id(items), items[: data.max_sentences]) for task, items in dev.items()}
    return train, dev


class Trainer:
    """Owns the loop; the model only scores. ``Trainer(config, output).fit(resume=False)``."""

    def __init__(self, config: Config, output, progress: bool = True):
        self.config, self.output, self.progress = config, Path(output), progress
        self.train_data, self.dev_data = load_corpora(config)  # fails before anything is written
        self.device = resolve_device(config.train.device)
        if config.train.threads:
            torch.set_num_threads(config.train.threads)
        self.tasks = config.tasks()

    def fit(self, resume: bool = False) -> dict:
        cfg = self.config.train
        torch.manual_seed(cfg.seed)
        if resume:
            self.vocabs = Vocabs.load(self.output / "vocab.json")
            saved = load_config_file(self.output / "config.toml")
            if saved.model != self.config.model:
                raise ConfigError(f"{self.output}: the recipe's [model] differs from the one being resumed")
        else:
            self.vocabs = Vocabs.build(self.train_data, self.config.model.min_freq)
        self.model = Hierarchy(self.config.model, self.vocabs).to(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), cfg.lr, betas=(0.9, 0.9))
        state = {"epoch": 0, "best": -1.0, "best_epoch": 0, "history": [], "seconds": 0.0, "words": 0}
        if resume:
            state = load_checkpoint(self.output, self.model, self.optimizer)
        else:  # nothing but the directory until the first epoch ends: a run killed before it can simply restart
            self.output.mkdir(parents=True, exist_ok=True)
        for epoch in range(state["epoch"] + 1, cfg.epochs + 1):
            if epoch - state["best_epoch"] > cfg.patience and state["best_epoch"]:
                break
            start = time.perf_counter()
            for group in self.optimizer.param_groups:  # from the recipe, also when resuming
                group["lr"] = cfg.lr * cfg.lr_decay ** (epoch - 1)
            rng = random.Random(cfg.seed * 1000 + epoch)
            losses, words = self.schedule_epoch(rng) if cfg.mode == "schedule" else self.joint_epoch(rng)
            seconds = time.perf_counter() - start
            results, _ = evaluate(self.model, self.vocabs, self.dev_data or self.train_data, device=self.device)
            dev = {task: {name: m.values for name, m in metrics.items()} for task, metrics in results.items()}
            score = sum(main_score(task, metrics) for task, metrics in results.items()) / len(results)
            state["seconds"] += seconds
            state["words"] += words
            state["history"].append(
                {"epoch": epoch, "loss": losses, "dev": dev, "score": score, "seconds": seconds,
                 "words_per_second": words / seconds}
            )
            if score > state["best"]:
                state.update(best=score, best_epoch=epoch, best_dev=dev)
                save_model(self.model, self.config, self.vocabs, self.output)
            state["epoch"] = epoch
            save_checkpoint(self.output, self.model, self.optimizer, state)
            self.write_reports(state)
            if self.progress:
                tqdm.write(f"epoch {epoch}: score {score:.2f} (best {state['best']:.2f} at {state['best_epoch']}) "
                           + " ".join(f"{t}={losses[t]:.3f}" for t in losses))
        return state

    def task_batches(self, task: str, rng: random.Random):
        items = self.train_data[task]  # sentence pairs are never empty (the reader refuses them)
        items = items if task in PAIR_TASKS else [s for s in items if len(s)]
        size = int(self.config.train.task_batch_tokens.get(task, self.config.train.batch_tokens))
        yield from batches(items, self.vocabs, size, True, rng)

    def step(self, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.train.clip)
        self.optimizer.step()

    def task_loss(self, task: str, batch) -> torch.Tensor:
        with autocast(self.device):
            scores = self.model(batch, [task])
        return self.model.tasks[task].loss(scores[task], batch)

    def schedule_epoch(self, rng) -> tuple[dict, int]:
        """JMT: train the tasks bottom-up, each over its own corpus; while task k trains, the parameters below
        it pay ``delta * ||theta - theta'||^2`` where ``theta'`` is where the previous task left them."""
        self.model.train()
        losses, words = {}, 0
        for task in self.tasks:
            lower = self.model.lower_parameters(task)
            anchor = {name: p.detach().clone() for name, p in lower.items()}
            total, n = 0.0, 0
            for batch in tqdm(list(self.task_batches(task, rng)), desc=task, leave=False, disable=not self.progress):
                batch = batch.to(self.device)
                loss = self.task_loss(task, batch)
                total, n = total + loss.item(), n + 1
                if self.config.train.delta > 0 and lower:
                    loss = loss + self.config.train.delta * regularization(lower, anchor)
                self.step(loss)
                words += batch.n_words()
            losses[task] = total / max(n, 1)
        return losses, words

    def joint_epoch(self, rng) -> tuple[dict, int]:
        """One summed loss per step over a batch of each task (smaller corpora cycle)."""
        self.model.train()
        lists = {task: list(self.task_batches(task, rng)) for task in self.tasks}
        steps = max(len(b) for b in lists.values())
        weights = self.config.train.weights
        totals, words = {task: 0.0 for task in self.tasks}, 0
        for i in tqdm(range(steps), desc="joint", leave=False, disable=not self.progress):
            loss = 0.0
            for task, task_batches in lists.items():
                batch = task_batches[i % len(task_batches)].to(self.device)
                task_loss = self.task_loss(task, batch)
                totals[task] += task_loss.item()
                loss = loss + weights.get(task, 1.0) * task_loss
                words += batch.n_words()
            self.step(loss)
        return {task: total / steps for task, total in totals.items()}, words

    def write_reports(self, state: dict) -> None:
        history = state["history"]
        with atomic_write(self.output / "log.jsonl") as f:
            f.writelines(json.dumps(line) + "\n" for line in history)
        save_json(
            {"best_epoch": state["best_epoch"], "dev": state.get("best_dev", {}), "epochs": state["epoch"],
             "train_seconds": state["seconds"], "train_words_per_second": state["words"] / max(state["seconds"], 1e-9),
             "device": str(self.device)},
            self.output / "metrics.json",
        )
        plot_history(history, self.output / "dev-scores.png")


def regularization(lower: dict, anchor: dict) -> torch.Tensor:
    """``sum ||theta - theta'||^2`` over the lower parameters."""
    return sum(((p - anchor[name]) ** 2).sum() for name, p in lower.items())


def main_score(task: str, metrics: dict) -> float:
    """The number model selection reads per task, in percent: UPOS accuracy, chunk F1, LAS, predicate
    identification F1, labeled SRL argument F1, relatedness Pearson correlation (times 100), entailment accuracy."""
    return 100 * (metrics["upos"].score if task == "pos" else next(iter(metrics.values())).score)


def check_output(output: Path, resume: bool, force: bool) -> None:
    """Refuse to write into a non-empty directory unless asked; resuming needs a checkpoint. (A run killed before
    its first epoch ended leaves an empty directory, which a plain re-run takes.)"""
    if resume:
        if not (output / CHECKPOINT).is_file():
            raise ConfigError(f"{output}: no {CHECKPOINT} to resume from")
    elif output.exists() and any(not p.name.endswith(".tmp") for p in output.iterdir()) and not force:
        raise ConfigError(f"{output}: already exists; pass --resume to continue training or --force to overwrite")
