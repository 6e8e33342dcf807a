"""The typed configuration tree: TOML in and out, command-line overrides, unknown keys are errors.

A recipe (``models/jmt.toml``) has four parts::

    format_version = 1
    [data]          paths of the training and dev corpora, one pair per task
    [model]         embedding sizes, dropout, and ``[[model.layers]]``: the stack, bottom first
    [train]         the schedule, optimiser, batching, device

Overrides from the command line name a dotted key: ``--data.pos=train.conllu --train.epochs=3``.
"""
from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

from hierarchy.core.ranges import AT_LEAST_0, AT_LEAST_1, FRACTION, POSITIVE, SCORE, Range, bounded
from hierarchy.core.validation import validate
from hierarchy.io.errors import ConfigError, unknown_key
from hierarchy.io.fileio import atomic_write, read_text
from hierarchy.tasks import TASKS

FORMAT_VERSION = 2  # 2: a model directory always has its manifest.json (1: recipes and models before)
FORMAT_VERSIONS = (1, 2)  # what is read


class DataConfig:
    """``[data]``: a training corpus and a dev corpus per task (keys from the task specs: ``pos``, ``pos_dev``,
    ``chunks``...; tasks declaring the same key share the corpus; empty means not trained), the options the tasks
    declare (e.g. ``srl_format``), and how to read. Keys are attributes: ``config.data.pos``. An unknown key is an
    error that names it."""

    SETTINGS = {  # key: (default, range)
        "max_sentences": (0, AT_LEAST_0),  # read at most this many sentences (or pairs) per file (0: all); quick runs
        "skip_bad": (False, None),  # skip malformed sentences with a warning instead of stopping
        "holdout": (0, AT_LEAST_0),  # a task without a dev file holds out the last N training sentences as its dev set
    }

    def __init__(self, **values):
        object.__setattr__(self, "values", {})
        for key, value in values.items():
            setattr(self, key, value)

    @staticmethod
    def defaults() -> dict:
        """Every key with its default: the corpora of every registered task, their options, the settings."""
        keys = {}
        for spec in TASKS.values():
            keys.update({spec.data_key: "", f"{spec.data_key}_dev": ""})
            keys.update({name: allowed[0] for name, allowed in spec.options.items()})
        return keys | {key: default for key, (default, _) in DataConfig.SETTINGS.items()}

    def __getattr__(self, key):
        if key == "values":
            raise AttributeError(key)
        defaults = self.defaults()
        if key not in defaults:
            raise AttributeError(f"unknown config key 'data.{key}'")
        return self.values.get(key, defaults[key])

    def __setattr__(self, key, value):
        defaults = self.defaults()
        if key not in defaults:
            raise ConfigError(unknown_key(f"data.{key}", defaults, "data."))
        self.values[key] = value

    def __eq__(self, other):
        return isinstance(other, DataConfig) and self.to_dict() == other.to_dict()

    def __repr__(self):
        return f"DataConfig({', '.join(f'{k}={v!r}' for k, v in self.values.items())})"

    def to_dict(self) -> dict:
        return self.defaults() | self.values

    @classmethod
    def from_table(cls, table: dict, where: str, prefix: str = "data.") -> DataConfig:
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: '{prefix.rstrip('.')}' must be a table")
        data, defaults = cls(), cls.defaults()
        for key, value in table.items():
            if key not in defaults:
                raise ConfigError(f"{where}: {unknown_key(prefix + key, defaults, prefix)}")
            setattr(data, key, _convert(type(defaults[key]), value, where, prefix + key))
        return data


@dataclass
class LayerConfig:
    """One depth of the stack: an encoder and the tasks that read its states."""

    encoder: str = "bilstm"  # "bilstm" or "attention" (a self-attention block with sinusoidal positions)
    size: int = bounded(128, AT_LEAST_1)  # BiLSTM: hidden units per direction; attention: the model size (a multiple of heads)
    tasks: list[str] = field(default_factory=list)
    heads: int = bounded(4, AT_LEAST_1)  # attention heads (attention layers only)
    syntax_head: bool = False  # LISA: head 0 of this attention layer gives the arcs of a task here that takes arcs
    mix: bool = False  # the tasks here read a learned mix of this layer and all below (sluice network), not only it
    pair_inputs: bool = False  # sentence-pair tasks here: also compare each sentence's mean word input
    dropout: float | None = bounded(None, FRACTION)  # this encoder's and its tasks' heads' (unset: model.dropout)
    word_dropout: float | None = bounded(None, FRACTION)  # the batches of this layer's tasks (unset: model.word_dropout)
    head_dropout: dict[str, float] = bounded(dict, FRACTION)  # per task of this layer: its head's, instead of dropout


