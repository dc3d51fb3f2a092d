"""Nothing imports upward: the layers of docs/architecture.md, read from the source with `ast`."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "longplay"

# Lowest first. A module may import its own layer's base and anything in a lower layer; the
# packages of one layer (audio, plan, search) do not import each other either.
LAYERS: list[set[str]] = [
    {
        "__init__",
        "errors",
        "units",
        "settings",
        "archive",
        "progress",
        "state",
        "workers",
        "workers_dask",
        "rejects",
        "safepaths",
    },
    {"catalog"},
    {"audio", "plan", "search"},
    {"testing"},  # generators tests and benchmarks share; nothing in the package imports them
    {"pack"},
    {"mirror"},
    {"server"},
    {"cli"},
    {"__main__"},  # `python -m longplay`
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}
BASE = LAYERS[0]


def unit_of(parts: tuple[str, ...]) -> str:
    """`longplay.catalog.store` -> catalog; `longplay.errors` -> errors; `longplay` -> __init__."""
    return parts[1] if len(parts) > 1 else "__init__"


def imports(path: Path) -> list[tuple[int, tuple[str, ...]]]:
    """(line, module parts) of every longplay import in a file, lazy ones inside functions too."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, tuple(a.name.split("."))) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            base = tuple(node.module.split("."))
            if base == ("longplay",):  # `from longplay import settings` or `__version__`
                found += [
                    (node.lineno, base if a.name.startswith("__") else (*base, a.name))
                    for a in node.names
                ]
            else:
                found.append((node.lineno, base))
    return [(line, parts) for line, parts in found if parts[0] == "longplay"]


def violations(root: Path = PACKAGE) -> list[str]:
    bad = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).with_suffix("")
        here = unit_of(rel.parts)
        assert here in RANK, f"{rel}: {here!r} is in no layer; add it to LAYERS and the docs"
        for line, parts in imports(path):
            there = unit_of(parts)
            if there == here or (here in BASE and there in BASE):
                continue
            assert there in RANK, f"{rel}:{line}: imports {'.'.join(parts)}, which is in no layer"
            if RANK[there] >= RANK[here]:
                bad.append(f"{rel}:{line}: {here} imports {'.'.join(parts)} ({there} is not below)")
    return bad


def test_nothing_imports_upward() -> None:
    assert violations() == []


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    pkg = tmp_path / "longplay"
    (pkg / "catalog").mkdir(parents=True)
    (pkg / "catalog" / "store.py").write_text(
        "def f():\n    from longplay.pack import publish\n    import longplay.audio.scan\n"
    )
    (pkg / "audio").mkdir()
    (pkg / "audio" / "scan.py").write_text("from longplay.plan import weights\n")
    (pkg / "errors.py").write_text("from longplay import settings\n")
    found = " | ".join(violations(pkg))
    for wrong in (
        "catalog imports longplay.pack ",
        "catalog imports longplay.audio.scan",
        "audio imports longplay.plan ",
    ):
        assert wrong in found
    assert found.count(" imports ") == 3  # errors -> settings is inside the base: allowed


def test_the_architecture_doc_names_every_layer() -> None:
    doc = (PACKAGE.parent.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    for names in LAYERS:
        for name in names - {"__init__", "__main__"}:
            assert f"`{name}" in doc, f"docs/architecture.md does not mention `{name}`"
