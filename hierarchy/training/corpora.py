"""Read every task's training and dev corpus, as its spec says."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from hierarchy.core.config import Config
from hierarchy.io import Sentence
from hierarchy.io.documents import Document, with_context
from hierarchy.io.errors import CorpusError
from hierarchy.tasks import TASKS


def load_corpora(config: Config) -> tuple[dict, dict]:
    """Read every task's train and dev corpus with its spec's reader (a file that tasks with the same reader share
    is read once): ``({task: items}, {task: items})``, items being sentences or, for pair tasks, pairs. A task
    without a dev file holds out the last ``data.holdout`` training items when that is set."""
    cache, train, dev = {}, {}, {}
    data = config.data
    for task in config.tasks():
        spec = TASKS[task]
        key = spec.data_key
        for split, name in ((train, key), (dev, f"{key}_dev")):
            path = getattr(data, name)
            if not path:
                continue
            if not Path(path).is_absolute() and not Path(path).exists():
                raise CorpusError(path, None, f"file not found (data.{name}: a relative path is read from the working "
                                              f"directory, {Path.cwd()}, not from the recipe's folder)")
            if (spec.read, path) not in cache:
                cache[spec.read, path] = spec.read(path, data)
            split[task] = cache[spec.read, path]
            if not any(spec.carries(item) for item in split[task]):
                raise CorpusError(path, None, f"no {spec.unit} carries {spec.fields[0]} annotation, needed by task "
                                              f"'{task}'")
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


def in_context(train: dict, dev: dict, n: int) -> tuple[dict, dict]:
    """The corpora with each sentence read beside up to ``n`` words of its document's neighbours on each side
    (:func:`~hierarchy.io.documents.with_context`; a document's sentences within it); sentence pairs as they are.
    Corpora that tasks share stay shared."""
    done = {}

    def convert(items):
        if id(items) not in done:
            if items and isinstance(items[0], Document):
                done[id(items)] = [replace(d, sentences=with_context(d.sentences, n)) for d in items]
            elif items and isinstance(items[0], Sentence):
                done[id(items)] = with_context(items, n)
            else:
                done[id(items)] = items
        return done[id(items)]

    return {t: convert(items) for t, items in train.items()}, {t: convert(items) for t, items in dev.items()}
