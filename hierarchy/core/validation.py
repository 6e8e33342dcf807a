"""The checks of a recipe beyond each key's type (:mod:`hierarchy.core.config` reads those): numeric ranges, known
names, tasks in an order that feeds each what it reads, and keys that only make sense together."""
from __future__ import annotations

from hierarchy.core.ranges import numeric_values
from hierarchy.io.errors import ConfigError
from hierarchy.io.fileio import spacy_language
from hierarchy.strategies import SAMPLERS, WEIGHTINGS
from hierarchy.tasks import TASKS

PRECISIONS = ("auto", "bf16", "fp32")  # train.precision, and annotation's (see core.predict.autocast)


def validate(config, where: str) -> None:
    """A :class:`~hierarchy.io.errors.ConfigError` naming ``where`` for the first thing wrong with ``config`` (a
    :class:`~hierarchy.core.config.Config`)."""
    tasks, seen = TASKS, config.tasks()
    if not seen:
        raise ConfigError(f"{where}: no task in model.layers (expected [[model.layers]] tables with tasks = [...])")
    for _, name, value, limit in numeric_values(config):
        if limit is not None and not limit.holds(value):
            raise ConfigError(f"{where}: {name} must be {limit.describe()}, not {value}")
    for task in seen:
        if task not in tasks:
            raise ConfigError(f"{where}: unknown task '{task}' in model.layers "
                              f"(expected one of {', '.join(tasks)})")
    if len(set(seen)) != len(seen):
        raise ConfigError(f"{where}: a task appears in more than one layer: {seen}")
    depth = {task: k for k, layer in enumerate(config.model.layers) for task in layer.tasks}
    pairs = [t for t in seen if tasks[t].unit == "pair"]
    for task in seen:
        if pairs and tasks[task].unit != "pair" and depth[task] >= min(depth[t] for t in pairs):
            # a pair batch has no token annotations to pass upward
            raise ConfigError(f"{where}: task '{task}' sits at or above a sentence-pair task "
                              f"({', '.join(pairs)} must be the highest layers)")
        for need in tasks[task].needs:
            if need in depth and depth[need] >= depth[task]:
                raise ConfigError(f"{where}: task '{need}' must sit in a layer below '{task}' (what it "
                                  f"predicts feeds '{task}')")
    for k, layer in enumerate(config.model.layers):
        if layer.encoder not in ("bilstm", "attention"):
            raise ConfigError(f"{where}: unknown encoder '{layer.encoder}' (expected 'bilstm' or 'attention')")
        if layer.encoder == "attention" and layer.heads >= 1 and layer.size % layer.heads:
            raise ConfigError(f"{where}: model.layers[{k}]: size {layer.size} must be a multiple of heads "
                              f"{layer.heads} (at least 1)")
        takes_arcs = [t for t in layer.tasks if t in tasks and tasks[t].arcs]
        if layer.syntax_head and (layer.encoder != "attention" or not takes_arcs):
            raise ConfigError(f"{where}: model.layers[{k}]: syntax_head needs encoder = \"attention\" and a "
                              f"task that takes arcs ({', '.join(t for t in tasks if tasks[t].arcs)}) in the same "
                              "layer (its arcs are that head's attention)")
        for task in layer.head_dropout:
            if task not in layer.tasks:
                raise ConfigError(f"{where}: model.layers[{k}].head_dropout names task '{task}', which is not in "
                                  f"this layer (expected one of {', '.join(layer.tasks)})")
        if layer.pair_inputs and not any(t in tasks and tasks[t].unit == "pair" for t in layer.tasks):
            raise ConfigError(f"{where}: model.layers[{k}]: pair_inputs needs a sentence-pair task in the layer")
    for task in seen:
        for name, allowed in tasks[task].options.items():
            if getattr(config.data, name) not in allowed:
                raise ConfigError(f"{where}: data.{name} must be "
                                  f"{' or '.join(repr(a) for a in allowed)}, not '{getattr(config.data, name)}'")
    transformer = config.model.transformer
    if transformer.context and not transformer.path:
        raise ConfigError(f"{where}: model.transformer.context needs a transformer (model.transformer.path names none)")
    if transformer.pooling not in ("first", "mean"):
        raise ConfigError(f"{where}: model.transformer.pooling must be 'first' or 'mean', not "
                          f"'{transformer.pooling}'")
    if transformer.tune_layers and not transformer.freeze:
        raise ConfigError(f"{where}: model.transformer.tune_layers = {transformer.tune_layers} tunes the top layers "
                          "only, freeze = false the whole encoder; set one of them")
    if not spacy_language(config.model.lang):
        raise ConfigError(f"{where}: model.lang '{config.model.lang}' is not a language spaCy has (expected a code "
                          "such as 'en', 'de' or 'fr': a folder of spacy/lang)")
    if config.model.chars not in ("cnn", "lstm", "none"):
        raise ConfigError(f"{where}: model.chars must be 'cnn', 'lstm' or 'none', not '{config.model.chars}'")
    for key, known in (("sampling", SAMPLERS), ("weighting", WEIGHTINGS)):
        if getattr(config.train, key) not in known:
            raise ConfigError(f"{where}: train.{key} must be one of {', '.join(known)}, "
                              f"not '{getattr(config.train, key)}'")
    if config.train.primary and config.train.primary not in seen:
        raise ConfigError(f"{where}: train.primary names task '{config.train.primary}', which is in no layer "
                          f"(expected one of {', '.join(seen)})")
    if config.train.weighting == "pcgrad" and config.train.sampling != "joint":
        raise ConfigError(f"{where}: train.weighting 'pcgrad' needs train.sampling = 'joint' (it projects the "
                          "gradients of the tasks of one step; other samplers train one task a step)")
    if config.train.device not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"{where}: train.device must be 'auto', 'cpu' or 'cuda', not '{config.train.device}'")
    if config.train.precision not in PRECISIONS:
        known = ", ".join(f"'{p}'" for p in PRECISIONS[:-1]) + f" or '{PRECISIONS[-1]}'"
        raise ConfigError(f"{where}: train.precision must be {known}, not '{config.train.precision}'")
    for key in ("weights", "task_batch_tokens", "task_repeats", "score_weights"):
        for task in getattr(config.train, key):
            if task not in seen:
                raise ConfigError(f"{where}: train.{key} names task '{task}', which is in no layer "
                                  f"(expected one of {', '.join(seen)})")
    for task in seen:
        if not getattr(config.data, tasks[task].data_key):
            raise ConfigError(f"{where}: task '{task}' has no training corpus: set data.{tasks[task].data_key}")
