"""The import rules of the package, read from the source with `ast` (nothing is imported).

Layers, bottom to top: the top-level modules (`errors`, `ids`, `_validation`, ...), then
`portable` (the TensorFlow-free reader of ONNX / LiteRT exports, whose pieces training
reuses), then `models` and `datasets` side by side (neither imports the other; what both
need, such as the reserved token ids, lives in `seqrecipes.ids`), then `recipes`, then `cli`,
then the package's own `__init__` (its public API) and `__main__`. Every import is read, those
inside functions included (a lazy import is still a dependency). The rules:

- `models` and `datasets` never import each other;
- nothing imports upward: `models` / `datasets` / the top-level modules never import
  `recipes` or `cli`, and `recipes` never imports `seqrecipes.cli`;
- a package's `__init__` never imports its own `cli` module;
- no two modules import each other, directly or round a longer cycle;
- no private name (`_LAYER_CLASSES`, `_prepare`, ...) is imported from another module, and no
  module reaches one as an attribute (`module._name`). Private modules (`_validation`,
  `datasets._files`) are the package's shared helpers and may be imported; dunders
  (`__version__`) are public.
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "seqrecipes"
NAME = PACKAGE.name


def module_name(path, package=PACKAGE):
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules(package=PACKAGE):
    """`{module name: path}` of every module of the package."""
    return {module_name(path, package): path for path in sorted(package.rglob("*.py"))}


def _absolute(module, node, is_package):
    if node.level == 0:
        return node.module
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(module, path, modules):
    """The package imports of one module: `[(imported module, name or None, line)]`.

    `from a.b import c` gives `("a.b.c", None, line)` when `a.b.c` is a module, else
    `("a.b", "c", line)`; `import a.b` gives `("a.b", None, line)`.
    """
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, None, node.lineno) for alias in node.names
                      if alias.name.split(".")[0] == NAME]
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(module, node, path.name == "__init__.py")
            if not target or target.split(".")[0] != NAME:
                continue
            for alias in node.names:
                full = f"{target}.{alias.name}"
                found.append((full, None, node.lineno) if full in modules
                             else (target, alias.name, node.lineno))
    return found


def private_attributes(module, path, modules):
    """`alias._name` uses where `alias` was bound by an import of a package module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    bound = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            target = _absolute(module, node, path.name == "__init__.py")
            bound |= {alias.asname or alias.name for alias in node.names
                      if f"{target}.{alias.name}" in modules}
        elif isinstance(node, ast.Import):
            bound |= {alias.asname for alias in node.names
                      if alias.asname and alias.name in modules}
    return [
        (node.value.id, node.attr, node.lineno) for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
        and node.value.id in bound and is_private(node.attr)
    ]


def is_private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def layer(module):
    """"models", "datasets", "recipes", "portable", "cli", "api" or "top" (the top-level
    modules).

    "api" is the package itself (`seqrecipes/__init__.py`, which re-exports the public names,
    and `__main__`): it stands above everything.
    """
    if module in (NAME, f"{NAME}.__main__"):
        return "api"
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in ("models", "datasets", "recipes", "portable"):
        return parts[1]
    return "cli" if module == f"{NAME}.cli" else "top"


# layer -> the layers it may import (its own included); recipes and cli read the package's
# `__version__`, which nothing below them needs
ALLOWED = {
    "top": {"top"},
    # the TensorFlow-free reader of ONNX / LiteRT exports, just above the top-level modules:
    # what serving shares with training (Korean morphemes, prediction rows, Viterbi, ...)
    # lives there and every layer above reuses it
    "portable": {"top", "portable"},
    "models": {"top", "portable", "models"},
    "datasets": {"top", "portable", "datasets"},
    "recipes": {"top", "portable", "models", "datasets", "recipes", "api"},
    "cli": {"top", "portable", "models", "datasets", "recipes", "cli", "api"},
    "api": {"top", "portable", "models", "datasets", "recipes", "cli", "api"},
}


def owner(imported, modules):
    """The package module an import resolves to (`a.b` for `from a.b import name`)."""
    while imported not in modules and "." in imported:
        imported = imported.rsplit(".", 1)[0]
    return imported


def edges(modules):
    """`{module: {imported module: first line}}` over the whole package."""
    graph = {}
    for module, path in modules.items():
        for imported, _, line in imports_of(module, path, modules):
            target = owner(imported, modules)
            if target != module:
                graph.setdefault(module, {}).setdefault(target, line)
    return graph


def layering_violations(modules):
    problems = []
    for module, targets in edges(modules).items():
        for target, line in targets.items():
            if layer(target) not in ALLOWED[layer(module)]:
                problems.append(f"{module}:{line} imports {target} "
                                f"({layer(module)} may not import {layer(target)})")
            if target.endswith(".cli") and modules[module].name == "__init__.py" and (
                target.rsplit(".", 1)[0] == module
            ):
                problems.append(f"{module}:{line}: a package's __init__ imports its own cli")
    return problems


