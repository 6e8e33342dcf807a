"""The training loop: a sampler picks the task(s) of each step, a weighting combines their losses, successive
regularization keeps the layers below a task near where the previous task left them (JMT); dev-based model
selection, early stopping, gradient clipping, crash-safe checkpoints and resume."""
from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import random
import time
from pathlib import Path

import torch
from tqdm import tqdm

from hierarchy.core.batching import batches, transformer_text
from hierarchy.core.config import Config
from hierarchy.core.features import cached_features
from hierarchy.core.model import Hierarchy
from hierarchy.core.persistence import (
    check_encoder,
    load_config_file,
    resolve_device,
    save_json,
    save_model,
    write_manifest,
)
from hierarchy.core.predict import Predictor, autocast
from hierarchy.core.vocab import Vocabs
from hierarchy.io import signals
from hierarchy.io.errors import ConfigError, HierarchyError
from hierarchy.io.fileio import atomic_write, resolve_resource
from hierarchy.io.vectors import attach
from hierarchy.io.vocab import sentences_of
from hierarchy.modules.pretrained import ENCODER_EXPECTED
from hierarchy.strategies.diagnostics import gradients, interference, mean
from hierarchy.strategies.samplers import SAMPLERS
from hierarchy.strategies.weighting import WEIGHTINGS
from hierarchy.tasks import TASKS
from hierarchy.training import distributed
from hierarchy.training.checkpoint import NAME as CHECKPOINT
from hierarchy.training.checkpoint import load_checkpoint, save_checkpoint
from hierarchy.training.corpora import in_context, load_corpora
from hierarchy.training.ema import WeightAverage
from hierarchy.training.lock import NAME as LOCK
from hierarchy.training.lock import locked
from hierarchy.training.optim import make_optimizer, parameter_groups, set_learning_rate
from hierarchy.training.plot import main_keys, plot_history, plot_mix, plot_weights