@dataclass
class TransformerConfig:
    """``[model.transformer]``: a pretrained transformer beneath the hierarchy (see modules/transformer.py)."""

    path: str = ""  # a local Hugging Face model directory (config.json, weights, tokenizer); empty: none
    pooling: str = "first"  # a word's vector from its subword pieces: "first" or "mean"
    freeze: bool = True  # true: features computed once per corpus (cached on disk); false: fine-tuned
    tune_layers: int = bounded(0, AT_LEAST_0)  # fine-tune only the top N layers (and the mix) over cached states below
    context: int = bounded(0, AT_LEAST_0)  # read each sentence with up to N words of its document's neighbours a side
    lr: float = bounded(5e-5, POSITIVE)  # fine-tuning: the encoder's learning rate (then decays with train.lr_decay)
    warmup: int = bounded(1000, AT_LEAST_0)  # fine-tuning: steps over which the encoder's learning rate rises linearly from 0


@dataclass
class ModelConfig:
    lang: str = "en"  # the spaCy language whose tokenizer and sentence splitter read raw text ("de", "fr"...)
    word_dim: int = bounded(100, AT_LEAST_1)
    chars: str = "cnn"  # character features: "cnn", "lstm" or "none"
    char_dim: int = bounded(32, AT_LEAST_1)
    char_size: int = bounded(100, AT_LEAST_1)  # CNN filters, or LSTM units per direction
    min_freq: int = bounded(2, AT_LEAST_1)  # rarer training words share the unknown-word vector
    label_dim: int = bounded(32, AT_LEAST_1)  # label embeddings passed upward
    mlp_dim: int = bounded(128, AT_LEAST_1)  # hidden size of the tagging and chunking classifiers
    arc_dim: int = bounded(256, AT_LEAST_1)  # biaffine arc representation
    rel_dim: int = bounded(64, AT_LEAST_1)  # bilinear label representation
    span_width: int = bounded(20, AT_LEAST_1)  # span tasks (coref): the longest candidate span, in words
    span_ratio: float = bounded(0.4, POSITIVE)  # span tasks: candidates kept per word of a document
    antecedents: int = bounded(50, AT_LEAST_1)  # coref: the best earlier kept spans a span scores as antecedents
    match_antecedents: int = bounded(20, AT_LEAST_0)  # coref: of them, the best with the same last word, always
    speakers: bool = False  # coref: pairs read whether their sentences' # speaker / # addressee comments match
    link_threshold: float = bounded(0.0, SCORE)  # coref: a span links to its best antecedent scoring above this
    cluster_typing: float = bounded(0.0, FRACTION)  # coref: mentions take the type of a cluster this confident (0: off)
    dropout: float = bounded(0.33, FRACTION)  # on the embeddings, and in each layer that sets none of its own
    word_dropout: float = bounded(0.1, FRACTION)  # replace a training word by the unknown word with this probability
    vectors: str = ""  # static word vectors (GloVe / word2vec text, .npy + word list, or a directory): see vectors.py
    vectors_top: int = bounded(20000, AT_LEAST_0)  # besides the corpora's words, keep the vectors of the file's N most frequent words
    vectors_trainable: bool = False  # fine-tune the vectors (default: frozen; a learned projection adapts them)
    transformer: TransformerConfig = field(default_factory=TransformerConfig)
    layers: list[LayerConfig] = field(default_factory=list)  # [[model.layers]] in a recipe, bottom first

    def layer_dropout(self, k: int, task: str = "") -> float:
        """The dropout of layer ``k``'s encoder, or of ``task``'s head there: the layer's ``head_dropout``, else its
        ``dropout``, else ``model.dropout``."""
        layer = self.layers[k]
        return layer.head_dropout.get(task, self.dropout if layer.dropout is None else layer.dropout)

    def layer_word_dropout(self, k: int) -> float:
        """The word dropout of a batch that trains a task of layer ``k``: its own, else ``model.word_dropout``."""
        own = self.layers[k].word_dropout
        return self.word_dropout if own is None else own


