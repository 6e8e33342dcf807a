"""The recipe: TOML round trip, command-line overrides, and one clear error per mistake (naming the key and file)."""
import dataclasses
import re

import pytest
from conftest import ROOT, tiny_config

from hierarchy.core.config import (
    FORMAT_VERSION,
    Config,
    LayerConfig,
    apply_override,
    from_dict,
    load_config,
    save_config,
    to_dict,
)
from hierarchy.io.errors import ConfigError
from hierarchy.tasks import TASKS


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


def recipe(tmp_path, extra: str = "", version: int = FORMAT_VERSION, top: str = ""):
    """A minimal valid recipe (POS only, the corpus need not exist: configs are checked before corpora)."""
    return write(tmp_path / "recipe.toml", f"""format_version = {version}
{top}
[data]
pos = "train.conllu"
[[model.layers]]
size = 8
tasks = ["pos"]
{extra}""")


def test_toml_round_trip(tmp_path):
    config = tiny_config(sampling="joint", weights={"pos": 2.0, "deps": 0.5}, lr=0.02)
    config.data.skip_bad = True
    config.model.chars = "lstm"
    save_config(config, tmp_path / "config.toml")
    assert load_config(tmp_path / "config.toml") == config
    assert from_dict(to_dict(config), "here") == config
    save_config(tiny_config(), tmp_path / "default.toml")  # empty tables (train.weights) survive too
    assert load_config(tmp_path / "default.toml") == tiny_config()
    assert f"format_version = {FORMAT_VERSION}" in (tmp_path / "config.toml").read_text()


def test_defaults_are_valid_and_defaults_fill_missing_keys(tmp_path):
    config = load_config(recipe(tmp_path))
    assert config.train == Config().train
    assert config.model.layers == [LayerConfig(size=8, tasks=["pos"])]
    assert config.model.word_dim == Config().model.word_dim


def test_overrides(tmp_path):
    config = load_config(recipe(tmp_path), [
        "train.epochs=3", "data.pos=other/train.conllu", "train.lr=1", "data.skip_bad=true",
        "data.pos_dev=123", "train.sampling=joint", 'train.device="cpu"', "train.weights={pos = 2}",
    ])
    assert config.train.epochs == 3 and type(config.train.epochs) is int
    assert config.data.pos == "other/train.conllu"
    assert config.train.lr == 1.0 and type(config.train.lr) is float  # an int where a float is expected
    assert config.data.skip_bad is True
    assert config.data.pos_dev == "123"  # a string stays a string even when it looks like a number
    assert config.train.sampling == "joint" and config.train.device == "cpu"
    assert config.train.weights == {"pos": 2.0}


def test_later_override_wins():
    config = tiny_config()
    apply_override(config, "train.epochs=3")
    apply_override(config, "train.epochs=4")
    assert config.train.epochs == 4


def test_override_a_layer_by_its_index():
    config = tiny_config()
    apply_override(config, "model.layers.0.dropout=0.2")
    apply_override(config, "model.layers.1.size=6")
    assert config.model.layers[0].dropout == 0.2 and config.model.layers[1].dropout is None
    assert config.model.layers[1].size == 6


@pytest.mark.parametrize("key, match", [("model.layers.9.dropout", "has 3 tables, numbered from 0 .got '9'"),
                                        ("model.layers.x.dropout", "got 'x'"),
                                        ("model.layers.0.dropuot", "did you mean 'model.layers.0.dropout'")])
def test_bad_layer_override(key, match):
    with pytest.raises(ConfigError, match=match):
        apply_override(tiny_config(), f"{key}=0.2")


@pytest.mark.parametrize("key", ["train.epoch", "foo.bar", "train.epochs.x", "trainer.epochs", "data"])
def test_unknown_key_on_the_command_line(key):
    with pytest.raises(ConfigError) as e:
        apply_override(tiny_config(), f"{key}=1")
    assert f"'{key}'" in str(e.value) and "command line" in str(e.value)


