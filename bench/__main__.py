"""``python -m bench`` runs every benchmark; ``python -m bench NAME [ARGS...]`` runs one.

NAME is a module ``bench/bench_NAME.py`` (``startup`` and ``bench_startup`` both work);
ARGS go to its ``main``. Each module's ``main`` takes an optional argument list.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
from pathlib import Path


def available() -> list[str]:
    """Short names of every bench_*.py module, sorted."""
    here = str(Path(__file__).resolve().parent)
    return sorted(
        info.name.removeprefix("bench_")
        for info in pkgutil.iter_modules([here])
        if info.name.startswith("bench_")
    )


def run(name: str, argv: list[str]) -> None:
    module = importlib.import_module(f"bench.bench_{name}")
    entry = module.main
    if inspect.signature(entry).parameters:
        entry(argv)
    else:
        entry()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    names = available()
    if args and args[0] in ("-h", "--help"):
        print(__doc__.strip())
        print("\navailable: " + ", ".join(names))
        return 0
    if not args:
        for name in names:
            print(f"== {name} ==", flush=True)
            run(name, [])
            print(flush=True)
        return 0
    name = args[0].removeprefix("bench_").removesuffix(".py")
    if name not in names:
        print(f"no benchmark named {args[0]!r}; available: {', '.join(names)}", file=sys.stderr)
        return 2
    run(name, args[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
