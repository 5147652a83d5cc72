"""Prints the folder-level import graph of the product code (tests, bench and scripts left out).

Each edge ``a -> b  (n)`` says that n import statements in folder ``a`` name a module in folder ``b``. A folder
is ``dealtalk.<top>`` or, with ``--depth 3``, ``dealtalk.<top>.<sub>``. Used for ARCHITECTURE.md and for the
before/after picture of a layout change; the rules themselves are checked by import-linter (scripts/lint.sh).
"""

from __future__ import annotations

import argparse
import ast
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOP_LEVEL = (
    "contracts",
    "ingest",
    "transcription",
    "nlp",
    "publisher",
    "models",
    "pipeline",
    "api",
    "emulators",
)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(["dealtalk", *parts])


def imported_modules(path: Path, own: str) -> list[str]:
    names: list[str] = []
    package = own if path.name == "__init__.py" else own.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                names.append(".".join([*base, node.module] if node.module else base))
            elif node.module:
                names.append(node.module)
    return [name for name in names if name.startswith("dealtalk.")]


def folder(module: str, depth: int) -> str:
    parts = module.split(".")
    return ".".join(parts[: min(depth, len(parts) - 1) if len(parts) > depth else depth])


def edges(depth: int) -> Counter[tuple[str, str]]:
    counts: Counter[tuple[str, str]] = Counter()
    for top in TOP_LEVEL:
        for path in sorted((ROOT / top).rglob("*.py")) if (ROOT / top).is_dir() else []:
            if "migrations" in path.parts:
                continue
            own = module_name(path)
            source = ".".join(own.split(".")[:depth])
            for target_module in imported_modules(path, own):
                target = ".".join(target_module.split(".")[:depth])
                if target != source:
                    counts[(source, target)] += 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=2, help="2: dealtalk.<top>; 3: one level further")
    args = parser.parse_args()
    counts = edges(args.depth)
    for (source, target), n in sorted(counts.items()):
        back = counts.get((target, source), 0)
        mark = "  <-> cycle" if back else ""
        print(f"{source} -> {target}  ({n}){mark}")


if __name__ == "__main__":
    main()
