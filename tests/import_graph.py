"""The import graph of rag/, ingest/ and ui/: every import, those inside functions included, except the ones
under `if TYPE_CHECKING:`. Used by tests/test_layout.py and printable with `python tests/import_graph.py`."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("rag", "ingest", "ui")


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Every module of our packages by dotted name (a package is its `__init__`)."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imported_names(tree: ast.AST, module: str, is_package: bool) -> list[str]:
    names: list[str] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                names.extend(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    here = module.split(".") if is_package else module.split(".")[:-1]
                    here = here[: len(here) - (child.level - 1)]
                    base = ".".join([*here, base] if base else here)
                names.append(base)
                names.extend(f"{base}.{alias.name}" for alias in child.names)
            visit(child)

    visit(tree)
    return names


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """module -> the modules of ours it imports (a `from pkg import mod` counts as importing pkg.mod)."""
    files = module_files(root)
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets = set()
        for name in _imported_names(tree, module, path.name == "__init__.py"):
            if name in files and name != module:
                targets.add(name)
        graph[module] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    sys.setrecursionlimit(10_000)

    def strong(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                strong(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            strong(node)
    return found


def room(module: str, files: dict[str, Path]) -> str:
    """The folder a module lives in, as a dotted name (`rag.store.sqlite` -> `rag.store`)."""
    path = files[module]
    return ".".join(path.parent.relative_to(ROOT).parts)


def room_arrows(graph: dict[str, set[str]], files: dict[str, Path]) -> set[tuple[str, str]]:
    return {(room(a, files), room(b, files)) for a, targets in graph.items() for b in targets
            if room(a, files) != room(b, files)}


def two_way_rooms(graph: dict[str, set[str]], files: dict[str, Path]) -> list[tuple[str, str]]:
    arrows = room_arrows(graph, files)
    return sorted((a, b) for a, b in arrows if (b, a) in arrows and a < b)


def long_modules(limit: int = 300, root: Path = ROOT) -> dict[str, int]:
    sizes = {m: len(p.read_text(encoding="utf-8").splitlines()) for m, p in module_files(root).items()}
    return {m: n for m, n in sizes.items() if n > limit}


if __name__ == "__main__":
    graph = import_graph()
    files = module_files()
    found = cycles(graph)
    print(f"{len(files)} modules, {sum(len(t) for t in graph.values())} imports, {len(found)} cycles")
    for component in found:
        print("  cycle:", " ".join(component))
    for a, b in two_way_rooms(graph, files):
        print(f"  rooms importing each other: {a} <-> {b}")
    for module, lines in long_modules().items():
        print(f"  over 300 lines: {module} ({lines})")
    if "--arrows" in sys.argv:
        for a, b in sorted(room_arrows(graph, files)):
            print(f"  {a} -> {b}")
