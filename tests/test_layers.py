"""The library's import graph: layers point down (pages -> gvae.app -> gvae core), with no
cycle and no Streamlit. Function-level (lazy) imports count as edges too."""

import ast
from pathlib import Path

import pytest
from conftest import ROOT

PACKAGE = ROOT / "gvae"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, anywhere in it, as absolute dotted names."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def gvae_graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {m: {i for i in imports_of(p) if i in modules and i != m} for m, p in modules.items()}


def test_gvae_never_imports_streamlit_or_the_pages():
    for path in PACKAGE.rglob("*.py"):
        bad = {i for i in imports_of(path) if i.split(".")[0] in ("streamlit", "pages", "app")}
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_the_core_never_imports_the_app_layer():
    for module, targets in gvae_graph().items():
        if not module.startswith("gvae.app") and module != "gvae":  # gvae: lazy re-exports
            assert not {t for t in targets if t.startswith("gvae.app")}, module


def test_the_import_graph_has_no_cycle():
    graph = gvae_graph()
    graph["gvae"] = set()  # the package's lazy __getattr__ names modules, it imports none
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                pytest.fail("import cycle: " + " -> ".join([*path, module, target]))
            if target not in state:
                visit(target, [*path, module])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [])


def test_the_walker_sees_a_cycle_and_a_streamlit_import(tmp_path):
    """The checks above can fail: the same walker finds what they look for."""
    (tmp_path / "a.py").write_text("def f():\n    import streamlit\n    from gvae.app import x\n")
    assert {"streamlit", "gvae.app", "gvae.app.x"} <= imports_of(tmp_path / "a.py")