@dataclass
class TrainConfig:
    sampling: str = "schedule"  # which task(s) train each step: "schedule" (JMT, bottom-up per task), "joint",
    # "proportional", "temperature", "annealed", "uniform" or "autosem" (see strategies/samplers.py)
    weighting: str = "static"  # how a step's losses combine: "static", "uncertainty", "dtp" or "pcgrad"
    temperature: float = bounded(2.0, POSITIVE)  # temperature / annealed sampling: p_t ∝ n_t ** (1 / T)
    autosem_steps: int = bounded(100, AT_LEAST_1)  # autosem: steps per bandit round
    autosem_decay: float = bounded(0.3, Range(0, 1))  # autosem: how far the arms decay toward the prior each round
    primary: str = ""  # autosem: the task whose dev score is the reward (default: the top task)
    dtp_gamma: float = bounded(1.0, AT_LEAST_0)  # dtp: the focusing exponent
    dtp_smoothing: float = bounded(0.5, Range(0, 1, open_low=True))  # dtp: the KPI's moving-average weight of the newest epoch
    diagnose_every: int = bounded(0, AT_LEAST_0)  # every N steps, log the tasks' gradient cosines and norms (0: never)
    epochs: int = bounded(30, AT_LEAST_1)
    patience: int = bounded(5, AT_LEAST_1)  # stop after this many epochs without a better dev score
    batch_tokens: int = bounded(2000, AT_LEAST_1)  # length-bucketed batches of about this many words
    task_batch_tokens: dict[str, float] = bounded(dict, AT_LEAST_1)  # per task, instead of batch_tokens
    task_repeats: dict[str, int] = bounded(dict, AT_LEAST_1)  # per task, its batches this many times an epoch (1)
    lr: float = bounded(2e-3, POSITIVE)
    lr_decay: float = bounded(1.0, Range(0, 1, open_low=True))  # epoch k trains at lr * lr_decay ** (k - 1); 1 keeps it constant
    delta: float = bounded(1e-2, AT_LEAST_0)  # successive regularization strength; 0 turns it off
    clip: float = bounded(5.0, POSITIVE)
    ema: float = bounded(0.0, FRACTION)  # the decay of an exponential moving average of the weights (0: none; 0.999...)
    ema_start: int = bounded(0, AT_LEAST_0)  # optimizer steps after which the average starts (before: the weights)
    weights: dict[str, float] = bounded(dict, AT_LEAST_0)  # static weighting: loss weight per task (default 1)
    score_weights: dict[str, float] = bounded(dict, AT_LEAST_0)  # model selection: instead of the tasks' own
    seed: int = bounded(1, AT_LEAST_0)
    device: str = "auto"  # "auto", "cpu" or "cuda"
    precision: str = "auto"  # "auto" (bf16 autocast on CUDA), "bf16" (also on a CPU with AMX / AVX512-BF16), "fp32"
    threads: int = bounded(0, AT_LEAST_0)  # CPU threads for torch (0: torch's default); small models train fastest on 1
    output: str = ""  # model directory; empty: the recipe's path without ".toml"
    feature_cache: str = "~/.cache/hierarchy/features"  # a frozen transformer's features per corpus; "": none


@dataclass
class Config:
    format_version: int = FORMAT_VERSION
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def tasks(self) -> list[str]:
        """The tasks of the stack, bottom first."""
        return [task for layer in self.model.layers for task in layer.tasks]

    def validate(self, where: str) -> None:
        """A :class:`~hierarchy.io.errors.ConfigError` naming ``where`` for the first thing wrong with the recipe
        (:func:`hierarchy.core.validation.validate`)."""
        validate(self, where)


