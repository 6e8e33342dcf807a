"""Samplers: which task(s) the next training step trains. A sampler turns each task's batches of an epoch into a
sequence of :class:`Step` objects; its state (none for these two) goes into the checkpoint so ``--resume`` continues
exactly. Chosen by ``train.sampling``."""
from __future__ import annotations

from dataclasses import dataclass

from .strategy import Strategy


@dataclass
class Step:
    """One optimizer step: a batch of each of ``tasks`` (``batches[k]`` for ``tasks[k]``). ``phase`` numbers the
    runs of steps within an epoch that train the same task: successive regularization anchors the lower layers
    where they were when a phase began."""

    tasks: list[str]
    batches: list
    phase: int = 0


class Sampler(Strategy):
    """``steps(batches, rng)`` yields the epoch's steps from ``{task: [batch, ...]}`` (tasks bottom first)."""

    def steps(self, batches: dict[str, list], rng):
        raise NotImplementedError


class ScheduleSampler(Sampler):
    """JMT's schedule: the tasks bottom-up, each over all its batches, one task per step (one phase per task)."""

    def steps(self, batches, rng):
        for phase, task in enumerate(self.tasks):
            for batch in batches[task]:
                yield Step([task], [batch], phase)


class JointSampler(Sampler):
    """Every step trains a batch of every task; an epoch has as many steps as the largest task has batches (the
    smaller tasks' batches cycle)."""

    def steps(self, batches, rng):
        n_steps = max(len(b) for b in batches.values())
        for i in range(n_steps):
            yield Step(list(self.tasks), [batches[t][i % len(batches[t])] for t in self.tasks])


SAMPLERS = {"schedule": ScheduleSampler, "joint": JointSampler}
