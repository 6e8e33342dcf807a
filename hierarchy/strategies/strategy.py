"""What samplers and weightings share: the tasks they serve, the ``[train]`` config, a look at each epoch's dev
scores, and the state that goes into the checkpoint so ``--resume`` continues exactly."""
from __future__ import annotations


class Strategy:
    def __init__(self, tasks: list[str], config):
        self.tasks, self.config = tasks, config
        self.epoch = 1  # the epoch being trained (1-based), set by :meth:`begin`

    def begin(self, epoch: int) -> None:
        """An epoch starts (``train.epochs`` of them in all)."""
        self.epoch = epoch

    def update(self, dev_scores: dict[str, float]) -> None:
        """See the epoch's per-task dev scores (percent)."""

    def log(self) -> dict:
        """What to write into the epoch's line of log.jsonl (and clear)."""
        return {}

    def summary(self) -> dict:
        """What to write into metrics.json."""
        return {}

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass
