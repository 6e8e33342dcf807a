"""Samplers: which task(s) the next training step trains. A sampler turns each task's batches of an epoch into a
sequence of :class:`Step` objects; its state goes into the checkpoint so ``--resume`` continues exactly. Chosen by
``train.sampling``:

- ``schedule``: JMT's, the tasks bottom-up, each over all its batches;
- ``joint``: a batch of every task every step;
- ``proportional``, ``temperature``, ``annealed``, ``uniform``: each step trains one task drawn with probability
  ``p_t ∝ n_t ** a`` (``n_t``: its batches this epoch): ``a = 1`` (MT-DNN), ``a = 1 / T``, ``a`` moving from 1 to
  ``1 / T`` over training, ``a = 0``;
- ``autosem``: AutoSeM's Thompson-sampling bandit picks the task of each round of steps (:class:`AutoSemSampler`).

Every sampler but ``joint`` gives an epoch as many steps as the tasks have batches together, each a batch of one
task: the training budget of JMT's schedule.
"""
from __future__ import annotations

from dataclasses import dataclass

from hierarchy.strategies.strategy import Strategy


@dataclass
class Step:
    """One optimizer step: a batch of each of ``tasks`` (``batches[k]`` for ``tasks[k]``). ``phase`` numbers the
    runs of steps within an epoch that train the same task: successive regularization anchors the lower layers
    where they were when a phase began."""

    tasks: list[str]
    batches: list
    phase: int = 0


class Sampler(Strategy):
    """``steps(batches, rng)`` yields the epoch's steps from ``{task: [batch, ...]}`` (tasks bottom first), lazily:
    a sampler may look at the model between steps (AutoSeM's rounds). ``phases``: its one-task steps come in runs
    of the same task long enough for successive regularization to anchor the layers below at each run's start
    (a sampler that draws a task every step has none)."""

    phases = True

    def steps(self, batches: dict[str, list], rng):
        raise NotImplementedError

    def n_steps(self, batches: dict[str, list]) -> int:
        return sum(len(b) for b in batches.values())


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
        for i in range(self.n_steps(batches)):
            yield Step(list(self.tasks), [batches[t][i % len(batches[t])] for t in self.tasks])

    def n_steps(self, batches):
        return max(len(b) for b in batches.values())


def one_task_steps(batches: dict[str, list], choose, n_steps: int, taken: dict | None = None):
    """``n_steps`` steps of one task each, ``choose()`` naming the task of each; a task's batches are taken in
    order (cycling; ``taken`` counts those taken so far, by task); a phase is a run of steps of the same task."""
    taken = dict.fromkeys(batches, 0) if taken is None else taken
    phase, previous = -1, None
    for _ in range(n_steps):
        task = choose()
        batch = batches[task][taken[task] % len(batches[task])]
        taken[task] += 1
        if task != previous:
            phase, previous = phase + 1, task
        yield Step([task], [batch], phase)


class PowerSampler(Sampler):
    """Each step draws one task with probability ``p_t ∝ n_t ** exponent()``."""

    phases = False

    def exponent(self) -> float:
        raise NotImplementedError

    def probabilities(self, sizes: dict[str, int]) -> dict[str, float]:
        """``{task: p_t}`` for tasks with ``sizes[task]`` batches.

        >>> from types import SimpleNamespace
        >>> ProportionalSampler(["a", "b"], SimpleNamespace()).probabilities({"a": 3, "b": 1})
        {'a': 0.75, 'b': 0.25}
        """
        a = self.exponent()
        weights = {t: sizes[t] ** a for t in self.tasks if sizes[t]}
        return {t: w / sum(weights.values()) for t, w in weights.items()}

    def steps(self, batches, rng):
        p = self.probabilities({t: len(b) for t, b in batches.items()})
        tasks = list(p)
        yield from one_task_steps(batches, lambda: rng.choices(tasks, weights=[p[t] for t in tasks])[0],
                                  self.n_steps(batches))


class ProportionalSampler(PowerSampler):
    def exponent(self):
        return 1.0


class TemperatureSampler(PowerSampler):
    def exponent(self):
        return 1.0 / self.config.temperature


class AnnealedSampler(PowerSampler):
    """The exponent moves linearly from 1 (epoch 1) to ``1 / T`` (the last epoch)."""

    def exponent(self):
        progress = (self.epoch - 1) / max(self.config.epochs - 1, 1)
        return 1.0 - (1.0 - 1.0 / self.config.temperature) * min(progress, 1.0)


class UniformSampler(PowerSampler):
    def exponent(self):
        return 0.0


class AutoSemSampler(Sampler):
    """AutoSeM's first stage (Guo, Pasunuru & Bansal 2019): each task is an arm with a Beta(α, β) posterior
    (prior Beta(1, 1)); each round, Thompson sampling picks the task of the next ``train.autosem_steps`` steps; the
    reward is 1 when the primary task's dev score (``evaluate()``, set by the trainer) went up over the round.
    Then every arm decays toward the prior, ``α <- (1 - γ) α + γ``, ``β`` alike (``γ = train.autosem_decay``, the
    non-stationary bandit of the paper), and the chosen arm gets ``α += r``, ``β += 1 - r``. The mixing ratio it
    implies is each arm's mean ``α / (α + β)``, normalised."""

    def __init__(self, tasks, config):
        super().__init__(tasks, config)
        self.alpha, self.beta = [1.0] * len(tasks), [1.0] * len(tasks)
        self.last: float | None = None  # the primary task's dev score when the round began
        self.rounds: list[dict] = []  # this epoch's rounds, for log.jsonl
        self.evaluate = None  # () -> the primary task's dev score (percent)

    def choose(self, rng) -> int:
        samples = [rng.betavariate(a, b) for a, b in zip(self.alpha, self.beta)]
        return max(range(len(samples)), key=lambda k: samples[k])

    def reward(self, arm: int, reward: int) -> None:
        gamma = self.config.autosem_decay
        self.alpha = [(1 - gamma) * a + gamma for a in self.alpha]
        self.beta = [(1 - gamma) * b + gamma for b in self.beta]
        self.alpha[arm] += reward
        self.beta[arm] += 1 - reward

    def steps(self, batches, rng):
        total, done, taken = self.n_steps(batches), 0, dict.fromkeys(batches, 0)
        if self.last is None:
            self.last = self.evaluate()
        while done < total:
            arm = self.choose(rng)
            n = min(self.config.autosem_steps, total - done)
            for step in one_task_steps(batches, lambda task=self.tasks[arm]: task, n, taken):
                yield Step(step.tasks, step.batches, len(self.rounds))  # a round is a phase
            done += n
            score = self.evaluate()
            reward = int(score > self.last)
            self.reward(arm, reward)
            self.rounds.append({"task": self.tasks[arm], "score": score, "reward": reward,
                                "alpha": list(self.alpha), "beta": list(self.beta)})
            self.last = score

    def mixing_ratio(self) -> dict[str, float]:
        means = [a / (a + b) for a, b in zip(self.alpha, self.beta)]
        return {t: m / sum(means) for t, m in zip(self.tasks, means)}

    def log(self):
        rounds, self.rounds = self.rounds, []
        return {"rounds": rounds, "mixing_ratio": self.mixing_ratio()}

    def summary(self):
        return {"mixing_ratio": self.mixing_ratio()}

    def state_dict(self):
        return {"alpha": self.alpha, "beta": self.beta, "last": self.last}

    def load_state_dict(self, state):
        self.alpha = state.get("alpha", self.alpha)
        self.beta = state.get("beta", self.beta)
        self.last = state.get("last", self.last)


SAMPLERS = {"schedule": ScheduleSampler, "joint": JointSampler, "proportional": ProportionalSampler,
            "temperature": TemperatureSampler, "annealed": AnnealedSampler, "uniform": UniformSampler,
            "autosem": AutoSemSampler}