def cycles(modules):
    """Every strongly connected group of two or more modules (Tarjan), as sorted lists."""
    graph = {module: set(targets) for module, targets in edges(modules).items()}
    index, low, stack, on_stack, groups, counter = {}, {}, [], set(), [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for child in graph.get(node, ()):
            if child not in index:
                visit(child)
                low[node] = min(low[node], low[child])
            elif child in on_stack:
                low[node] = min(low[node], index[child])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def private_imports(modules):
    problems = []
    for module, path in modules.items():
        for imported, name, line in imports_of(module, path, modules):
            if name is not None and is_private(name):
                problems.append(f"{module}:{line} imports the private name {name} from "
                                f"{imported}")
        for alias, attribute, line in private_attributes(module, path, modules):
            problems.append(f"{module}:{line} uses the private name {alias}.{attribute}")
    return problems


# --- the package as it is ------------------------------------------------------------------------


def test_models_and_datasets_never_import_each_other_and_nothing_imports_upward():
    assert layering_violations(package_modules()) == []


def test_no_two_modules_import_each_other():
    assert cycles(package_modules()) == []


def test_no_private_name_crosses_a_module():
    assert private_imports(package_modules()) == []


def test_the_reader_sees_the_whole_package():
    # A rule that reads nothing passes for nothing: the graph holds the known edges.
    modules = package_modules()
    graph = edges(modules)
    assert f"{NAME}.ids" in graph[f"{NAME}.models.seq2seq"]
    assert f"{NAME}.ids" in graph[f"{NAME}.datasets.seq2seq_tasks"]
    assert f"{NAME}.recipes.param_count" in modules and f"{NAME}.cli" in modules


# --- the rules catch what they are for (a throw-away package in tmp_path) -------------------


def write_package(root, files):
    package = root / NAME
    for name, text in files.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for folder in {path.parent for path in package.rglob("*.py")} | {package}:
        (folder / "__init__.py").touch()
    return package_modules(package)


BASE = {"models/core.py": "", "datasets/pipeline.py": "", "recipes/tool.py": "", "cli.py": "",
        "ids.py": "", "recipes/sentiment/cli.py": "", "recipes/sentiment/model.py": ""}


@pytest.mark.parametrize(
    "module, source, expected",
    [
        ("models/core.py", "def f():\n    from seqrecipes.datasets import pipeline\n",
         "models may not import datasets"),
        ("datasets/pipeline.py", "from seqrecipes.models.core import build\n",
         "datasets may not import models"),
        ("models/core.py", "import seqrecipes.recipes.tool\n", "models may not import recipes"),
        ("ids.py", "from seqrecipes import cli\n", "top may not import cli"),
        ("recipes/tool.py", "from seqrecipes.cli import main\n", "recipes may not import cli"),
        ("recipes/sentiment/__init__.py", "from . import cli\n", "imports its own cli"),
    ],
)
def test_layering_rules_catch(tmp_path, module, source, expected):
    modules = write_package(tmp_path, {**BASE, module: source})
    problems = layering_violations(modules)
    assert any(expected in problem for problem in problems), problems


def test_layering_allows_the_ids_module_and_recipes_over_both(tmp_path):
    modules = write_package(tmp_path, {
        **BASE,
        "models/core.py": "from seqrecipes.ids import PAD_ID\n",
        "datasets/pipeline.py": "from seqrecipes import ids\n",
        "recipes/tool.py": "from seqrecipes.models import core\nfrom seqrecipes.datasets "
                           "import pipeline\n",
        "cli.py": "import seqrecipes.recipes.tool\n",
    })
    assert layering_violations(modules) == []


def test_cycles_are_found_at_any_depth(tmp_path):
    modules = write_package(tmp_path, {
        **BASE,
        "models/a.py": "from seqrecipes.models import b\n",
        "models/b.py": "def f():\n    from seqrecipes.models.c import g\n",
        "models/c.py": "from .a import h\n",
        "models/d.py": "from seqrecipes.models import a\n",  # into the cycle, not part of it
    })
    assert cycles(modules) == [["seqrecipes.models.a", "seqrecipes.models.b",
                                "seqrecipes.models.c"]]


def test_private_names_are_found_imported_or_reached(tmp_path):
    modules = write_package(tmp_path, {
        **BASE,
        "models/core.py": "_TABLE = {}\ndef _prepare():\n    pass\n",
        "models/user.py": "from seqrecipes.models.core import _TABLE, build\n",
        "models/other.py": "from seqrecipes.models import core\nx = core._prepare()\n",
        "recipes/tool.py": "from seqrecipes import _validation, __version__\n"
                           "from seqrecipes.datasets import _files\n",
        "_validation.py": "",
        "datasets/_files.py": "",
    })
    problems = private_imports(modules)
    assert problems == [
        "seqrecipes.models.other:2 uses the private name core._prepare",
        "seqrecipes.models.user:1 imports the private name _TABLE from seqrecipes.models.core",
    ]
