"""The floor plan: what each layer may import, no import cycles, every package explained.

Read from the source (module-level imports, ``TYPE_CHECKING`` ones included; imports inside
functions are the lazy ones for optional extras and start-up time, and are left out).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import intercom_events

PACKAGE = Path(intercom_events.__file__).parent
NO_IO = {"requests", "aiohttp", "yarl", "urllib3", "asyncio", "threading", "socket", "concurrent"}


def _name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _imports(module: str) -> set[str]:
    """Every module ``module`` imports at module level (its parents' ``__init__`` too)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If | ast.Try):
                visit(node.body)
                visit(node.orelse)
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module or ""]) if node.level else node.module
                target = (target or "").rstrip(".")
                found.add(target)
                found.update(f"{target}.{alias.name}" for alias in node.names)

    visit(ast.parse(path.read_text()).body)
    closed = set()
    for name in found:
        parts = name.split(".")
        closed.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return {name for name in closed if name != module} - set(_parents(module))


def _parents(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _ours(module: str) -> set[str]:
    return {name for name in _imports(module) if name in MODULES}


def _third_party(module: str) -> set[str]:
    return {name.split(".")[0] for name in _imports(module)} - {"intercom_events"}


def test_there_are_no_import_cycles() -> None:
    graph = {module: _ours(module) for module in MODULES}
    done: set[str] = set()

    def walk(module: str, path: list[str]) -> None:
        if module in path:
            cycle = [*path[path.index(module) :], module]
            pytest.fail(f"import cycle: {' -> '.join(cycle)}")
        if module in done:
            return
        for target in sorted(graph[module]):
            walk(target, [*path, module])
        done.add(module)

    for module in MODULES:
        walk(module, [])


CORE = [m for m in MODULES if m.startswith("intercom_events._core")]
LEAVES = ["intercom_events.models", "intercom_events.errors", "intercom_events._version"]


@pytest.mark.parametrize("module", CORE)
def test_the_core_does_no_io_and_imports_only_downwards(module: str) -> None:
    assert _third_party(module).isdisjoint(NO_IO)
    allowed = {*CORE, *LEAVES, "intercom_events"}
    assert _ours(module) <= allowed


@pytest.mark.parametrize(
    ("module", "allowed"),
    [
        ("intercom_events.errors", set()),
        (
            "intercom_events.models",
            {"intercom_events._core", "intercom_events._core.checks", "intercom_events.errors"},
        ),
        ("intercom_events._core.checks", {"intercom_events.errors"}),
    ],
)
def test_the_leaves_import_almost_nothing(module: str, allowed: set[str]) -> None:
    assert _ours(module) - {"intercom_events"} <= allowed


@pytest.mark.parametrize(
    "module",
    [m for m in MODULES if m.startswith(("intercom_events._transport", "intercom_events._track"))],
)
def test_executors_and_tracking_import_no_client_cli_or_fake(module: str) -> None:
    above = ("client", "aio_client", "raw", "_base", "cli", "testing", "_notebook")
    for name in _ours(module):
        assert not name.startswith(tuple(f"intercom_events.{a}" for a in above)), name


@pytest.mark.parametrize(
    "module", [m for m in MODULES if m.startswith("intercom_events._transport")]
)
def test_executors_do_not_know_tracking(module: str) -> None:
    assert not any(name.startswith("intercom_events._tracking") for name in _ours(module))


@pytest.mark.parametrize("module", [m for m in MODULES if MODULES[m].name == "__init__.py"])
def test_every_package_says_what_it_holds(module: str) -> None:
    docstring = ast.get_docstring(ast.parse(MODULES[module].read_text()))
    assert docstring, f"{module} has no docstring"


FLEET = [m for m in MODULES if m.startswith("intercom_events._fleet")]


@pytest.mark.parametrize("module", FLEET)
def test_fleet_backends_sit_on_the_core_and_the_in_process_gate(module: str) -> None:
    transport = {"intercom_events._transport", "intercom_events._transport.gate"}
    allowed = {*CORE, *LEAVES, *FLEET, *transport, "intercom_events._transport.forks"}
    assert _ours(module) <= allowed | {"intercom_events"}
    # redis is imported only when a gate is made (top-level imports are type checking only).
    tree = ast.parse(MODULES[module].read_text())
    top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    names = [n.module or "" if isinstance(n, ast.ImportFrom) else n.names[0].name for n in top]
    assert not [name for name in names if name.split(".")[0] == "redis"]
