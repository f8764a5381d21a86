"""Every link in the project's documentation leads somewhere.

Relative links must name a file or folder of the repository, and an `#anchor`
must match a heading of the page it points to, slugged as GitHub slugs
headings. External links are checked for their form only: the tests never go on
the network.
"""

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
# [text](target) and ![alt](target), with an optional "title"; the target may be
# written <in angle brackets>.
_INLINE_LINK = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+\"[^\"]*\")?\s*\)"
)
_REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(\S+)")
_AUTOLINK = re.compile(r"<((?:https?|mailto):[^>\s]+)>")
_HTML_ANCHOR = re.compile(r"<a\s+(?:id|name)=\"([^\"]+)\"", re.IGNORECASE)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def documentation_files() -> list[Path]:
    """The pages whose links are checked: the README, docs/, the benchmarks."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    pages += [ROOT / "bench" / "README.md", ROOT / "BENCHMARKS.md"]
    return [page for page in pages if page.exists()]


def _prose_lines(text: str) -> list[tuple[int, str]]:
    """The lines outside fenced code blocks, numbered from 1."""
    lines: list[tuple[int, str]] = []
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        opening = _FENCE.match(line)
        if opening:
            if fence is None:
                fence = opening.group(1)
            elif opening.group(1) == fence:
                fence = None
            continue
        if fence is None:
            lines.append((number, line))
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's text, before duplicates are numbered.

    As the github-slugger package that GitHub's renderer follows (npm page of
    github-slugger 2.0.0, checked 2026-12-06): lowercase, drop every character
    that is not a letter, digit, underscore, hyphen or space, then turn each
    space into a hyphen (runs are not collapsed). Inline markup is rendered
    first, so a code span keeps its text and a link keeps only its words."""
    text = _CODE_SPAN.sub(lambda m: m.group(2).strip(), heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = text.replace("*", "")
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every anchor a page offers: its headings' slugs, a repeated slug numbered
    -1, -2... in order, and explicit `<a id=...>` / `<a name=...>` anchors."""
    seen: Counter[str] = Counter()
    found: set[str] = set()
    for _, line in _prose_lines(text):
        found.update(_HTML_ANCHOR.findall(line))
        heading = _HEADING.match(line)
        if not heading:
            continue
        base = slug(heading.group(2))
        found.add(f"{base}-{seen[base]}" if seen[base] else base)
        seen[base] += 1
    return found


@dataclass(frozen=True)
class Link:
    """One link of a page: where it is and what it points to."""

    page: Path
    line: int
    target: str


def links(page: Path, text: str) -> list[Link]:
    """The links of a page's prose (code blocks and code spans are not links)."""
    found: list[Link] = []
    for number, line in _prose_lines(text):
        prose = _CODE_SPAN.sub("", line)
        targets = [t.strip("<>") for t in _INLINE_LINK.findall(prose)]
        targets += _REFERENCE_DEFINITION.findall(prose)
        targets += _AUTOLINK.findall(prose)
        found += [Link(page, number, target) for target in targets]
    return found


def problem(link: Link, root: Path = ROOT) -> str | None:
    """Why `link` leads nowhere, or None when it resolves."""
    if _SCHEME.match(link.target):
        parts = urlsplit(link.target)
        if parts.scheme in {"http", "https"}:
            return None if parts.netloc and " " not in link.target else "malformed web address"
        if parts.scheme == "mailto":
            return None if "@" in parts.path else "malformed e-mail address"
        return f"unexpected scheme {parts.scheme!r}"
    path_part, _, anchor = link.target.partition("#")
    target = (link.page.parent / unquote(path_part)).resolve() if path_part else link.page
    if not target.is_relative_to(root):
        return "points outside the repository"
    if not target.exists():
        return f"no such file: {target.relative_to(root)}"
    if not anchor:
        return None
    if target.suffix != ".md" or target.is_dir():
        return f"an anchor into {target.relative_to(root)}, which has no headings"
    if unquote(anchor) not in anchors(target.read_text(encoding="utf-8")):
        return f"no heading with the anchor #{anchor} in {target.relative_to(root)}"
    return None


def test_the_pages_checked_include_the_readme_and_docs() -> None:
    pages = {page.relative_to(ROOT).as_posix() for page in documentation_files()}
    assert "README.md" in pages
    assert "docs/README.md" in pages
    assert {"bench/README.md", "BENCHMARKS.md"} <= pages


@pytest.mark.parametrize(
    "page", documentation_files(), ids=lambda p: p.relative_to(ROOT).as_posix()
)
def test_every_link_of_the_page_resolves(page: Path) -> None:
    broken = [
        f"{link.page.relative_to(ROOT)}:{link.line}: {link.target}: {why}"
        for link in links(page, page.read_text(encoding="utf-8"))
        if (why := problem(link)) is not None
    ]
    assert not broken, "\n".join(broken)


def test_every_docs_page_has_a_table_of_contents() -> None:
    # A page of several sections links to each of them (levels 2 and 3).
    for page in sorted((ROOT / "docs").glob("*.md")):
        text = page.read_text(encoding="utf-8")
        sections = [
            slug(m.group(2))
            for _, line in _prose_lines(text)
            if (m := _HEADING.match(line)) and len(m.group(1)) in (2, 3)
        ]
        if len(sections) < 2:
            continue
        own = {link.target for link in links(page, text) if link.target.startswith("#")}
        missing = [s for s in sections if f"#{s}" not in own]
        assert missing == [], f"{page.name}: sections missing from its contents: {missing}"


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        ("The two commands", "the-two-commands"),
        (
            "Scheduling from the database instead (pg_cron)",
            "scheduling-from-the-database-instead-pg_cron",
        ),
        ("The `v1` contract", "the-v1-contract"),
        ("1. Database", "1-database"),
        (
            'A badge and "mark all as read" in one request each',
            "a-badge-and-mark-all-as-read-in-one-request-each",
        ),
        ("Kept: a & b", "kept-a--b"),
        (
            "Per-person tables have no `organization_id`",
            "per-person-tables-have-no-organization_id",
        ),
        ("See [the lease](x.md)", "see-the-lease"),
        ("Påminnelser før utløp", "påminnelser-før-utløp"),
    ],
)
def test_slug_follows_github(heading: str, expected: str) -> None:
    assert slug(heading) == expected


def test_a_repeated_heading_gets_a_numbered_anchor() -> None:
    page = "# Title\n## Notes\n## Notes\n```\n## not a heading\n```\n"
    assert anchors(page) == {"title", "notes", "notes-1"}


def test_broken_links_and_anchors_are_found(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A\n## Real section\n", encoding="utf-8")
    page = tmp_path / "README.md"
    page.write_text(
        "[ok](docs/a.md#real-section) [gone](docs/missing.md) [bad](docs/a.md#no-such)\n"
        "[self](#here) `[code](docs/nowhere.md)` <https://example.org/x>\n"
        "[up](../outside.md) [web](https://) [mail](mailto:someone)\n"
        "## Here\n",
        encoding="utf-8",
    )
    found = {
        link.target: problem(link, tmp_path)
        for link in links(page, page.read_text(encoding="utf-8"))
    }
    assert found == {
        "docs/a.md#real-section": None,
        "docs/missing.md": "no such file: docs/missing.md",
        "docs/a.md#no-such": "no heading with the anchor #no-such in docs/a.md",
        "#here": None,
        "https://example.org/x": None,
        "../outside.md": "points outside the repository",
        "https://": "malformed web address",
        "mailto:someone": "malformed e-mail address",
    }
