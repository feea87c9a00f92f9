"""The real `tagfeed` command in subprocesses, as a user runs it."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lxml import etree

from helpers import DATA, ROOT, run_tagfeed


def _sections(help_text: str) -> tuple[str, dict[str, list[str]]]:
    """click's help page: the description under "Usage:", and each titled section's lines."""
    head, *rest = re.split(r"^(\w[\w ]*):$", help_text, flags=re.M)
    sections = {title: body.strip("\n").splitlines() for title, body in zip(rest[::2], rest[1::2], strict=True)}
    description = " ".join(head.split("\n", 1)[1].split()) if "\n" in head.strip() else ""
    return description, sections


def _undescribed(lines: list[str]) -> list[str]:
    """Entries of a Commands:/Options: list that have no help text beside or under them."""
    missing = []
    for n, line in enumerate(lines):
        if re.match(r"  \S", line) and len(re.split(r"\s{2,}", line.strip())) < 2:
            following = lines[n + 1] if n + 1 < len(lines) else ""
            if not re.match(r"\s{6,}\S", following):  # click puts a long entry's help on the next line
                missing.append(line.strip())
    return missing


def test_every_command_has_its_own_help() -> None:
    """Each command, and each of its options, says what it does, in words of its own: a command
    or option added without help text (or with another's) fails here."""
    top = run_tagfeed("--help", cwd=ROOT)
    assert top.returncode == 0, top.stderr
    summary, sections = _sections(top.stdout)
    assert summary and not _undescribed(sections["Commands"]), top.stdout
    commands = [line.split()[0] for line in sections["Commands"] if re.match(r"  \S", line)]
    assert {"parse", "build", "serve", "work", "explain", "import-opml"} <= set(commands)
    seen: dict[str, str] = {}
    for command in commands:
        result = run_tagfeed(command, "--help", cwd=ROOT)
        assert result.returncode == 0 and result.stdout.startswith("Usage: "), (command, result.stderr)
        description, options = _sections(result.stdout)
        assert len(description.split()) >= 5, (command, result.stdout)  # a sentence, not a word
        assert description not in seen and description != summary, (command, seen.get(description))
        seen[description] = command
        assert not _undescribed(options["Options"]), (command, result.stdout)


def test_parse_seeds_json() -> None:
    result = run_tagfeed("parse", *sorted(str(p) for p in (ROOT / "seeds").glob("*.txt")), "--json", cwd=ROOT)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    by_tag: dict[str, list[dict]] = {}
    for row in rows:
        by_tag.setdefault(row["tags"][0]["name"], []).append(row)
    assert {k: len(v) for k, v in by_tag.items()} == {"Putin": 10, "Sergei Lavrov": 7}
    assert sum(r["caption"] is not None for r in by_tag["Putin"]) == 0
    assert sum(r["caption"] is not None for r in by_tag["Sergei Lavrov"]) == 3
    expected = json.loads((DATA / "tagpages" / "seed_kind_b_lavrov.expected.json").read_text())
    assert [r["title"] for r in by_tag["Sergei Lavrov"]] == [a["title"] for a in expected["articles"]]
    assert [r["paragraphs"] for r in by_tag["Sergei Lavrov"]] == [a["paragraphs"] for a in expected["articles"]]
    assert all(isinstance(r["paragraphs"], list) and r["id"].startswith("urn:uuid:") for r in rows)


def test_parse_bad_file_names_it_and_prints_the_rest() -> None:
    bad = DATA / "not_tagpages" / "page.html"
    good = ROOT / "seeds" / "000_0d1a8655cd7d2e58.txt"
    result = run_tagfeed("parse", str(bad), str(good), cwd=ROOT)
    assert result.returncode == 1
    assert str(bad) in result.stderr and "HTML" in result.stderr
    assert len(result.stdout.splitlines()) == 10


def _tree_digest(output: Path) -> dict[str, str]:
    return {str(p.relative_to(output)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(output.rglob("*")) if p.is_file()}


def test_build_twice_writes_nothing_the_second_time(project: Path) -> None:
    first = run_tagfeed("build", cwd=project)
    assert first.returncode == 0, first.stderr
    assert "0 unchanged" in first.stdout and "errors: 0" in first.stdout
    before = _tree_digest(project / "output")
    mtimes = {p: p.stat().st_mtime_ns for p in (project / "output").rglob("*") if p.is_file()}
    second = run_tagfeed("build", cwd=project)
    assert second.returncode == 0, second.stderr
    assert "files: 0 written" in second.stdout
    assert _tree_digest(project / "output") == before
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes
    assert {"all.atom", "all.rss", "all.json", "index.html", "feeds.opml", "tags/putin.atom",
            "tags/sergei-lavrov.json", "tags/putin.html", "all.atom.gz"} <= set(before)


def test_build_with_a_broken_source_still_publishes(project: Path) -> None:
    (project / "seeds" / "zz_broken.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    result = run_tagfeed("build", cwd=project)
    assert result.returncode == 0
    assert "zz_broken.txt" in result.stderr and "not a text file" in result.stderr
    assert "1 failed" in result.stdout
    assert (project / "output" / "tags" / "putin.atom").is_file()
    strict = run_tagfeed("build", "--strict", cwd=project)
    assert strict.returncode == 1 and "zz_broken.txt" in strict.stderr


def test_missing_path_and_bad_config(project: Path) -> None:
    (project / "tagfeed.toml").write_text('[[sources]]\ntype = "tagpage"\npaths = ["nowhere.txt"]\n')
    result = run_tagfeed("build", cwd=project)
    assert result.returncode == 0 and "nowhere.txt" in result.stderr and "not found" in result.stderr
    (project / "tagfeed.toml").write_text('[site]\nmax_itmes = 3\n')
    result = run_tagfeed("build", cwd=project)
    assert result.returncode == 2 and "site.max_itmes" in result.stderr and "unknown key" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def _write_big_site(project: Path, pages: int, variant: str) -> None:
    seeds = project / "seeds"
    for n in range(pages):
        body = "\n\n".join(f"Story {variant} {n}-{i} about topic {n}\n\nParagraph {'x ' * 200}."
                           for i in range(20))
        (seeds / f"big_{n:03}.txt").write_text(f"topic {n}\n\n{body}\n", encoding="utf-8")


def _assert_complete(output: Path, *, temps_allowed: bool) -> None:
    for path in output.rglob("*"):
        if not path.is_file():
            continue
        if path.name.startswith("."):
            assert temps_allowed, f"temp file left behind: {path}"
            continue
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
            name = path.name[:-3]
        else:
            name = path.name
        if name.endswith((".atom", ".rss", ".xml")):
            etree.fromstring(data)
        elif name.endswith(".json"):
            json.loads(data)
        elif name.endswith(".html"):
            assert data.rstrip().endswith(b"</html>"), path


@pytest.mark.parametrize("delay", [0.6, 1.2, 2.0])
def test_sigkill_mid_build_leaves_only_complete_files(project: Path, delay: float) -> None:
    _write_big_site(project, 40, "old")
    assert run_tagfeed("build", cwd=project).returncode == 0
    _write_big_site(project, 40, "new")
    proc = subprocess.Popen([sys.executable, "-m", "tagfeed", "build"], cwd=project,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    _assert_complete(project / "output", temps_allowed=True)
    assert run_tagfeed("build", cwd=project).returncode == 0  # the next build recovers
    _assert_complete(project / "output", temps_allowed=False)
    assert "Story new 39-19" in (project / "output" / "tags" / "topic-39.atom").read_text(encoding="utf-8")