def _build(cls, table: dict, where: str, prefix: str = ""):
    """Build dataclass ``cls`` from a TOML table, rejecting unknown keys and wrong types."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: '{prefix.rstrip('.')}' must be a table")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    values = {}
    for key, value in table.items():
        if key not in names:
            raise ConfigError(f"{where}: {unknown_key(prefix + key, names, prefix)}")
        values[key] = _convert(hints[key], value, where, prefix + key)
    return cls(**values)


def _convert(hint, value, where: str, key: str):
    if isinstance(hint, types.UnionType):  # ``float | None``: a key whose absence means "the global value"
        (hint,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    if hint is DataConfig:
        return DataConfig.from_table(value, where, key + ".")
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, where, key + ".")
    origin = typing.get_origin(hint)
    if origin is list:
        (item,) = typing.get_args(hint)
        if not isinstance(value, list):
            raise ConfigError(f"{where}: '{key}' must be a list")
        return [_convert(item, v, where, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: '{key}' must be a table")
        (_, item) = typing.get_args(hint)
        return {k: _convert(item, v, where, f"{key}.{k}") for k, v in value.items()}
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise ConfigError(f"{where}: '{key}' must be {hint.__name__}, not {value!r}")
    return value


def read_config(path, expected: str = "a TOML recipe") -> Config:
    """Read a TOML file into a Config; a missing or invalid file is an error naming it and ``expected``."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{path}: is a directory (expected {expected})")
    if not path.is_file():
        raise ConfigError(f"{path}: file not found (expected {expected})")
    try:
        table = tomllib.loads(read_text(path, expected))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    return from_dict(table, str(path))


def load_config(path, overrides: list[str] = ()) -> Config:
    """Read a recipe and apply ``key=value`` overrides such as ``train.epochs=3``."""
    config = read_config(path)
    for override in overrides:
        apply_override(config, override)
    config.validate(str(path))
    return config


def from_dict(table: dict, where: str) -> Config:
    version = table.get("format_version", FORMAT_VERSION)
    if version not in FORMAT_VERSIONS:
        raise ConfigError(f"{where}: format_version {version} is not supported (expected "
                          f"{' or '.join(map(str, FORMAT_VERSIONS))})")
    train = table.get("train")
    if isinstance(train, dict) and "mode" in train:  # the name of train.sampling in recipes and models before it
        table = {**table, "train": {("sampling" if k == "mode" else k): v for k, v in train.items()}}
    return _build(Config, table, where)


def apply_override(config: Config, override: str) -> None:
    """Set one dotted key from a ``key=value`` string; the value is parsed as TOML, else taken as a string. A table
    of an array is named by its index: ``model.layers.2.dropout=0.2``."""
    key, sep, text = override.partition("=")
    if not sep:
        raise ConfigError(f"command line: override '{override}' must look like key=value")
    *parents, name = key.split(".")
    node, prefix = config, ""
    for part in parents:
        if isinstance(node, list):  # a table of an array, by its index from 0: model.layers.2.dropout
            if not part.isdigit() or int(part) >= len(node):
                raise ConfigError(f"command line: '{key}': {prefix.rstrip('.')} has {len(node)} tables, "
                                  f"numbered from 0 (got '{part}')")
            node, prefix = node[int(part)], f"{prefix}{part}."
            continue
        if not dataclasses.is_dataclass(node) or not hasattr(node, part):
            known = [f.name for f in dataclasses.fields(node)] if dataclasses.is_dataclass(node) else []
            raise ConfigError(f"command line: {unknown_key(key, known, prefix)}")
        node, prefix = getattr(node, part), f"{prefix}{part}."
    if isinstance(node, DataConfig):
        defaults = node.defaults()
        if name not in defaults:
            raise ConfigError(f"command line: {unknown_key(key, defaults, prefix)}")
        hint = type(defaults[name])
    elif not dataclasses.is_dataclass(node) or name not in {f.name for f in dataclasses.fields(node)}:
        known = [f.name for f in dataclasses.fields(node)] if dataclasses.is_dataclass(node) else []
        raise ConfigError(f"command line: {unknown_key(key, known, prefix)}")
    else:
        hint = typing.get_type_hints(type(node))[name]
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        value = text
    if hint is str and not isinstance(value, str):
        value = text
    setattr(node, name, _convert(hint, value, "command line", key))


def to_dict(config: Config) -> dict:
    """The recipe as TOML tables; a layer's unset keys (None: TOML has no null; an empty head_dropout) are left out,
    so a model that sets none reads as before."""
    model = dataclasses.asdict(config.model)
    model["layers"] = [{k: v for k, v in layer.items() if v is not None and v != {}} for layer in model["layers"]]
    return {"format_version": config.format_version, "data": config.data.to_dict(), "model": model,
            "train": dataclasses.asdict(config.train)}


def save_config(config: Config, path) -> None:
    with atomic_write(path, "wb") as f:
        tomli_w.dump(to_dict(config), f)