@pytest.mark.parametrize("extra, key", [
    ("[train]\nepoch = 3", "train.epoch"),
    ("[trainer]\nepochs = 3", "trainer"),
    ("[model]\nword_dims = 3", "model.word_dims"),
    ("", "seed"),  # a top-level key
])
def test_unknown_key_in_the_file(tmp_path, extra, key):
    path = recipe(tmp_path, extra, top="" if extra else "seed = 3")
    with pytest.raises(ConfigError) as e:
        load_config(path)
    message = str(e.value)
    assert str(path) in message and f"'{key}'" in message and "unknown config key" in message


def test_unknown_key_in_a_layer(tmp_path):
    path = write(tmp_path / "r.toml", '[data]\npos = "x"\n[[model.layers]]\ntasks = ["pos"]\nsise = 8\n')
    with pytest.raises(ConfigError, match=r"unknown config key 'model\.layers\[0\]\.sise'") as e:
        load_config(path)
    assert str(path) in str(e.value)


@pytest.mark.parametrize("extra, key", [
    ('[train]\nepochs = "three"', "train.epochs"),
    ("[train]\nepochs = 2.5", "train.epochs"),
    ("[train]\nepochs = true", "train.epochs"),  # a bool is not an int
    ('[train]\nlr = "fast"', "train.lr"),
    ("[data]\nskip_bad = 1", None),  # duplicate [data] table: invalid TOML
    ('[model]\nchars = 3', "model.chars"),
    ("[train]\nweights = 3", "train.weights"),
    ('[train.weights]\npos = "high"', "train.weights.pos"),
    ("", "train"),  # top level: train = 3
])
def test_wrong_type(tmp_path, extra, key):
    path = recipe(tmp_path, extra, top="" if extra else "train = 3")
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert str(path) in str(e.value)
    if key is not None:
        assert f"'{key}'" in str(e.value)


@pytest.mark.parametrize("override, key", [
    ("train.epochs=three", "train.epochs"), ("train.epochs=true", "train.epochs"), ("train.lr=fast", "train.lr"),
    ("data.skip_bad=1", "data.skip_bad"), ("model.layers=3", "model.layers"),
    ("model.layers=[{size = 8, tasks = 3}]", "model.layers[0].tasks"),
])
def test_wrong_type_on_the_command_line(override, key):
    with pytest.raises(ConfigError, match=re.escape(f"'{key}'")):
        apply_override(tiny_config(), override)


def test_override_needs_a_value():
    with pytest.raises(ConfigError, match="key=value"):
        apply_override(tiny_config(), "train.epochs")


@pytest.mark.parametrize("version", [0, 3, 99])
def test_wrong_format_version(tmp_path, version):
    path = recipe(tmp_path, version=version)
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert str(path) in str(e.value) and f"format_version {version}" in str(e.value)


def test_unknown_task(tmp_path):
    path = write(tmp_path / "r.toml", '[data]\npos = "x"\n[[model.layers]]\ntasks = ["pos", "ner"]\n')
    with pytest.raises(ConfigError, match="unknown task 'ner'") as e:
        load_config(path)
    assert str(path) in str(e.value)


@pytest.mark.parametrize("override, match", [
    ("train.sampling=alternate", "train.sampling"),
    ("train.device=tpu", "train.device"),
    ("train.precision=fp16", "train.precision must be 'auto', 'bf16' or 'fp32', not 'fp16'"),
    ("model.chars=bytes", "model.chars"),
    ('model.layers=[{tasks = ["pos"]}, {tasks = ["pos"]}]', "more than one layer"),
    ('model.layers=[{encoder = "gru", tasks = ["pos"]}]', "unknown encoder 'gru'"),
    ('data.pos=""', "no training corpus: set data.pos"),
])
def test_invalid_values(tmp_path, override, match):
    path = recipe(tmp_path)
    with pytest.raises(ConfigError, match=match) as e:
        load_config(path, [override])
    assert str(path) in str(e.value)