class Trainer:
    """Owns the loop; the model only scores. ``Trainer(config, output).fit(resume=False)``."""

    def __init__(self, config: Config, output, progress: bool = True):
        self.config, self.output, self.progress = config, Path(output), progress
        self.train_data, self.dev_data = load_corpora(config)  # fails before anything is written
        if config.model.transformer.path and config.model.transformer.context:
            self.train_data, self.dev_data = in_context(self.train_data, self.dev_data,
                                                        config.model.transformer.context)
        self.device = distributed.device(resolve_device(config.train.device))
        self.rank, self.world_size = distributed.world()
        if config.train.threads:
            torch.set_num_threads(config.train.threads)
        self.tasks = config.tasks()

    def build(self, resume: bool = False) -> None:
        """The vocabularies (built from the corpora, or those of the run being resumed), the model, the sampler,
        the weighting and the optimizer; nothing is written."""
        cfg = self.config.train
        torch.manual_seed(cfg.seed)
        if resume:
            self.vocabs = Vocabs.load(self.output / "vocab.json")
            saved = load_config_file(self.output / "config.toml")
            if saved.model != self.config.model:
                raise ConfigError(f"{self.output}: the recipe's [model] differs from the one being resumed")
        else:
            self.vocabs = Vocabs.build(self.train_data, self.config.model.min_freq)
        vectors = None
        if self.config.model.vectors and not resume:  # a resumed run has them in its vocabulary and checkpoint
            vectors = attach(self.vocabs, [self.train_data, self.dev_data], self.config.model)
        if resume and self.config.model.transformer.path:  # the encoder the run began with
            check_encoder(resolve_resource(self.config.model.transformer.path, ENCODER_EXPECTED), self.vocabs)
        self.model = Hierarchy(self.config.model, self.vocabs)
        if vectors is not None:
            self.model.embed.set_vectors(vectors)
        self.model.to(self.device)
        self.average = WeightAverage(self.model, cfg.ema, cfg.ema_start) if cfg.ema else None
        transformer = self.model.embed.transformer
        if transformer is not None and not resume:
            self.vocabs.encoder = transformer.identity
        if transformer is not None and transformer.freeze:
            for items in {id(c): c for split in (self.train_data, self.dev_data) for c in split.values()}.values():
                cached_features(transformer, [transformer_text(s) for s in sentences_of(items)], cfg.feature_cache,
                                self.progress)
        self.sampler = SAMPLERS[cfg.sampling](self.tasks, cfg)
        self.sampler.evaluate = self.primary_score
        self.weighting = WEIGHTINGS[cfg.weighting](self.tasks, cfg).to(self.device)
        self.optimizer = make_optimizer(parameter_groups(self.model, self.weighting.parameters()), cfg)
        self.epoch, self.steps = 0, 0  # the epoch being trained and the optimizer steps taken in the whole run

    def fit(self, resume: bool = False) -> dict:
        """Train (or continue with ``resume``) under the output directory's lock (rank 0 holds it, and alone writes
        the directory); returns the loop's state."""
        distributed.start(self.device)
        if self.world_size > 1 and self.config.train.weighting == "pcgrad":
            raise ConfigError("train.weighting = \"pcgrad\" projects per-task gradients of one process; it is not "
                              "available with several processes (--nproc)")
        with locked(self.output) if self.rank == 0 else contextlib.nullcontext():
            return self._fit(resume)

    def _fit(self, resume: bool) -> dict:
        cfg = self.config.train
        self.build(resume)
        state = {"epoch": 0, "best": None, "best_epoch": 0, "history": [], "seconds": 0.0, "words": 0, "steps": 0}
        if resume:
            state = load_checkpoint(self.output, self.model, self.optimizer, self.average)
            self.steps = state.get("steps", 0)
            self.sampler.load_state_dict(state.get("sampler", {}))
            self.weighting.load_state_dict(state.get("weighting", {}))
        elif self.rank == 0:  # nothing but the directory until the first epoch ends: a killed run can restart
            self.output.mkdir(parents=True, exist_ok=True)
        self.say("\n".join(self.header()))
        if resume:
            self.say(f"resuming after epoch {state['epoch']} (best dev score {state['best']:.2f} at epoch "
                     f"{state['best_epoch']})")
        for epoch in range(state["epoch"] + 1, cfg.epochs + 1):
            if epoch - state["best_epoch"] > cfg.patience and state["best_epoch"]:
                break
            start = time.perf_counter()
            self.epoch = epoch
            self.sampler.begin(epoch)
            self.weighting.begin(epoch)
            set_learning_rate(self.optimizer, cfg, epoch, self.config.model.transformer, self.steps)  # also resuming
            losses, words, diagnosed = self.train_epoch(random.Random(cfg.seed * 1000 + epoch))
            seconds = time.perf_counter() - start
            words = int(distributed.total(words))  # every rank's
            distributed.check_same(self.model)
            dev, task_scores, score = self.score_dev()
            self.sampler.update(task_scores)
            self.weighting.update(task_scores)
            state["seconds"] += seconds
            state["words"] += words
            state["history"].append(
                {"epoch": epoch, "loss": losses, "dev": dev, "score": score, "seconds": seconds, "words": words,
                 "words_per_second": words / seconds, "sampler": self.sampler.log(),
                 "weighting": self.weighting.log(), "interference": mean(diagnosed), "mix": self.model.mix_shares()}
            )
            averaged = False  # whether the epoch's candidate is the averaged weights, which scored higher
            if self.average is not None:
                with self.average.applied():
                    ema_dev, _, ema_score = self.score_dev()
                state["history"][-1].update(ema_dev=ema_dev, ema_score=ema_score)
                averaged = ema_score > score
            candidate = (ema_score, ema_dev) if averaged else (score, dev)
            best = state["best_epoch"] == 0 or candidate[0] > state["best"]  # the first epoch's model is a candidate
            if best:
                state.update(best=candidate[0], best_epoch=epoch, best_dev=candidate[1],
                             best_weights="ema" if averaged else "raw")
            state.update(epoch=epoch, steps=self.steps, sampler=self.sampler.state_dict(),
                         weighting=self.weighting.state_dict())
            # The model before the checkpoint: a kill between them leaves a checkpoint of the epoch before, which
            # --resume trains again to the same weights. The manifest last: loading refuses a model file or
            # metrics.json written after it (an interrupted epoch), and --resume completes the directory.
            if self.rank == 0:
                with signals.deferred():  # Ctrl-C or SIGTERM here takes effect once the epoch's files agree
                    if best:
                        with self.average.applied() if averaged else contextlib.nullcontext():
                            save_model(self.model, self.config, self.vocabs, self.output, manifest=False)
                    save_checkpoint(self.output, self.model, self.optimizer, state, self.average)
                    self.write_reports(state)
                    write_manifest(self.output)
            self.say(f"epoch {epoch}/{cfg.epochs} ({seconds:.0f} s, {words / seconds:.0f} words/s) dev: "
                     + " | ".join(f"{task}: " + " ".join(dev_cells(task, dev[task]))
                                  for task in self.tasks if task in dev)
                     + f" | selection {score:.2f}" + (f", ema {ema_score:.2f}" if self.average else "")
                     + f" (best {state['best']:.2f} at epoch {state['best_epoch']})\n"
                     + "  train loss: " + " ".join(f"{t} {loss:.3f}" for t, loss in losses.items()))
        if resume and self.epoch == 0 and self.rank == 0:  # nothing left to train: complete an interrupted epoch
            self.write_reports(state)
            write_manifest(self.output)
        return state

    def diverged(self, what: str) -> None:
        """Stop a run whose loss or dev score stopped being a number: one error naming it and the epoch; the model
        directory keeps the best epoch before it."""
        kept = "the best model of the epochs before is kept" if self.epoch > 1 else "no model was saved"
        raise HierarchyError(f"{self.output}: training diverged: {what} in epoch {self.epoch} ({kept}); try a "
                             "lower train.lr or check the inputs (word vectors, corpora) for extreme values")

    def say(self, text: str) -> None:
        if self.progress and self.rank == 0:
            tqdm.write(text)

    def header(self) -> list[str]:
        """What the run is: device, size, stack, strategies and corpora (printed when it starts)."""
        cfg, model = self.config.train, self.model
        total = sum(p.numel() for p in model.parameters())
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        layers = " · ".join(f"{k + 1} {'+'.join(layer.tasks) or '-'}"
                            for k, layer in enumerate(self.config.model.layers))
        threads = torch.get_num_threads()
        lines = [f"device {self.device} ({threads} thread{'s' * (threads > 1)}) · {total:,} parameters "
                 f"({trainable:,} trained) · output {self.output}",
                 f"layers {layers} · sampling {cfg.sampling}, weighting {cfg.weighting} · {cfg.epochs} epochs"]
        transformer = self.config.model.transformer
        if transformer.path:
            tuning = f"top {transformer.tune_layers} layers tuned" if transformer.tune_layers else "frozen"
            lines.append(f"transformer {transformer.path} ({tuning if transformer.freeze else 'fine-tuned'}, "
                         f"{transformer.pooling} piece{'s' if transformer.pooling == 'mean' else ''})")
        for task in self.tasks:
            train, dev = self.train_data[task], self.dev_data.get(task)
            lines.append(f"  {task}: {size(train)} train"
                         + (f", {size(dev)} dev" if dev else ", no dev (scored on train)"))
        return lines

    def selection_score(self, task_scores: dict[str, float]) -> float:
        """The weighted mean of the per-task dev scores (percent): each spec's ``score_weight``, or the recipe's
        ``train.score_weights``."""
        weights = {t: self.config.train.score_weights.get(t, TASKS[t].score_weight) for t in task_scores}
        return sum(weights[t] * s for t, s in task_scores.items()) / sum(weights.values())

    def score_dev(self) -> tuple[dict, dict, float]:
        """The model's dev scores as it stands: ``({task: {metric: values}}, {task: score}, selection score)``; a
        task score that is not a number stops the run."""
        results, _ = Predictor(self.model, self.vocabs, self.device).evaluate(self.dev_data or self.train_data)
        dev = {task: {name: m.values for name, m in metrics.items()} for task, metrics in results.items()}
        task_scores = {task: task_score(task, metrics) for task, metrics in results.items()}
        for task, value in task_scores.items():
            if not math.isfinite(value):
                self.diverged(f"the {task} dev score is {value}")
        return dev, task_scores, self.selection_score(task_scores)

    def primary_score(self) -> float:
        """The dev score (percent) of ``train.primary`` (default: the top task) now; AutoSeM's reward reads it."""
        task = self.config.train.primary or self.tasks[-1]
        dev = self.dev_data or self.train_data
        results, _ = Predictor(self.model, self.vocabs, self.device).evaluate({task: dev[task]})
        return task_score(task, results[task])

    def task_batches(self, task: str, rng: random.Random) -> list:
        spec = TASKS[task]
        items = self.train_data[task]  # sentence pairs are never empty (the reader refuses them)
        items = items if spec.unit == "pair" else [s for s in items if len(s)]
        size = int(self.config.train.task_batch_tokens.get(task, self.config.train.batch_tokens))
        repeats = self.config.train.task_repeats.get(task, 1)  # each pass shuffled anew
        return [b for _ in range(repeats) for b in batches(items, self.vocabs, size, True, rng, specs=[spec])]

    def train_epoch(self, rng) -> tuple[dict, int, list]:
        """One pass of the sampler's steps; returns the mean loss of each task it trained, the words trained on and
        the epoch's gradient diagnostics (every ``train.diagnose_every`` steps). A step that trains one task pays
        ``delta * ||theta - theta'||^2`` over the parameters below it, ``theta'`` being where they were when its
        phase began (successive regularization)."""
        self.model.train()
        cfg = self.config.train
        epoch_batches = {task: distributed.shard(self.task_batches(task, rng), self.rank, self.world_size)
                         for task in self.tasks}
        totals, counts, words, diagnosed = dict.fromkeys(self.tasks, 0.0), dict.fromkeys(self.tasks, 0), 0, []
        phase, lower, anchor = None, {}, {}
        steps = self.sampler.steps(epoch_batches, rng)  # lazily: a sampler may evaluate between steps
        for step in tqdm(steps, total=self.sampler.n_steps(epoch_batches), desc="train", leave=False,
                         disable=not self.progress or self.rank > 0):
            single = len(step.tasks) == 1 and self.sampler.phases
            if single and (step.phase, step.tasks[0]) != phase:
                phase = step.phase, step.tasks[0]
                lower = self.model.lower_parameters(step.tasks[0])
                anchor = {name: p.detach().clone() for name, p in lower.items()}
            losses = {}
            for task, batch in zip(step.tasks, step.batches):
                batch = batch.to(self.device)
                losses[task] = self.task_loss(task, batch)
                value = losses[task].item()
                if not math.isfinite(value):
                    self.diverged(f"the {task} loss is {value}")
                totals[task] += value
                counts[task] += 1
                words += batch.n_words()
            extra = cfg.delta * regularization(lower, anchor) if single and cfg.delta > 0 and lower else None
            self.step(losses, extra)
            if cfg.diagnose_every and self.steps % cfg.diagnose_every == 0:
                diagnosed.append(self.diagnose(epoch_batches))
        return {task: totals[task] / counts[task] for task in self.tasks if counts[task]}, words, diagnosed

    def task_loss(self, task: str, batch) -> torch.Tensor:
        with autocast(self.device, self.config.train.precision):
            scores = self.model(batch, [task])
        return self.model.tasks[task].loss(scores[task], batch)

    def step(self, losses: dict[str, torch.Tensor], extra=None) -> None:
        """One optimizer step on the weighting's gradient of ``losses`` (plus ``extra``, a regularization term)."""
        self.optimizer.zero_grad(set_to_none=True)
        parameters = [p for group in self.optimizer.param_groups for p in group["params"] if p.requires_grad]
        self.weighting.backward(losses, extra, parameters)
        if self.world_size > 1:
            distributed.average_gradients(parameters)
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.train.clip)
        if len(self.optimizer.param_groups) > 1:  # a fine-tuned encoder warms up step by step
            set_learning_rate(self.optimizer, self.config.train, self.epoch, self.config.model.transformer,
                              self.steps)
        self.optimizer.step()
        self.steps += 1
        if self.average is not None:
            self.average.update(self.steps)

    def diagnose(self, epoch_batches: dict[str, list]) -> dict:
        """Each task's gradient on a batch of its own (the one at this step's position in its epoch), and the
        cosines between them: :func:`~hierarchy.strategies.diagnostics.interference`."""
        parameters = [p for p in self.model.parameters() if p.requires_grad]
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices):  # dropout here must not move the training's random stream
            losses = {t: self.task_loss(t, b[self.steps % len(b)].to(self.device)) for t, b in epoch_batches.items()}
            return interference(gradients(losses, parameters))

    def write_reports(self, state: dict) -> None:
        history = state["history"]
        with atomic_write(self.output / "log.jsonl") as f:
            f.writelines(json.dumps(line) + "\n" for line in history)
        save_json(
            {"best_epoch": state["best_epoch"], "dev": state.get("best_dev", {}), "epochs": state["epoch"],
             "best_weights": state.get("best_weights", "raw"),
             "train_seconds": state["seconds"], "train_words_per_second": state["words"] / max(state["seconds"], 1e-9),
             "device": str(self.device), "hardware": machine(self.device), **self.sampler.summary(),
             **self.weighting.summary()},
            self.output / "metrics.json",
        )
        plot_history(history, self.output / "dev-scores.png", state["best_epoch"])
        plot_weights(history, self.output / "weights.png")
        plot_mix(history, self.output / "mix.png")


