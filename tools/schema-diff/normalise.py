"""Normalise `pg_dump --schema-only` output for scripts/schema-diff.

Two databases holding the same schema dump the same entries, but not always
in the same order: pg_dump sorts by dependencies and then by creation order,
and an ACL entry lists its GRANTs in the order they were made. So the dump is
cut into its table-of-contents entries (each starts with a `-- Name: ...`
header), the lines that differ from run to run are dropped, the lines of ACL
entries are sorted, and the entries are sorted. Reads stdin, writes stdout.
"""

import re
import sys

VOLATILE = ("-- Dumped from", "-- Dumped by", "\\restrict", "\\unrestrict")
HEADER = re.compile(r"^-- (Data for )?Name: ")


def entries(lines: list[str]) -> list[list[str]]:
    """The dump's TOC entries, each a list of its lines (header included)."""
    found: list[list[str]] = [[]]
    for line in lines:
        if HEADER.match(line):
            found.append([])
        if line.startswith(VOLATILE) or line in ("--", ""):
            continue
        found[-1].append(line)
    return [entry for entry in found if entry]


def main() -> None:
    """Print the normalised dump."""
    normalised = []
    for entry in entries(sys.stdin.read().splitlines()):
        if "; Type: ACL;" in entry[0] or "; Type: DEFAULT ACL;" in entry[0]:
            entry = [entry[0], *sorted(entry[1:])]
        normalised.append("\n".join(entry))
    sys.stdout.write("\n\n".join(sorted(normalised)) + "\n")


main()
