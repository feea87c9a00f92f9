"""The first hour of a new user (issue 18.5): each mistake is one clear line, never a traceback,
and what is good keeps publishing. Every case runs the real command in a subprocess."""

from __future__ import annotations

import fcntl
import os
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from pytest_httpserver import HTTPServer

from helpers import ROOT, clean_env, free_port
from tagfeed.building.pipeline import build
from tagfeed.config import load_config
from tagfeed.serving.healthz import BuildTracker, read_health

TOML = """\
[site]
output_dir = "{output}"
state_dir = "state"
{site}
[[sources]]
type = "tagpage"
paths = {paths}
{more}"""


def _project(root: Path, *, output: str = "output", site: str = "", paths: str = '["seeds/*.txt"]',
             more: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    if not (root / "seeds").exists():
        (root / "seeds").symlink_to(ROOT / "seeds")
    (root / "tagfeed.toml").write_text(TOML.format(output=output, site=site, paths=paths, more=more),
                                       encoding="utf-8")
    return root


def _run(*args: str, cwd: Path, env: dict[str, str] | None = None,
         timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tagfeed", *args], cwd=cwd, env={**clean_env(), **(env or {})},
                          capture_output=True, text=True, timeout=timeout, check=False)


def _one_line(result: subprocess.CompletedProcess[str], code: int, *words: str) -> str:
    """The command failed with ``code`` and said so in exactly one stderr line holding ``words``."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert result.returncode == code and len(lines) == 1, (result.returncode, result.stderr)
    assert all(word in lines[0] for word in words), lines[0]
    return lines[0]


def test_work_without_psycopg_says_which_extra_to_install(tmp_path: Path) -> None:
    project = _project(tmp_path / "p", site='store = "postgresql://tagfeed@127.0.0.1:1/tagfeed"')
    blocker = tmp_path / "no-psycopg" / "psycopg"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'psycopg'\")\n")
    result = _run("work", cwd=project, env={"PYTHONPATH": f"{blocker.parent}{os.pathsep}{ROOT}"})
    _one_line(result, 1, "psycopg", "pip install 'tagfeed[postgresql]'")


def test_an_output_dir_that_cannot_be_made_or_is_a_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "afile").write_text("not a folder")
    for output, reason in (("/proc/nope", "cannot create the output directory"), ("afile", "not a directory")):
        project = _project(tmp_path / "p", output=output)
        _one_line(_run("build", cwd=project), 1, "output_dir", reason)
        # serve neither retries it on every schedule nor serves a folder that is not there
        _one_line(_run("serve", "--port", str(free_port()), cwd=project, timeout=60), 1, "output_dir", reason)
    assert not Path("/proc/nope").exists()


def test_serve_on_an_address_that_is_none_is_one_line(tmp_path: Path) -> None:
    project = _project(tmp_path / "p")
    _one_line(_run("serve", "--host", "999.1.1.1", cwd=project, timeout=60), 1, "999.1.1.1", "not an address")


def test_a_negative_cache_max_age_is_refused_from_the_file_and_the_environment(tmp_path: Path) -> None:
    project = _project(tmp_path / "p", site="cache_max_age = -5")
    _one_line(_run("build", cwd=project), 2, "site.cache_max_age", "0 or more")
    project = _project(tmp_path / "p")
    _one_line(_run("build", cwd=project, env={"TAGFEED_CACHE_MAX_AGE": "-5"}), 2, "site.cache_max_age")


def test_an_unknown_tagfeed_variable_is_warned_about_and_the_build_goes_on(tmp_path: Path) -> None:
    project = _project(tmp_path / "p")
    result = _run("build", cwd=project, env={"TAGFEED_MAX_ITEM": "3"})
    assert result.returncode == 0 and result.stdout.startswith("sources: 2 ok")
    _one_line(subprocess.CompletedProcess([], 2, "", result.stderr), 2,
              "TAGFEED_MAX_ITEM ", "did you mean TAGFEED_MAX_ITEMS?", "ignored")


def test_a_glob_matching_nothing_is_reported_and_the_other_globs_still_publish(tmp_path: Path) -> None:
    project = _project(tmp_path / "p", paths='["seeds/000_*.txt", "nope/*.txt", "seeds/003_*.txt"]')
    result = _run("build", cwd=project)
    _one_line(subprocess.CompletedProcess([], 0, "", result.stderr), 0, "nope/*.txt", "no file matches")
    assert result.returncode == 0 and result.stdout.startswith("sources: 2 ok, 1 failed;"), result.stdout
    assert (project / "output" / "tags" / "putin.atom").is_file()
    assert (project / "output" / "tags" / "sergei-lavrov.atom").is_file()


def test_a_second_build_says_it_waits_for_the_lock_and_for_whom(tmp_path: Path) -> None:
    project = _project(tmp_path / "p")
    (project / "state").mkdir()
    with open(project / "state" / "build.lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        held.write("pid 4242 (tagfeed serve) since 2024-05-01T10:00:00+00:00\n")
        held.flush()
        proc = subprocess.Popen([sys.executable, "-m", "tagfeed", "build"], cwd=project, env=clean_env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stderr is not None
        line = proc.stderr.readline()  # said before it blocks: it is still waiting now
        assert proc.poll() is None
        fcntl.flock(held, fcntl.LOCK_UN)
    out, err = proc.communicate(timeout=120)
    assert re.fullmatch(r"tagfeed: warning: waiting for the build lock of \S+state, held by pid 4242 "
                        r"\(tagfeed serve\) since 2024-05-01T10:00:00\+00:00\n", line), line
    assert proc.returncode == 0 and err == "" and out.startswith("sources: 2 ok")
    assert (project / "state" / "build.lock").read_text() == ""  # released: no stale holder named


def test_in_a_pipe_only_the_summary_which_counts_feeds_not_due_and_gone(tmp_path: Path,
                                                                        httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(
        b'<rss version="2.0"><channel><title>t</title><link>https://e.example/</link><description>d</description>'
        b'<item><title>One</title><link>https://e.example/1</link></item></channel></rss>',
        content_type="application/rss+xml")
    httpserver.expect_request("/gone").respond_with_data("", status=410)
    feeds = "".join(f'[[sources]]\ntype = "feed"\nurl = "{httpserver.url_for(p)}"\nevery = "1h"\n'
                    for p in ("/feed", "/gone"))
    project = _project(tmp_path / "p", site="host_gap = 0", more=feeds)
    first = _run("build", cwd=project)
    assert first.returncode == 0 and "HTTP 410" in first.stderr and first.stdout.startswith("sources: 3 ok, 1 failed;")
    second = _run("build", cwd=project)
    assert second.returncode == 0 and second.stderr == "", second.stderr  # no INFO line in a pipe
    assert second.stdout.startswith("sources: 2 ok, 0 failed, 1 not due, 1 gone;"), second.stdout
    assert len(second.stdout.splitlines()) == 2
    health = read_health(load_config(project / "tagfeed.toml", environ={}), BuildTracker())
    gone = next(s for s in health["sources"] if s["name"].endswith("/gone"))
    assert gone["state"] == "gone" and gone["next_fetch"] is None  # not "due in 9999"


def test_the_progress_counts_what_the_summary_counts(tmp_path: Path) -> None:
    project = _project(tmp_path / "p", paths='["seeds/*.txt", "nope/*.txt"]')
    seen: dict[str, tuple[int, int]] = {}
    report = build(load_config(project / "tagfeed.toml", environ={}), now=datetime(2024, 5, 1, tzinfo=timezone.utc),
                   progress=lambda stage, done, total: seen.__setitem__(stage, (done, total)))
    assert seen["reading"] == (3, 3) == (report.sources_ok + report.sources_failed,) * 2
    assert report.written and seen["writing"][0] == len(report.written)  # .gz twins included


def test_run_local_without_tagfeed_on_path_says_so(tmp_path: Path) -> None:
    result = subprocess.run(["bash", str(ROOT / "deploy" / "run-local.sh"), str(ROOT / "tagfeed.toml")],
                            cwd=tmp_path, env={**clean_env(), "TAGFEED": "tagfeed-not-installed-here",
                                               "RUN_DIR": str(tmp_path / "run")},
                            capture_output=True, text=True, timeout=60, check=False)
    _one_line(result, 1, "tagfeed-not-installed-here", "not found", ".venv/bin/tagfeed")
    assert not (tmp_path / "run").exists()


def test_explain_in_an_empty_folder_writes_nothing(tmp_path: Path) -> None:
    project = _project(tmp_path / "p")
    before = sorted(p.name for p in project.iterdir())
    _one_line(_run("explain", "anything", cwd=project), 1, "no store", "run `tagfeed build` first")
    assert sorted(p.name for p in project.iterdir()) == before  # no state/tagfeed.sqlite3


def test_the_readme_says_how_to_run_tagfeed_and_cites_only_files_it_has() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first = readme.index("```bash")
    assert ".venv/bin/tagfeed" in readme[first:first + 600]  # right after the first command
    assert (ROOT / "docs" / "tagpage-format.md").is_file() and "docs/tagpage-format.md" in readme
    output = readme[readme.index("## Output"):readme.index("## Design")]
    assert "\nstatus.atom " in output and "\ntags/<slug>/archive/<n>.atom " in output
    assert "max_bytes = " in readme[readme.index("### External feeds"):readme.index("## Settings")]
    for cited in set(re.findall(r"`((?:benchmarks|docs|deploy|tests|scripts)/[\w./-]+\.\w+)`", readme)):
        kept = (ROOT / cited).exists()
        assert kept or "not kept in the repository" in readme.split(cited, 1)[1][:200], cited
