"""The package's layers run one way (DESIGN.md §2), checked on the source with ``ast``.

Order, lowest first: the base modules (``errors``, ``config``, ``jsonio``, ``compiled``, ``elementwise`` and the
package itself) < ``devices`` < ``crossbar`` < ``algorithms`` < ``nn`` < ``training`` < ``sweep`` <
``studies`` < ``cli``. ``theory`` sits beside them: it may import the base modules and ``devices``
only (and only the layers above ``crossbar`` import it). Every ``import`` counts — at module top
and inside a function body alike: an upward import hidden in a function is still a cycle. Import
cycles between modules (again counting function bodies) are refused too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "analogtrain"

#: Layer rank of each top-level part of the package ("" is the package's own __init__).
RANKS = {
    "": 0, "errors": 0, "config": 0, "jsonio": 0, "compiled": 0, "elementwise": 0, "memory": 0,
    "devices": 1, "theory": 1.5, "crossbar": 2, "algorithms": 3, "nn": 4,
    "training": 5, "sweep": 6, "studies": 7, "cli": 8,
}

#: The base modules (below devices).
BASE = ("", "errors", "config", "jsonio", "compiled", "elementwise", "memory")

#: Imports that close a known cycle (none left).
KNOWN_BACK_EDGES: set[tuple[str, str]] = set()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def rank(module: str) -> float:
    part = layer(module)
    if part not in RANKS:
        raise AssertionError(f"{module}: part {part!r} has no layer; add it to RANKS in tests/test_layers.py "
                             "and to DESIGN.md §2")
    return RANKS[part]


def imports(module: str, source: str, is_package: bool, known: set[str]) -> list[tuple[int, str, bool]]:
    """(line, imported analogtrain module, inside a function) for every import in ``source``.

    ``from a.b import c`` counts as an import of ``a.b.c`` when that is a module, else of ``a.b``.
    Relative imports are resolved against ``module``.
    """
    tree = ast.parse(source)
    found: list[tuple[int, str, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.split(".")[0] == "analogtrain":
                        found.append((child.lineno, alias.name, in_function))
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    package = module.split(".") if is_package else module.split(".")[:-1]
                    package = package[: len(package) - (child.level - 1)]
                    base = ".".join(package + ([base] if base else []))
                if base.split(".")[0] != "analogtrain":
                    continue
                for alias in child.names:
                    target = f"{base}.{alias.name}"
                    found.append((child.lineno, target if target in known else base, in_function))
            visit(child, inside)

    visit(tree, False)
    return found


def graph() -> dict[str, list[tuple[int, str, bool]]]:
    found = modules()
    known = set(found)
    return {name: imports(name, path.read_text(), path.name == "__init__.py", known) for name, path in found.items()}


def upward_imports(edges: dict[str, list[tuple[int, str, bool]]]) -> list[str]:
    """One line per import of a higher layer (or, from theory, of anything but base and devices)."""
    problems = []
    for module, targets in edges.items():
        for line, target, in_function in targets:
            where = " (inside a function)" if in_function else ""
            if layer(module) == "theory" and layer(target) not in BASE + ("devices", "theory"):
                problems.append(f"{module}:{line} imports {target}{where}: theory may use devices/config only")
            elif rank(target) > rank(module):
                problems.append(f"{module}:{line} imports {target}{where}: layer {layer(module) or 'base'} "
                                f"may not import layer {layer(target)}")
    return problems


def cycles(edges: dict[str, list[tuple[int, str, bool]]], ignore=frozenset()) -> list[set[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm), without the
    edges ``(importer, imported)`` in ``ignore``."""
    adjacency = {m: sorted({t for _, t, _ in targets if t in edges and t != m and (m, t) not in ignore})
                 for m, targets in edges.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in adjacency[node]:
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.add(top)
                if top == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in adjacency:
        if node not in index:
            connect(node)
    return components


def test_every_part_of_the_package_has_a_layer():
    for name in modules():
        rank(name)


def test_imports_run_downward():
    problems = upward_imports(graph())
    assert not problems, "imports against the layer order (DESIGN.md §2):\n" + "\n".join(problems)


def test_no_import_cycles():
    found = cycles(graph(), ignore=KNOWN_BACK_EDGES)
    assert not found, "import cycles: " + "; ".join(" <-> ".join(sorted(c)) for c in found)


@pytest.mark.parametrize("module, source, expected", [
    ("analogtrain.nn.tile", "from analogtrain.training.loop import train\n", "layer nn may not import layer training"),
    ("analogtrain.algorithms.base", "def f():\n    import analogtrain.sweep\n",
     "analogtrain.sweep (inside a function)"),
    ("analogtrain.training.loop", "class T:\n    def f(self):\n        from ..studies import fig3\n",
     "imports analogtrain.studies.fig3 (inside a function)"),
    ("analogtrain.theory.sgd", "from analogtrain.crossbar import array\n", "theory may use devices/config only"),
    ("analogtrain.config", "from analogtrain.devices.base import PulsedDevice\n", "layer config may not import layer devices"),
])
def test_the_checker_catches_upward_imports(module, source, expected):
    known = set(modules())
    edges = {module: imports(module, source, False, known)}
    problems = upward_imports(edges)
    assert len(problems) == 1 and expected in problems[0], problems


def test_the_checker_catches_cycles():
    edges = {"analogtrain.studies.a": [(1, "analogtrain.studies.b", False)],
             "analogtrain.studies.b": [(3, "analogtrain.studies.a", True)],
             "analogtrain.studies.c": [(1, "analogtrain.studies.a", False)]}
    assert cycles(edges) == [{"analogtrain.studies.a", "analogtrain.studies.b"}]
