"""Ratios against the targets, as a table on stdout, JSON, markdown and a PNG plot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# name, how it is computed (for the table), target, True when lower is better
Row = tuple[str, str, float | None, str, float | None]


def _div(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def ratios(r: dict[str, Any]) -> list[Row]:
    """(metric, definition, value, comparison, target) rows; a None target is information only."""
    base, tf = r["baseline"], r["tagfeed"]
    rows: list[Row] = [
        ("cold build", "tagfeed build process / baseline, no fsync (median pair)",
         _div(tf["cold"]["seconds"], base.get("nofsync_cold_s")), "<=", 1.3),
        ("cold build vs fsync per file", "tagfeed build process / baseline, fsync per file",
         _div(tf["cold"]["seconds"], base["cold_s"]), "info", None),
        ("rendering alone", "tagfeed render / baseline render", _div(tf["render_s"], base["render_s"]), "<=", 1.3),
        ("naive rendering", "feedgen+json.dumps render / baseline render",
         _div(r["naive"]["render_s"], base["render_s"]), "info", None),
        ("no-op rebuild", "no-op / cold", _div(tf["noop"]["seconds"], tf["cold"]["seconds"]), "<=", 0.25),
        ("no-op files written", "files", float(tf["noop"]["written"]), "<=", 0.0),
        ("one dump changed", "rebuild / cold", _div(tf["change"]["seconds"], tf["cold"]["seconds"]), "<=", 0.10),
        ("one dump changed: files", "files written (of all)", float(tf["change"]["written"]), "info", None),
        ("peak memory, cold build", "MiB, the tagfeed build process's max RSS (wait4)", tf["cold"]["cli_maxrss_mib"],
         "<=", 300.0),
    ]
    scaling = r.get("scaling", {})
    if "10000" in scaling and "1000" in scaling:
        rows.append(("scaling", "tagfeed t(10,000 tags) / t(1,000)",
                     _div(scaling["10000"]["tagfeed_s"], scaling["1000"]["tagfeed_s"]), "<=", 11.0))
    sizes = sorted(scaling, key=int)
    per_article = [(scaling[k]["tagfeed_maxrss_mib"] / scaling[k]["articles"]) for k in sizes if scaling[k].get("articles")]
    if len(per_article) >= 2:
        rows.append(("memory growth", f"peak MiB per article at {sizes[-1]} tags / at {sizes[0]}",
                     _div(per_article[-1], per_article[0]), "<=", 1.0))
    if len(sizes) >= 2:
        lo, hi = sizes[0], sizes[-1]
        rows.append((f"scaling {lo}->{hi}", f"tagfeed t({hi}) / t({lo}), tags x{int(hi) // int(lo)}",
                     _div(scaling[hi]["tagfeed_s"], scaling[lo]["tagfeed_s"]), "info", None))
    p = r["parsing"]
    rows.append(("feed parsing", "parse_feed (fastfeed tree reader + nh3) / feedparser defaults",
                 _div(p["tagfeed_feeds_per_s"], p["feedparser_default_feeds_per_s"]), ">=", 1.5))
    if "tagfeed_via_feedparser_feeds_per_s" in p:
        rows.append(("feed parsing, feedparser path", "parse_feed forced through feedparser (no sanitizer + nh3) "
                     "/ feedparser defaults", _div(p["tagfeed_via_feedparser_feeds_per_s"],
                                                   p["feedparser_default_feeds_per_s"]), "info", None))
    s = r.get("server")
    if s:
        for name, target in (("304", 3.0), ("gzip", 2.0), ("200", 2.0)):
            rows.append((f"server {name} req/s", f"tagfeed / naive send_file ({s.get('generator', 'python')})",
                         _div(s["tagfeed"][name]["rps"], s["naive"][name]["rps"]), ">=", target))
        rows.append(("server 304 p99", "ms, 16 connections", s["tagfeed"]["304"]["p99_ms"], "<=", 10.0))
        if "tagfeed-metrics" in s:
            rows.append(("server 304 req/s, metrics on", "tagfeed with site.metrics / without",
                         _div(s["tagfeed-metrics"]["304"]["rps"], s["tagfeed"]["304"]["rps"]), ">=", 0.9))
    return rows


def met(row: Row) -> str:
    _, _, value, op, target = row
    if target is None or value is None:
        return "-"
    return "yes" if (value <= target if op == "<=" else value >= target) else "NO"


def table(rows: list[Row]) -> str:
    lines = ["| metric | definition | value | target | met |", "|---|---|---:|---|---|"]
    for row in rows:
        name, what, value, op, target = row
        shown = "n/a" if value is None else f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
        goal = "" if target is None else f"{op} {target:g}"
        lines.append(f"| {name} | {what} | {shown} | {goal} | {met(row)} |")
    return "\n".join(lines)


def raw_table(r: dict[str, Any]) -> str:
    """The absolute numbers behind the ratios (seconds, req/s), for the record."""
    base, tf = r["baseline"], r["tagfeed"]
    lines = [f"- site: {r['tags']} tags, {tf['cold']['articles']} articles; {r['cpus']} CPUs; "
             f"baseline JSON via {base['json']}",
             f"- baseline: parse {base['parse_s']:.2f} s, render {base['render_s']:.2f} s, "
             f"cold {base['cold_s']:.2f} s with fsync per file, {base.get('nofsync_cold_s', 0):.2f} s without "
             f"({base['files']} files), peak {base['maxrss_mib']:.0f} MiB",
             f"- naive feedgen renderer: render {r['naive']['render_s']:.2f} s",
             f"- tagfeed: cold {tf['cold']['seconds']:.2f} s ({tf['cold']['written']} files), "
             f"no-op {tf['noop']['seconds']:.2f} s ({tf['noop']['written']} written), "
             f"one dump changed {tf['change']['seconds']:.2f} s ({tf['change']['written']} written), "
             f"render {tf['render_s']:.2f} s"]
    pairs = r.get("cold_pairs", [])
    if pairs:
        lines.append("- cold pairs (baseline without fsync, tagfeed, ratio): " + "; ".join(
            f"{p['baseline_nofsync_s']:.2f} s, {p['tagfeed_s']:.2f} s, {p['ratio']:.2f}" for p in pairs))
    for size, point in sorted(r.get("scaling", {}).items(), key=lambda kv: int(kv[0])):
        lines.append(f"- scaling {size} tags: tagfeed {point['tagfeed_s']:.2f} s, baseline {point['baseline_s']:.2f} s, "
                     f"tagfeed process peak {point['tagfeed_maxrss_mib']:.0f} MiB"
                     + (f" for {point['articles']} articles" if "articles" in point else ""))
    s = r.get("server")
    if s:
        lines.append(f"- load generator: {s.get('generator_detail', s.get('generator', 'python http.client'))}")
        for kind in [k for k in ("tagfeed", "tagfeed-metrics", "naive") if k in s]:
            parts = [f"{name} {s[kind][name]['rps']:.0f} req/s p99 {s[kind][name]['p99_ms']:.1f} ms"
                     for name in ("200", "304", "gzip")]
            lines.append(f"- server {kind}: " + ", ".join(parts))
        lines.append(f"- nginx: {s.get('nginx', 'not installed; skipped')}")
    return "\n".join(lines)


def plot(r: dict[str, Any], path: Path) -> str | None:
    """The scaling curve; skipped (with the reason) without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib not installed (pip install -e '.[bench]')"
    points = sorted(r["scaling"].items(), key=lambda kv: int(kv[0]))
    sizes = [int(k) for k, _ in points]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(sizes, [v["tagfeed_s"] for _, v in points], "o-", label="tagfeed build (cold)")
    ax.plot(sizes, [v["baseline_s"] for _, v in points], "s--", label="streaming baseline (cold)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("tags (50 articles each, every article on 2 tags)")
    ax.set_ylabel("seconds")
    ax.set_title("tagfeed cold build vs the streaming baseline")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None


def save(r: dict[str, Any], rows: list[Row], out: Path, name: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    r["ratios"] = [{"metric": n, "definition": d, "value": v, "op": op, "target": t, "met": met((n, d, v, op, t))}
                   for n, d, v, op, t in rows]
    paths = [out / f"{name}.json", out / f"{name}.md"]
    paths[0].write_text(json.dumps(r, indent=2) + "\n", encoding="utf-8")
    paths[1].write_text(f"# tagfeed benchmark ({name})\n\n{table(rows)}\n\n{raw_table(r)}\n", encoding="utf-8")
    png = out / f"{name}-scaling.png"
    why = plot(r, png)
    if why is None:
        paths.append(png)
    else:
        r["plot"] = why
    return paths
