"""Prints the folder-level import graph of the product code (tests, bench and scripts left out).

Each edge ``a -> b  (n)`` says that n import statements in folder ``a`` name a module in folder ``b``; a pair
that imports both ways is marked as a cycle. A folder is ``dealtalk.<top>`` or, with ``--depth 3``,
``dealtalk.<top>.<sub>``. ``--follow MODULE`` instead lists the product files a reader may open to follow that
module: every module it imports, at the top or inside a function, and theirs in turn. ``--root`` reads another
checkout (an older commit), for before/after pictures. The rules are checked by import-linter
(``scripts/lint.sh``); this script only draws.
"""

from __future__ import annotations

import argparse
import ast
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The folders are the import contracts' root packages (pyproject.toml), so the drawing and the check agree.
TOP_LEVEL = tuple(
    name.removeprefix("dealtalk.")
    for name in tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"][
        "root_packages"
    ]
)


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(["dealtalk", *parts])


def product_modules(root: Path) -> dict[str, Path]:
    """Every product module under ``root`` by its installed name (Alembic migrations left out)."""
    found: dict[str, Path] = {}
    for top in TOP_LEVEL:
        folder = root / top
        for path in sorted(folder.rglob("*.py")) if folder.is_dir() else []:
            if "migrations" not in path.parts:
                found[module_name(path, root)] = path
    return found


def imported_modules(path: Path, own: str) -> list[str]:
    """The ``dealtalk.*`` names that ``path``'s import statements name, anywhere in the file."""
    names: list[str] = []
    package = own if path.name == "__init__.py" else own.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            names.append(module)
            # ``from package import module`` names a module too.
            names.extend(f"{module}.{alias.name}" for alias in node.names)
    return [name for name in names if name.startswith("dealtalk.")]


def edges(root: Path, depth: int) -> Counter[tuple[str, str]]:
    modules = product_modules(root)
    counts: Counter[tuple[str, str]] = Counter()
    for own, path in modules.items():
        source = ".".join(own.split(".")[:depth])
        for target_module in imported_modules(path, own):
            if target_module not in modules:
                continue
            target = ".".join(target_module.split(".")[:depth])
            if target != source:
                counts[(source, target)] += 1
    return counts


def follow(root: Path, start: str) -> list[Path]:
    """The files reachable from ``start`` over import statements (function-level ones included)."""
    modules = product_modules(root)
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen or name not in modules:
            continue
        seen.add(name)
        todo.extend(imported_modules(modules[name], name))
    return sorted(modules[name].relative_to(root) for name in seen)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--depth", type=int, default=2, help="2: dealtalk.<top>; 3: one level further")
    parser.add_argument("--follow", metavar="MODULE", help="list the files reachable from MODULE instead")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to read (default: this one)")
    args = parser.parse_args()
    if args.follow:
        files = follow(args.root, args.follow)
        for path in files:
            print(path)
        print(f"{len(files)} files")
        return
    counts = edges(args.root, args.depth)
    for (source, target), n in sorted(counts.items()):
        mark = "  <-> cycle" if counts.get((target, source)) else ""
        print(f"{source} -> {target}  ({n}){mark}")


if __name__ == "__main__":
    main()
