"""The package's layers (README, "Layout"): every import of a project module points down or within its layer, the
import graph has no circle, and an import inside a function says in a comment why it is late (``# lazy: ...``)."""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "hierarchy"

#: bottom first: a module may import modules of its own layer and of the layers below it
LAYERS = [
    ("hierarchy.io", "reading and writing files: corpora, vocabulary tables, vectors, errors"),
    ("hierarchy.modules", "neural building blocks"),
    ("hierarchy.tasks", "one file per task: spec, head, decoder, metric"),
    ("hierarchy.strategies", "samplers and loss weightings"),
    ("hierarchy.core", "recipe, vocabularies, batching, model, prediction, model directories"),
    ("hierarchy.training", "the training loop"),
    ("hierarchy", "front doors: cli, annotate, evaluation, pipeline, spacy_component, package, inspect, ablate"),
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def layer(module: str) -> int:
    return next(k for k, (prefix, _) in enumerate(LAYERS) if module == prefix or module.startswith(prefix + "."))


def imports(path: Path):
    """``(imported module, line, inside a function, the line's text)`` for each import of a project module; ``from
    package import name`` imports the module ``package.name`` where there is one."""
    text = path.read_text()
    lines = text.splitlines()
    tree = ast.parse(text)
    inner = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
             for n in ast.walk(f)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in MODULES else node.module
                       for a in node.names]
        else:
            assert not getattr(node, "level", 0), f"{path}:{getattr(node, 'lineno', 0)}: a relative import"
            continue
        for target in targets:
            if target.split(".")[0] == "hierarchy":
                yield target, node.lineno, id(node) in inner, lines[node.lineno - 1]


def edges() -> dict[str, set[str]]:
    return {name: {target for target, *_ in imports(path)} for name, path in MODULES.items()}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_point_down_the_layers(name):
    for target, line, late, text in imports(MODULES[name]):
        assert target in MODULES, f"{MODULES[name]}:{line}: imports '{target}', which is not a module of the package"
        assert layer(target) <= layer(name), (f"{MODULES[name]}:{line}: {name} ({LAYERS[layer(name)][0]}) imports "
                                              f"{target} ({LAYERS[layer(target)][0]}), a layer above it")
        assert not late or "# lazy: " in text, f"{MODULES[name]}:{line}: a late import without '# lazy: <reason>'"


def test_the_import_graph_has_no_circle():
    graph, state, path = edges(), {}, []

    def visit(node):
        state[node] = "open"
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if target == node:
                continue
            if state.get(target) == "open":
                circle = path[path.index(target):] + [target]
                pytest.fail("import circle: " + " -> ".join(circle))
            if target not in state:
                visit(target)
        path.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_every_module_is_in_a_layer_and_the_layers_are_folders():
    assert {layer(name) for name in MODULES} == set(range(len(LAYERS)))
    for prefix, _ in LAYERS[:-1]:
        assert (PACKAGE.parent / prefix.replace(".", "/") / "__init__.py").is_file(), prefix