def test_loss_weight_for_an_unknown_task_is_an_error(tmp_path):
    """A typo in ``train.weights`` would silently weigh nothing (joint mode uses 1.0 for unnamed tasks)."""
    path = recipe(tmp_path, "[train.weights]\npsos = 2.0")
    with pytest.raises(ConfigError, match="psos") as e:
        load_config(path)
    assert str(path) in str(e.value)


def test_missing_or_invalid_file(tmp_path):
    with pytest.raises(ConfigError, match="file not found") as e:
        load_config(tmp_path / "nope.toml")
    assert "nope.toml" in str(e.value)
    path = write(tmp_path / "bad.toml", "[train\nepochs = 3\n")
    with pytest.raises(ConfigError, match="not valid TOML") as e:
        load_config(path)
    assert str(path) in str(e.value)


def test_jmt_recipe_loads_and_validates():
    config = load_config(ROOT / "models" / "jmt.toml")
    assert config.format_version == FORMAT_VERSION
    assert config.tasks() == ["pos", "chunks", "mentions", "deps", "coref", "srl", "relatedness", "entailment"]
    assert [layer.tasks for layer in config.model.layers] == [["pos"], ["chunks"], ["mentions"], ["deps", "coref"], ["srl"],
                                                              ["relatedness"], ["entailment"]]
    assert config.train.sampling == "schedule" and config.train.delta > 0
    for task in config.tasks():  # the recipe's paths are relative to the repository root
        assert (ROOT / getattr(config.data, TASKS[task].data_key)).is_file()
        assert (ROOT / getattr(config.data, f"{TASKS[task].data_key}_dev")).is_file()


def test_config_is_plain_data():
    """No **kwargs soup: every section is a dataclass whose fields are the only accepted keys, except ``[data]``,
    whose keys are the task specs' corpus keys and options (and three settings), each checked."""
    for section in (Config, type(Config().model), type(Config().train), LayerConfig):
        assert dataclasses.is_dataclass(section)
    keys = set(Config().data.defaults())
    assert {spec.data_key for spec in TASKS.values()} | {"srl_format", "holdout", "skip_bad"} <= keys
    with pytest.raises(ConfigError, match="unknown config key 'data.nope'"):
        Config().data.nope = "x"


def test_threads_must_not_be_negative(tmp_path):
    from hierarchy.core.config import apply_override

    config = load_config(ROOT / "models" / "jmt.toml")
    assert config.train.threads == 1
    apply_override(config, "train.threads=-1")
    with pytest.raises(ConfigError, match="train.threads"):
        config.validate("recipe.toml")


def test_every_numeric_key_has_a_range_and_each_range_is_enforced():
    """Walks every numeric value of a recipe (ranges.numeric_values): each has a range on its field, and a value just
    outside each range (and NaN for the float ones) is one clear error naming the key."""
    import math

    from conftest import tiny_config

    from hierarchy.core.config import LayerConfig
    from hierarchy.core.ranges import numeric_values

    def full():
        config = tiny_config()
        config.model.layers[0] = LayerConfig(encoder="attention", size=8, heads=2, tasks=["pos"], dropout=0.1,
                                             word_dropout=0.1, head_dropout={"pos": 0.1})
        config.train.weights, config.train.score_weights = {"pos": 1.0}, {"deps": 1.0}
        config.train.task_batch_tokens, config.train.task_repeats = {"pos": 100.0}, {"pos": 2}
        return config

    found = {key: (limit, value) for key, _, value, limit in numeric_values(full())}
    assert not [key for key, (limit, _) in found.items() if limit is None]
    assert len(found) == 49 and {"data.holdout", "model.layers.heads", "train.weights.*"} <= found.keys()
    assert {"model.layers.dropout", "model.layers.head_dropout.*", "train.ema", "train.ema_start"} <= found.keys()
    for key, (limit, value) in found.items():
        bad = [limit.low - 1 if not limit.open_low else limit.low] if limit.low is not None else []
        if limit.high is not None:
            bad.append(limit.high if limit.open_high else limit.high + 1)
        if isinstance(value, float):
            bad.append(math.nan)
        for value in bad:
            broken = full()
            name = apply_bad(broken, key, value)
            with pytest.raises(ConfigError, match=rf"recipe.toml: {re.escape(name)} must be "):
                broken.validate("recipe.toml")


