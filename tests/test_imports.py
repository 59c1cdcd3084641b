"""The house's import rules, read from the source with ``ast`` (nothing is imported):

- no import cycles among ``afpipe`` modules, whether the import sits at module level or inside a
  function (a deferred import keeps heavy packages off the start-up path; it must not hide a
  cycle);
- every ``afpipe.*`` module a file imports resolves, through the plain file system, to a file
  of this checkout: ``afpipe/generate`` is a link to ``generate/`` and so on, so editors, type
  checkers and grep find the code without the editable install's import hook.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STAGE_FOLDERS = ("generate", "finetune", "evaluate", "corpora", "report")


def _python_files() -> list[Path]:
    files = list((ROOT / "afpipe").glob("*.py")) + list((ROOT / "afpipe" / "clients").glob("*.py"))
    for folder in STAGE_FOLDERS:
        if (ROOT / folder).is_dir():
            files += [p for p in (ROOT / folder).rglob("*.py")]
    return files


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[0] != "afpipe":
        parts = ["afpipe", *parts]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _is_type_checking(node: ast.AST) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """The ``afpipe`` modules ``path`` imports, at module level or inside functions, except in
    ``if TYPE_CHECKING:`` blocks (read by type checkers only: how two modules may name each
    other's types). ``from package import module`` counts as importing that module, not the
    package's ``__init__`` (which Python runs for any of its modules anyway)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            submodules = {f"{base}.{a.name}" for a in node.names} & known
            found.update(submodules or {base})
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return {m for m in found if m == "afpipe" or m.startswith("afpipe.")}


def import_graph() -> dict[str, set[str]]:
    """Who imports whom among afpipe's modules, counting imports inside functions too: a cycle
    hidden behind a deferred import is still two modules that cannot be read apart."""
    modules = {module_name(p): p for p in _python_files()}
    known = set(modules)
    return {name: {m for m in imported_modules(path, known) if m in known and m != name}
            for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def strongconnect(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    return found


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_sees_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_an_editor_resolves_every_afpipe_import_to_its_file():
    """jedi (the engine behind many editors' go-to-definition), given the bare checkout and no
    installed package, follows every ``afpipe.*`` module the code imports to its file here."""
    jedi = pytest.importorskip("jedi")
    graph = import_graph()
    modules = sorted(set(graph) | {m for targets in graph.values() for m in targets})
    project = jedi.Project(ROOT, added_sys_path=[], smart_sys_path=False)
    probe = "".join(f"import {m}\n" for m in modules)
    script = jedi.Script(probe, path=ROOT / "probe.py", project=project)
    unresolved = []
    for line, module in enumerate(modules, start=1):
        found = script.goto(line, len("import ") + len(module) - 1, follow_imports=True)
        paths = {Path(d.module_path).resolve() for d in found if d.module_path}
        if not paths or not all(ROOT in p.parents for p in paths):
            unresolved.append(module)
    assert unresolved == []


def test_stage_links_draw_the_same_map_as_the_package_dirs():
    """pyproject's package-dir (what an install uses) and the links (what an editor follows)."""
    tomllib = pytest.importorskip("tomllib")
    package_dir = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    mapped = {name.split(".", 1)[1]: folder for name, folder in package_dir.items() if name.startswith("afpipe.")}
    assert set(mapped) == set(STAGE_FOLDERS)
    for name, folder in mapped.items():
        link = ROOT / "afpipe" / name
        assert link.is_symlink(), f"afpipe/{name} should be a link to ../{folder}"
        assert link.resolve() == (ROOT / folder).resolve()
