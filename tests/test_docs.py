"""The documentation holds together: its links lead somewhere, and its endpoint index is the route table's.

- Every relative link in ``README.md`` and ``docs/*.md`` names a file or folder of the repository (never
  one outside it); a ``#anchor`` names a heading of the target page, slugged as GitHub slugs headings.
- Every route of ``app.OPENAI``, ``app.OLLAMA`` and the top-level routes appears, as ```METHOD /path```,
  in the README's endpoint index (Ollama's may instead be in ``docs/ollama.md``), in a table row or
  paragraph that links the module serving it; and every ```METHOD /path``` there is a route.
- Every file a page names in a code span (``routes/files.py``, ``migrations/0001_files.sql``) exists.
- ``docs/README.md`` links every page of ``docs/``.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest
from starlette.routing import BaseRoute, Route

from openai_workers_ai import app

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]

FENCE = re.compile(r"^\s{0,3}(```|~~~)")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
LINK = re.compile(r"\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?([^\s>]+)")
HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$")
HTML_ANCHOR = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
LINE_ANCHOR = re.compile(r"^L\d+(-L\d+)?$")  # GitHub's line anchors on source files
ROUTE_SPAN = re.compile(r"^(GET|HEAD|POST|PUT|PATCH|DELETE) (/\S*)$")


def prose_lines(text: str) -> Iterator[str]:
    """The lines outside fenced code blocks."""
    fenced = False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            yield line


def link_targets(line: str) -> list[str]:
    """The targets of the inline links and reference definitions on ``line``, not counting code spans."""
    blanked = CODE_SPAN.sub(lambda m: m.group(1) + "x" * len(m.group(2)) + m.group(1), line)
    return [m.group(1) for m in LINK.finditer(blanked)] + [m.group(1) for m in REFERENCE.finditer(blanked)]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text, lowercase, punctuation dropped, each space a hyphen."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link counts by its text
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").replace("*", "")
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every ``#anchor`` that ``page`` defines (repeated headings get ``-1``, ``-2``, … as on GitHub)."""
    found: set[str] = set()
    seen: Counter[str] = Counter()
    for line in prose_lines(page.read_text()):
        found.update(HTML_ANCHOR.findall(line))
        if match := HEADING.match(line):
            base = slug(match.group(1))
            found.add(base if seen[base] == 0 else f"{base}-{seen[base]}")
            seen[base] += 1
    return found


def broken_links(page: Path) -> list[str]:
    """What is wrong with each relative link of ``page``."""
    problems = []
    for line in prose_lines(page.read_text()):
        for target in link_targets(line):
            if SCHEME.match(target):
                continue  # a web address: not checked offline
            path, _, fragment = target.partition("#")
            resolved = (page.parent / unquote(path)).resolve() if path else page
            if not resolved.is_relative_to(ROOT):
                problems.append(f"{target}: outside the repository")
            elif not resolved.exists():
                problems.append(f"{target}: no such file")
            elif fragment and resolved.suffix == ".md":
                if unquote(fragment) not in anchors(resolved):
                    problems.append(f"{target}: no heading of {resolved.relative_to(ROOT)} makes #{fragment}")
            elif fragment and not (resolved.is_file() and LINE_ANCHOR.match(fragment)):
                problems.append(f"{target}: #{fragment} names nothing in {resolved.relative_to(ROOT)}")
    return problems


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Chat completions: tools, structured output, vision, `n`, reasoning",
         "chat-completions-tools-structured-output-vision-n-reasoning"),
        ("Embeddings — `POST /v1/embeddings`", "embeddings--post-v1embeddings"),
        ("No orphans, no data loss", "no-orphans-no-data-loss"),
        ("Tags, show and ps", "tags-show-and-ps"),
        ("`MAX_FILE_BYTES` and [the limits](x.md)", "max_file_bytes-and-the-limits"),
    ],
)
def test_slug_follows_github(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor


def test_repeated_headings_are_numbered(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Errors\n\n## Errors\n\n```\n# not a heading\n```\n\n## Errors\n")
    assert anchors(page) == {"errors", "errors-1", "errors-2"}


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_relative_links_lead_to_files_and_headings(page: Path) -> None:
    problems = broken_links(page)
    assert not problems, "\n".join(problems)


SOURCE_MENTION = re.compile(r"[\w./-]+\.(?:py|sql|toml)")
PACKAGE = ROOT / "src" / "openai_workers_ai"


def missing_sources(page: Path) -> list[str]:
    """The files named in code spans (``routes/files.py``, ``wrangler.toml``) that the repository lacks.

    A path resolves from the repository, ``src/`` or the package; a bare name (``translation.py``, after
    ``simulator/speech_recognition.py``) may be any file of that name under ``src/``, ``tests/`` or ``bench/``.
    """
    missing = []
    for line in prose_lines(page.read_text()):
        for code in CODE_SPAN.finditer(line):
            name = code.group(2)
            if not SOURCE_MENTION.fullmatch(name):
                continue
            if any((base / name).is_file() for base in (ROOT, ROOT / "src", PACKAGE)):
                continue
            if "/" not in name and any(next((ROOT / d).rglob(name), None) for d in ("src", "tests", "bench")):
                continue
            missing.append(name)
    return missing


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_files_named_in_code_exist(page: Path) -> None:
    missing = missing_sources(page)
    assert not missing, f"{page.relative_to(ROOT)} names files that are not in the repository: {missing}"


def test_docs_index_links_every_page() -> None:
    index = DOCS / "README.md"
    linked = {(index.parent / t.partition("#")[0]).resolve() for line in prose_lines(index.read_text())
              for t in link_targets(line) if not SCHEME.match(t)}
    unlisted = sorted(p.name for p in DOCS.glob("*.md") if p != index and p not in linked)
    assert not unlisted, f"docs/README.md does not link {unlisted}"


# --- the endpoint index against the route table -------------------------------------------------------------


def section(page: Path, title: str) -> list[str]:
    """The lines of ``page`` under the heading ``## {title}``, up to the next heading of that level."""
    lines = list(prose_lines(page.read_text()))
    start = lines.index(f"## {title}") + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("## ")), len(lines))
    return lines[start:end]


