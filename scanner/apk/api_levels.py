"""Which Android API levels confirm each catalogue entry, from androguard's API-permission
mappings (``api_permission_mappings/permissions_<level>.json``, API 16-25, from the Axplorer
and PScout analyses of AOSP): a level confirms an entry when its mapping lists the entry's
member (any overload, for a method entry). The mappings cover permission-protected framework
methods only, so an entry they do not list is unconfirmed there, not absent.

``python -m scanner.apk.api_levels`` prints the listing; ``--write`` records it in
``rules/android-apis.yaml`` as each entry's ``checked_api_levels`` (tests/apk/test_catalogue_levels.py
holds the file to it).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from .catalogue import ApiCatalogue, ApiEntry, default_catalogue
from ..resources import rules_dir

_MAPPING_RE = re.compile(r"^permissions_(\d+)\.json$")


def mapping_dir() -> Path | None:
    """androguard's mapping folder, or ``None`` when the installed androguard has none."""
    try:
        import androguard.core.api_specific_resources as resources
    except ImportError:
        return None
    folder = Path(resources.__file__).parent / "api_permission_mappings"
    return folder if folder.is_dir() else None


def load_mappings(folder: Path) -> dict[int, set[tuple[str, str, str]]]:
    """API level -> (class, name, prototype) of every member its mapping lists."""
    out: dict[int, set[tuple[str, str, str]]] = {}
    for path in sorted(folder.iterdir()):
        match = _MAPPING_RE.match(path.name)
        if not match:
            continue
        members = set()
        for key in json.loads(path.read_text(encoding="utf-8")):
            cls, _, rest = key.partition(";-")
            name, _, proto = rest.partition("-")
            members.add((cls + ";", name, proto.replace(" ", "")))
        out[int(match.group(1))] = members
    return out


def confirmed_levels(entry: ApiEntry, mappings: dict[int, set[tuple[str, str, str]]]) -> tuple[int, ...]:
    """The API levels whose mapping lists the entry's member."""
    levels = []
    for level, members in sorted(mappings.items()):
        if entry.all_overloads:
            if any(c == entry.class_name and n == entry.name for c, n, _ in members):
                levels.append(level)
        elif (entry.class_name, entry.name, entry.proto) in members:
            levels.append(level)
    return tuple(levels)


def listing(catalogue: ApiCatalogue, mappings: dict[int, set[tuple[str, str, str]]]) -> dict[str, tuple[int, ...]]:
    """Entry id -> confirmed API levels, for every entry of the catalogue."""
    return {entry.id: confirmed_levels(entry, mappings) for entry in catalogue.entries}


def _write(levels: dict[str, tuple[int, ...]], path: Path) -> None:
    lines = path.read_text(encoding="utf-8").split("\n")
    for i, line in enumerate(lines):
        match = re.match(r"^  - \{id: ([^,]+), ", line)
        if not match or match.group(1) not in levels:
            continue
        line = re.sub(r" checked_api_levels: \[[^\]]*\],", "", line)
        found = levels[match.group(1)]
        if found:
            line = line.replace(" verification: {", f" checked_api_levels: [{', '.join(map(str, found))}], verification: {{", 1)
        lines[i] = line
    path.write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str]) -> int:
    """Print the listing; with ``--write``, record it in the shipped catalogue."""
    folder = mapping_dir()
    if folder is None:
        print("the installed androguard has no api_permission_mappings", file=sys.stderr)
        return 1
    mappings = load_mappings(folder)
    levels = listing(default_catalogue(), mappings)
    for api_id, found in levels.items():
        print(f"{api_id}\t{','.join(map(str, found)) or '-'}")
    checked = sum(1 for f in levels.values() if f)
    print(f"# {checked} of {len(levels)} entries confirmed at one or more of API {min(mappings)}-{max(mappings)}",
          file=sys.stderr)
    if "--write" in argv:
        _write(levels, rules_dir() / "android-apis.yaml")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