def machine(device) -> dict:
    """What trained: the CPU's model name, its cores, torch's threads, and the GPU's name on CUDA."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    out = {"cpu": cpu, "cores": os.cpu_count(), "threads": torch.get_num_threads()}
    if device.type == "cuda":
        out["gpu"] = torch.cuda.get_device_name(device)
    return out


def size(items) -> str:
    """``12,543 sentences / 204,585 words`` (``4,500 pairs / 86,000 words``, ``30 documents / 28,119 words``)."""
    sentences = list(sentences_of(items))
    unit = "sentences" if sentences[0] is items[0] else "documents" if hasattr(items[0], "offsets") else "pairs"
    return f"{len(items):,} {unit} / {sum(len(s) for s in sentences):,} words"


def dev_cells(task: str, metrics: dict) -> list[str]:
    """A task's dev scores, each metric's main numbers: ``upos 95.09``, ``xpos 94.34`` (pos), ``uas 85.89``,
    ``las 82.44`` (deps), ``f1 94.33`` (chunks)..."""
    cells = []
    for name, values in metrics.items():
        keys = main_keys(values)
        label = (lambda k: k) if name == task else (lambda k: name if len(keys) == 1 else f"{name} {k}")
        cells += [f"{label(k)} {values[k]:.2f}" for k in keys]
    return cells


def task_score(task: str, metrics: dict) -> float:
    """The dev score of ``task`` that model selection reads, in percent (its spec's ``score``: UPOS accuracy,
    chunk F1, LAS, labeled argument F1, Pearson's r...)."""
    return 100 * TASKS[task].score(metrics)


def regularization(lower: dict, anchor: dict) -> torch.Tensor:
    """``sum ||theta - theta'||^2`` over the lower parameters."""
    return sum(((p - anchor[name]) ** 2).sum() for name, p in lower.items())


FIRST_EPOCH_FILES = {"config.toml", "vocab.json", "weights.safetensors"}  # written before the first checkpoint


def check_output(output: Path, resume: bool, force: bool) -> None:
    """Refuse to write into a non-empty directory unless asked; resuming needs a checkpoint. A run killed before
    its first epoch was complete (no checkpoint, no log.jsonl: at most the model files of that epoch) leaves a
    directory that a plain re-run takes."""
    found = {p.name for p in output.iterdir() if not p.name.endswith(".tmp") and p.name != LOCK} \
        if output.is_dir() else set()
    interrupted = found <= FIRST_EPOCH_FILES  # empty, or what the first epoch wrote before its checkpoint
    if resume:
        if not (output / CHECKPOINT).is_file():
            hint = " (the first epoch did not finish: run again without --resume)" if interrupted else ""
            raise ConfigError(f"{output}: no {CHECKPOINT} to resume from{hint}")
    elif not force and not interrupted:
        raise ConfigError(f"{output}: already exists; pass --resume to continue training or --force to overwrite")
