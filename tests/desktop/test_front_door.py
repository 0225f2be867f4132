"""The desktop reaches the engine through one door, ``termlinker.api``: no other engine module is
imported anywhere in desktop/, so the engine's rooms can change without the GUI noticing."""

from __future__ import annotations

import ast
from pathlib import Path

DESKTOP = Path(__file__).resolve().parents[2] / "desktop"


def engine_imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        else:
            continue
        found += [(node.lineno, m) for m in modules if m == "termlinker" or m.startswith("termlinker.")]
    return found


def test_the_desktop_imports_only_the_engines_front_door():
    files = sorted(DESKTOP.rglob("*.py"))
    assert len(files) > 10
    stray = [f"{f.relative_to(DESKTOP)}:{line} imports {module}" for f in files
             for line, module in engine_imports(f) if module != "termlinker.api"]
    assert stray == []


def test_every_name_the_desktop_takes_from_the_door_is_declared_there():
    import termlinker.api as api

    taken = set()
    for f in DESKTOP.rglob("*.py"):
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "termlinker.api":
                taken |= {alias.name for alias in node.names}
    assert taken <= set(api.__all__), sorted(taken - set(api.__all__))
    assert all(hasattr(api, name) for name in api.__all__)
