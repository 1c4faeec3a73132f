"""The package layout is the architecture: imports only go downwards, and diagnosis does no I/O.

Layers, top to bottom (docs/architecture.md draws the same picture). A module
may import from its own layer or any layer below it, never above; function-level
imports count too. Within the whole package the module import graph has no cycles.

Diagnosis (``kubectl_podfix.diagnose``: model, rules, report) is pure: it imports
only the standard library's pure modules and the pure parts of the packages below
it, so a rule can never reach the cluster, a registry or the terminal.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "kubectl_podfix"

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("command line", ("kubectl_podfix.cli", "kubectl_podfix.__main__")),
    ("actions", ("kubectl_podfix.fix.engine", "kubectl_podfix.nodecheck.run", "kubectl_podfix.follow")),
    ("rendering", ("kubectl_podfix.render",)),
    ("planning", ("kubectl_podfix.fix", "kubectl_podfix.nodecheck")),
    ("cluster access", ("kubectl_podfix.cluster",)),
    ("diagnosis", ("kubectl_podfix.diagnose",)),
    ("registry", ("kubectl_podfix.registry",)),
    ("base", ("kubectl_podfix.errors", "kubectl_podfix.netproxy", "kubectl_podfix")),
)

# What diagnosis may import besides itself and the pure modules below it.
PURE_STDLIB = {"__future__", "collections", "copy", "dataclasses", "datetime", "decimal", "difflib", "enum",
               "fnmatch", "functools", "itertools", "json", "math", "re", "shlex", "string", "textwrap", "typing",
               "urllib.parse"}
# Modules below diagnosis that do I/O, which diagnosis must not import either.
IO_MODULES = ("kubectl_podfix.registry.client", "kubectl_podfix.registry.transport", "kubectl_podfix.registry.auth")
# Only these may talk to the terminal through click.
CLICK_USERS = ("kubectl_podfix.cli", "kubectl_podfix.fix.engine", "kubectl_podfix.nodecheck.run")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    name = ".".join(parts)
    return name[: -len(".__init__")] if name.endswith(".__init__") else name


def imports_of(name: str, source: str, is_package: bool) -> list[tuple[str, int]]:
    """Every module ``name`` imports (absolute dotted names), with line numbers, function-level ones included."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            out.append((module, node.lineno))
            # "from pkg import submodule" imports the submodule
            out += [(f"{module}.{alias.name}", node.lineno) for alias in node.names]
    return out


def package_graph() -> dict[str, list[tuple[str, int]]]:
    return dict(_graph())


@functools.lru_cache(maxsize=1)
def _graph() -> dict[str, list[tuple[str, int]]]:
    graph = {}
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        name = module_name(path)
        graph[name] = imports_of(name, path.read_text(encoding="utf-8"), path.name == "__init__.py")
    return graph


def layer_of(module: str) -> int:
    best, index = -1, len(LAYERS)
    for i, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, index = len(prefix), i
    return index


def violations(graph: dict[str, list[tuple[str, int]]]) -> list[str]:
    """Every import that goes upwards, every impure import in diagnosis, every stray click import."""
    known = set(graph)
    found = []
    for module, imports in graph.items():
        own = layer_of(module)
        for target, line in imports:
            if target.startswith(PACKAGE + ".") or target == PACKAGE:
                if target not in known:
                    continue  # "from pkg import name" where name is not a module
                if layer_of(target) < own:
                    found.append(f"{module}:{line} imports {target}: {LAYERS[own][0]} must not import "
                                 f"{LAYERS[layer_of(target)][0]}")
                if module.startswith("kubectl_podfix.diagnose") and target.startswith(IO_MODULES):
                    found.append(f"{module}:{line} imports {target}, which does I/O")
            elif module.startswith("kubectl_podfix.diagnose"):
                top = target.split(".")[0]
                if target not in PURE_STDLIB and top not in PURE_STDLIB:
                    found.append(f"{module}:{line} imports {target}: diagnosis imports nothing that does I/O")
            elif target.split(".")[0] == "click" and not module.startswith(CLICK_USERS):
                found.append(f"{module}:{line} imports click: only the command line and the actions may")
    return found


def cycles(graph: dict[str, list[tuple[str, int]]]) -> list[list[str]]:
    """Import cycles between modules of the package (function-level imports included)."""
    edges = {m: sorted({t for t, _ in imports if t in graph and t != m}) for m, imports in graph.items()}
    # a package's __init__ is imported by each of its modules: not an edge that can close a cycle by itself
    found, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in edges[node]:
            if nxt.startswith(node + "."):
                continue  # importing one's own submodule
            if state.get(nxt) == "open":
                found.append(path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    return found


def test_imports_go_downwards_and_diagnosis_is_pure():
    assert violations(package_graph()) == []


def test_no_import_cycles():
    assert cycles(package_graph()) == []


def test_every_module_has_a_layer():
    assert [m for m in package_graph() if layer_of(m) == len(LAYERS)] == []


@pytest.mark.parametrize("module, source, words", [
    ("kubectl_podfix.diagnose.rules.images", "from kubectl_podfix.cluster.api import Cluster\n",
     "diagnosis must not import cluster access"),
    ("kubectl_podfix.diagnose.rules.images", "def f():\n    from kubectl_podfix.cluster import gather\n",
     "diagnosis must not import cluster access"),
    ("kubectl_podfix.diagnose.rules.pods", "import urllib3\n", "diagnosis imports nothing that does I/O"),
    ("kubectl_podfix.diagnose.rules.pods", "import subprocess\n", "diagnosis imports nothing that does I/O"),
    ("kubectl_podfix.diagnose.rules.pods", "from kubectl_podfix.registry.client import list_tags\n", "does I/O"),
    ("kubectl_podfix.cluster.api", "from kubectl_podfix.cli import options\n",
     "cluster access must not import command line"),
    ("kubectl_podfix.render.report", "import click\n", "only the command line and the actions may"),
])
def test_the_checker_catches_upward_and_impure_imports(module, source, words):
    graph = package_graph()
    graph[module] = imports_of(module, source, False)
    assert any(words in v for v in violations(graph)), violations(graph)


def test_the_cycle_check_finds_a_cycle():
    graph = package_graph()
    graph["kubectl_podfix.fix.memory"] = graph["kubectl_podfix.fix.memory"] + [("kubectl_podfix.fix.image", 1)]
    graph["kubectl_podfix.fix.image"] = graph["kubectl_podfix.fix.image"] + [("kubectl_podfix.fix.memory", 1)]
    assert any({"kubectl_podfix.fix.memory", "kubectl_podfix.fix.image"} <= set(c) for c in cycles(graph))