def blocks(lines: list[str]) -> Iterator[str]:
    """Each table row, and each paragraph or list item joined into one line."""
    block: list[str] = []
    for line in [*lines, ""]:
        if block and (not line.strip() or line.lstrip().startswith(("|", "- ", "#"))):
            yield " ".join(block)
            block = []
        if line.lstrip().startswith("|"):
            yield line
        elif line.strip():
            block.append(line.strip())


Line = tuple[str, Path]  # a block of a page, and the folder its relative links start from

README_INDEX: list[Line] = [(text, ROOT) for text in blocks(section(README, "Endpoints"))]
OLLAMA_PAGE: list[Line] = [(text, DOCS) for text in blocks(list(prose_lines((DOCS / "ollama.md").read_text())))]


def route_spans(routes: list[BaseRoute], prefix: str) -> Iterator[tuple[str, str, Path]]:
    """(method, ```METHOD /path```, the module file serving it) for each method of each route."""
    for route in routes:
        if isinstance(route, Route):
            path = prefix + re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)  # {model:path} is written {model}
            module = sys.modules[route.endpoint.__module__].__file__
            assert module is not None
            for method in sorted(route.methods or ()):
                yield method, f"`{method} {path}`", Path(module).resolve()


ROUTE_SPANS: list[tuple[str, str, Path, list[Line]]] = [
    *((method, span, module, README_INDEX) for method, span, module in route_spans(app.ROUTES, "")),
    *((method, span, module, README_INDEX) for method, span, module in route_spans(app.OPENAI, "/v1")),
    *((method, span, module, README_INDEX + OLLAMA_PAGE) for method, span, module in route_spans(app.OLLAMA, "")),
]


def links(line: Line, module: Path) -> bool:
    text, base = line
    return any((base / t).resolve() == module for t in link_targets(text) if not SCHEME.match(t))


def test_every_route_is_in_the_endpoint_index_with_its_module() -> None:
    implied_head = {span.replace("`GET ", "`HEAD ") for method, span, _, _ in ROUTE_SPANS if method == "GET"}
    missing = []
    for _, span, module, lines in ROUTE_SPANS:
        if span in implied_head:
            continue  # Starlette answers HEAD wherever it answers GET
        rows = [line for line in lines if span in line[0]]
        if not rows:
            missing.append(f"{span}: not in the endpoint index")
        elif not any(links(row, module) for row in rows):
            missing.append(f"{span}: its line does not link {module.relative_to(ROOT)}")
    assert not missing, "\n".join(missing)


def test_every_endpoint_in_the_index_is_a_route() -> None:
    routes = {span for _, span, _, _ in ROUTE_SPANS}
    spans = {f"`{m.group(0)}`" for text, _ in README_INDEX + OLLAMA_PAGE for code in CODE_SPAN.finditer(text)
             if (m := ROUTE_SPAN.match(code.group(2)))}
    stale = sorted(spans - routes)
    assert not stale, f"in the endpoint index but not in app.py's route table: {stale}"
