"""The package's layers, proved from its imports: they point down only, and translation stays pure.

Read statically (every ``import`` in every module, function-level ones too), so a lazy import
cannot hide an edge. A new module or package joins a layer in :data:`LAYERS`; docs/architecture.md
draws the same list (checked: :func:`test_the_architecture_drawing_is_the_layers`).
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "openai_workers_ai"

# Top to bottom: a unit (a module or a subpackage of openai_workers_ai) imports only units on lower layers.
LAYERS: tuple[tuple[str, frozenset[str]], ...] = tuple((name, frozenset(units)) for name, units in (
    ("the local shell", {"cli"}),  # src/entry.py, the Worker's shell, stands outside the package
    ("the local server's processes and HTTP protocol", {"processes", "server_protocol"}),
    ("the composition root", {"app"}),
    ("backends behind the ports", {"adapters", "simulator"}),
    ("doors: one module per API resource", {"routes"}),
    ("background work", {"jobs", "maintenance"}),
    ("executors of the stateful APIs", {"runner"}),
    ("API formats, translated (pure)", {"translate"}),
    ("the generation pipeline; data access", {"workers_ai", "repositories"}),
    ("request plumbing", {"validation", "storage", "gate", "routing", "webhooks"}),
    ("the app context", {"context"}),
    ("building blocks", {"catalog", "auth", "types", "multipart", "streaming", "pagination", "replies",
                         "spec_rules"}),
    ("settings and limits", {"settings", "limits"}),
    ("ground", {"errors", "ports", "ids", "media_types", "fanout", "openai_rules", "outbound"}),
))

# What pure translation may use of the layers below it besides data: the neutral spec, not the pipeline.
TRANSLATE_MAY_IMPORT_FROM_WORKERS_AI = {"openai_workers_ai.workers_ai.spec"}
TRANSLATE_MUST_NOT_IMPORT = {"context", "validation", "storage", "repositories", "jobs"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> Iterator[str]:
    """Every module (or module attribute) ``path`` imports, as an absolute dotted name."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def unit_of(name: str) -> str | None:
    parts = name.split(".")
    if parts[0] != "openai_workers_ai" or len(parts) < 2:
        return None
    return parts[1] if (PACKAGE / parts[1]).is_dir() or (PACKAGE / f"{parts[1]}.py").is_file() else None


def unit_edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        source = unit_of(module_name(path))
        if source is None:  # the package's own __init__ (a docstring)
            continue
        for name in imported(path):
            target = unit_of(name)
            if target is not None and target != source:
                edges[source].add(target)
    return edges


def units() -> set[str]:
    return {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"} | {
        p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()
    }


def test_every_unit_has_a_layer() -> None:
    placed = [u for _, layer in LAYERS for u in layer]
    assert len(placed) == len(set(placed)), "a unit is on two layers"
    assert set(placed) == units(), f"not placed: {units() - set(placed)}; gone: {set(placed) - units()}"


def test_imports_point_down_only() -> None:
    level = {u: i for i, (_, layer) in enumerate(LAYERS) for u in layer}
    upward = [
        f"{source} ({LAYERS[level[source]][0]}) imports {target} ({LAYERS[level[target]][0]})"
        for source, targets in unit_edges().items() for target in targets if level[target] <= level[source]
    ]
    assert not upward, "imports that do not point down:\n" + "\n".join(sorted(upward))


def test_no_package_cycles() -> None:
    """Implied by the layers, and checked on its own so that a broken cycle names its members."""
    edges = unit_edges()
    visiting: list[str] = []
    done: set[str] = set()

    def visit(unit: str) -> None:
        if unit in visiting:
            raise AssertionError("import cycle: " + " -> ".join([*visiting[visiting.index(unit):], unit]))
        if unit in done:
            return
        visiting.append(unit)
        for target in sorted(edges.get(unit, ())):
            visit(target)
        visiting.pop()
        done.add(unit)

    for unit in sorted(edges):
        visit(unit)


def test_translation_is_pure() -> None:
    """``translate/`` turns one format into another: it calls no model and touches no storage."""
    for path in (PACKAGE / "translate").glob("*.py"):
        for name in imported(path):
            unit = unit_of(name)
            assert unit not in TRANSLATE_MUST_NOT_IMPORT, f"{path.name} imports {name}"
            if unit == "workers_ai" and name.count(".") >= 2:
                module = ".".join(name.split(".")[:3])
                assert module in TRANSLATE_MAY_IMPORT_FROM_WORKERS_AI, f"{path.name} imports {name}"


def test_the_check_sees_what_it_must() -> None:
    """The graph reader finds relative, nested and function-level imports (else the tests above prove nothing)."""
    edges = unit_edges()
    assert "workers_ai" in edges["routes"]  # from ..workers_ai import pipeline
    assert "context" in edges["validation"]  # from .context import context
    assert "routes" in edges["app"]  # from .routes.ollama import chat as ollama_chat


SQL = re.compile(r"\b(SELECT\s.+\sFROM|INSERT INTO|UPDATE \w+ SET|DELETE FROM)\b")
NO_SQL = ("routes", "runner")


def sql_in(path: Path) -> list[str]:
    """The string constants of ``path`` (f-strings' literal parts too) that are SQL statements."""
    return [node.value for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value)]


def test_no_sql_in_doors_and_executors() -> None:
    """Data access lives in ``repositories/`` (one module per resource): doors and executors write no SQL."""
    found = {str(path.relative_to(PACKAGE)): sql for unit in NO_SQL for path in (PACKAGE / unit).rglob("*.py")
             if (sql := sql_in(path))}
    assert not found, found
    assert sql_in(PACKAGE / "repositories" / "run_steps.py")  # the check sees SQL where it is


DOC = PACKAGE.parents[1] / "docs" / "architecture.md"


def drawn_units() -> list[str]:
    """The units docs/architecture.md's layer drawing names, top to bottom: on each line of the drawing that
    does not continue a description, the leading ``name.py`` / ``name/`` words."""
    text = DOC.read_text()
    drawing = text.split("## Layers", 1)[1].split("```", 2)[1]
    found: list[str] = []
    for line in drawing.splitlines():
        if not line or line[0].isspace():
            continue
        for word in line.split():
            name = word.removesuffix("/") if word.endswith("/") else word.removesuffix(".py")
            if name == word or not name.isidentifier():  # not a module or package of the package
                break
            found.append(name)
    return found


def test_the_architecture_drawing_is_the_layers() -> None:
    """docs/architecture.md draws :data:`LAYERS`: the same units, top to bottom in the same order."""
    drawn = drawn_units()
    placed = [u for _, layer in LAYERS for u in layer]
    assert sorted(drawn) == sorted(placed), (f"drawn, not on a layer: {sorted(set(drawn) - set(placed))}; "
                                             f"on a layer, not drawn: {sorted(set(placed) - set(drawn))}")
    level = {u: i for i, (_, layer) in enumerate(LAYERS) for u in layer}
    assert [level[u] for u in drawn] == sorted(level[u] for u in drawn), "the drawing's order is not the layers'"
