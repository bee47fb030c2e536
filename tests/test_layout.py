"""The house keeps its shape: no two modules of the project import each other (directly
or round a longer cycle), a stack module never imports an engine, and scripts/ (the
program's own steps, run by command resources with `python3`, outside the virtualenv)
imports nothing but the standard library and scripts/ itself; and no module takes another
one's private (`_name`) names."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from harness import PROJECT_DIR

PACKAGES = ("settings", "stacks", "engines", "commands", "checks", "scripts")


def module_of(path: Path) -> str:
    parts = list(path.relative_to(PROJECT_DIR).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    """Every module of the program and its commands: the packages, and __main__.py."""
    modules = {module_of(p): p for package in PACKAGES for p in sorted((PROJECT_DIR / package).glob("*.py"))}
    modules["__main__"] = PROJECT_DIR / "__main__.py"
    return modules


def imported(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules a module imports (wherever in it: lazy imports count too). A
    script of scripts/ imports its neighbours by bare name (it puts its folder on sys.path)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()

    def known(target: str) -> str | None:
        if name.startswith("scripts.") and f"scripts.{target}" in modules:
            return f"scripts.{target}"
        return target if target in modules else None

    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [known(a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1])
                module = f"{base}.{module}" if node.module else base
            # `from package import module` imports that module; `from module import name`, the module
            targets = [known(f"{module}.{a.name}") or known(module) for a in node.names]
        else:
            continue
        found |= {t for t in targets if t and t != name}
    return found


def graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: imported(name, path, modules) for name, path in modules.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected set of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_import_graph_sees_the_imports():
    edges = graph()
    assert "commands.pulumi_cli" in edges["commands.stack"]
    assert "checks.plumbing" in edges["checks.kafka"]
    assert "settings.config" in edges["settings.engine"]
    assert "engines.steps" in edges["engines.images"]
    assert "scripts.dockerenv" in edges["scripts.wait_healthy"]
    assert {"settings", "engines", "stacks"} <= edges["__main__"]


def test_no_two_modules_import_each_other():
    assert cycles(graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_stack_module_imports_an_engine():
    for name, targets in graph().items():
        if name == "stacks" or name.startswith("stacks."):
            assert not [t for t in targets if t == "engines" or t.startswith("engines.")], name


def test_scripts_need_the_standard_library_only():
    for path in sorted((PROJECT_DIR / "scripts").glob("*.py")):
        neighbours = {p.stem for p in path.parent.glob("*.py")}
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or top in neighbours, (path.name, name)


def test_each_part_is_in_the_folder_named_for_it():
    # the commands a user runs through make, the check's questions, the program's own steps
    assert {p.stem for p in (PROJECT_DIR / "scripts").glob("*.py")} == \
        {"__init__", "fetch", "build_image", "wait_healthy", "wait_workload", "dockerenv", "modes"}
    makefile = (PROJECT_DIR / "Makefile").read_text()
    for command in ("stack", "check", "daytoday", "drop_data", "tunnel"):
        assert f"commands/{command}.py" in makefile
    assert not list((PROJECT_DIR / "stacks").glob("setup.py")) and not list((PROJECT_DIR / "stacks").glob("settings.py"))


def test_no_module_imports_another_ones_private_name():
    # a name with a leading underscore is its module's own: what another module needs is public
    modules = project_modules()
    helpers = {p.stem: p for p in sorted((PROJECT_DIR / "tests").glob("*.py"))}
    found = []
    for name, path in [*modules.items(), *((f"tests.{stem}", p) for stem, p in helpers.items())]:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom) or node.level:
                continue
            ours = node.module in modules or node.module in helpers \
                or (name.startswith("scripts.") and f"scripts.{node.module}" in modules)
            found += [f"{name}: from {node.module} import {a.name}" for a in node.names
                      if ours and a.name.startswith("_") and not a.name.startswith("__")]
    assert found == []
