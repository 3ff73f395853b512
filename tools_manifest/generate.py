"""Write the generated files: ``python -m tools_manifest.generate`` (``--check``: exit 1 if any is stale)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from tools_manifest.docs import llms_full_txt, llms_txt, tools_json, with_readme_table

ROOT = Path(__file__).resolve().parent.parent

GENERATED: dict[str, Callable[[str], str]] = {
    "tools_manifest/tools.json": lambda _old: tools_json(),
    "llms.txt": lambda _old: llms_txt(),
    "llms-full.txt": lambda _old: llms_full_txt(),
    "README.md": with_readme_table,
}


def stale(root: Path = ROOT) -> list[str]:
    """Generated files whose content differs from what the registry makes now."""
    found = []
    for name, make in GENERATED.items():
        path = root / name
        old = path.read_text(encoding="utf-8") if path.exists() else ""
        if make(old) != old:
            found.append(name)
    return found


def write(root: Path = ROOT) -> list[str]:
    changed = stale(root)
    for name in changed:
        path = root / name
        old = path.read_text(encoding="utf-8") if path.exists() else ""
        path.write_text(GENERATED[name](old), encoding="utf-8")
    return changed


def main(argv: list[str]) -> int:
    if "--check" in argv:
        outdated = stale()
        for name in outdated:
            print(f"stale: {name} (run: python -m tools_manifest.generate)")
        return 1 if outdated else 0
    for name in write():
        print(f"wrote {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