def apply_bad(config, key: str, value) -> str:
    """Set ``key`` (a key of ranges.numeric_values) of ``config`` to ``value``; the name the error should give."""
    section, *rest = key.split(".")
    if key.startswith("model.layers.") and rest[-1] == "*":
        table = getattr(config.model.layers[0], rest[-2])
        task = next(iter(table))
        table[task] = value
        return f"model.layers[0].{rest[-2]}.{task}"
    if key.startswith("model.layers."):
        setattr(config.model.layers[0], rest[-1], int(value) if value == value else value)
        return f"model.layers[0].{rest[-1]}"
    if rest[-1] == "*":
        table = getattr(config.train, rest[0])
        task = next(iter(table))
        table[task] = value
        return f"train.{rest[0]}.{task}"
    node = config.data if section == "data" else getattr(config, section)
    for part in rest[:-1]:
        node = getattr(node, part)
    current = getattr(node, rest[-1]) if section != "data" else node.to_dict()[rest[-1]]
    setattr(node, rest[-1], type(current)(value) if value == value and not isinstance(current, float) else value)
    return key


def test_a_layer_sets_its_own_dropout_and_word_dropout_else_the_global_ones(tmp_path):
    path = recipe(tmp_path, '[model]\ndropout = 0.33\nword_dropout = 0.2\n'
                            '[[model.layers]]\nsize = 8\ntasks = ["chunks", "deps"]\ndropout = 0.1\nword_dropout = 0\n'
                            'head_dropout = {deps = 0.05}\n', top="")
    path.write_text(path.read_text().replace('pos = "train.conllu"', 'pos = "t"\nchunks = "t"\ndeps = "t"'))
    config = load_config(path)
    model = config.model
    assert model.layers[0].dropout is None and model.layers[1].dropout == 0.1
    assert [model.layer_dropout(0), model.layer_dropout(0, "pos")] == [0.33, 0.33]
    assert [model.layer_dropout(1), model.layer_dropout(1, "chunks"), model.layer_dropout(1, "deps")] == [0.1, 0.1, 0.05]
    assert [model.layer_word_dropout(0), model.layer_word_dropout(1)] == [0.2, 0.0]
    save_config(config, tmp_path / "saved.toml")
    saved = (tmp_path / "saved.toml").read_text()
    assert saved.count("word_dropout") == 2  # the global one and layer 1's: an unset key is left out, not written
    assert saved.count("head_dropout") == 1  # layer 1's; layer 0's is empty
    assert load_config(tmp_path / "saved.toml").model == config.model


@pytest.mark.parametrize("layer, message", [
    ('dropout = 1.0', r"model\.layers\[0\]\.dropout must be in \[0, 1\), not 1\.0"),
    ('word_dropout = -0.1', r"model\.layers\[0\]\.word_dropout must be in \[0, 1\), not -0\.1"),
    ('head_dropout = {pos = 1}', r"model\.layers\[0\]\.head_dropout\.pos must be in \[0, 1\), not 1\.0"),
    ('head_dropout = {deps = 0.1}', (r"model\.layers\[0\]\.head_dropout names task 'deps', which is not in "
                                     r"this layer \(expected one of pos\)")),
    ('dropout = "high"', r"'model\.layers\[0\]\.dropout' must be float, not 'high'"),
])
def test_a_bad_layer_dropout_is_one_error_naming_the_key(tmp_path, layer, message):
    path = recipe(tmp_path, layer)
    with pytest.raises(ConfigError, match=message) as e:
        load_config(path)
    assert str(path) in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("setting, message", [("ema = 1.0", r"train\.ema must be in \[0, 1\), not 1\.0"),
                                              ("ema_start = -2", r"train\.ema_start must be at least 0, not -2")])
def test_a_bad_ema_is_one_error_naming_the_key(tmp_path, setting, message):
    with pytest.raises(ConfigError, match=message):
        load_config(recipe(tmp_path, f"[train]\n{setting}"))
