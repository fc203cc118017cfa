"""No import cycle inside the project, function-local imports included: a module can be read (and
changed) knowing only what it imports. Relative imports are resolved; `from package import module`
counts as importing that module."""

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("archive_service", "digitise", "storage", "search")


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:  # Alembic's scripts are run by Alembic, not imported
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def import_graph(found: dict[str, Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in found.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parts, base] if base else parts)
                targets = [base, *(f"{base}.{a.name}" for a in node.names)]
            else:
                continue
            graph[name].update(t for t in targets if t in found and t != name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return found


def test_the_checker_sees_a_cycle_through_a_function_local_import(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "__init__.py").write_text("")
    (tmp_path / "x" / "a.py").write_text("def f():\n    from x import b  # hidden in a function\n")
    (tmp_path / "x" / "b.py").write_text("from . import c\n")
    (tmp_path / "x" / "c.py").write_text("import x.a\n")
    (tmp_path / "x" / "d.py").write_text("from x.a import f\n")
    found = {
        n: tmp_path / "x" / f"{n.split('.')[-1] if n != 'x' else '__init__'}.py"
        for n in ("x", "x.a", "x.b", "x.c", "x.d")
    }
    assert cycles(import_graph(found)) == [["x.a", "x.b", "x.c"]]
    (tmp_path / "x" / "a.py").write_text("def f():\n    pass\n")
    assert cycles(import_graph(found)) == []


def test_no_import_cycle_in_the_project():
    found = cycles(import_graph(modules()))
    assert found == [], "import cycles:\n" + "\n".join(" ↔ ".join(c) for c in found)
