"""The emulator's modules import downwards only: no module imports one that imports it back."""

from __future__ import annotations

import ast
from pathlib import Path

import bitrix_bizproc.emulator

ROOT = Path(bitrix_bizproc.emulator.__file__).parent


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Modules of the emulator that ``path`` imports, at run time or for type checking alike."""
    here = _module(path).split(".") if path.name == "__init__.py" else _module(path).split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level and node.level <= len(here) + 1:
            base = here[: len(here) - (node.level - 1)] if node.level > 1 else here
            target = ".".join([*[p for p in base if p], *([node.module] if node.module else [])])
            if node.level == 1 or target:
                found.add(target)
    return found


def test_no_import_cycle_in_the_emulator() -> None:
    graph = {_module(p): _imports(p) - {_module(p)} for p in ROOT.rglob("*.py")}
    graph = {m: {d for d in deps if d in graph} for m, deps in graph.items()}
    seen: set[str] = set()
    on_path: list[str] = []

    def visit(module: str) -> None:
        if module in on_path:
            cycle = [*on_path[on_path.index(module) :], module]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if module in seen:
            return
        on_path.append(module)
        for dep in sorted(graph[module]):
            if dep and not (module == "" or dep == ""):  # the package's own __init__ re-exports
                visit(dep)
        on_path.pop()
        seen.add(module)

    for module in sorted(graph):
        visit(module)
