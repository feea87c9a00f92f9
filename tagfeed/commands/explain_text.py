"""The plain lines ``tagfeed explain`` prints, worded from the facts ``tagfeed.explain`` gathers.

Pure: it decides nothing and reads nothing, so the lines and ``--json``
always say the same thing.
"""

from __future__ import annotations

from typing import Any

Facts = dict[str, Any]


def render_lines(facts: Facts) -> list[str]:
    if facts["type"] == "blocked":
        return [f"article {facts['id']}", f"  title: {facts['title']}",
                "  not published: every source that gave it had it blocked by a rule:",
                *(f"    {_verdict(v)}" for v in facts["rules"])]
    return article_lines(facts) if facts["type"] == "article" else source_lines(facts)


def _verdict(v: Facts) -> str:
    verb = "blocked" if v["blocked"] else "kept"
    return f"{v['source']}: {verb} by {v['rule']} = '{v['query']}' ({v['why']}; {v['seen']})"


def article_lines(facts: Facts) -> list[str]:
    rule = facts["content_rule"]
    lines = [f"article {facts['id']}", f"  title: {facts['title']}", f"  id: {facts['id_origin']}",
             f"  source: {rule['source']} (its text is the one published)"]
    if facts["link"]:
        lines.append(f"  link: {facts['link']}")
    lines.append(f"  sources ({len(facts['sources'])}):")
    lines += [f"    {_sighting(s)}" for s in facts["sources"]]
    changed = "its content changed since" if facts["changed"] else "unchanged since"
    first = f"{facts['first_seen']} (the first build that read it)" if facts["first_seen"] else \
        "not recorded (stored before provenance was kept)"
    lines += [f"  first seen: {first}",
              f"  published: {_when(facts['published'])} ({facts['published_why']})",
              f"  updated: {_when(facts['updated'])} ({changed})",
              f"  content: {rule['why']}",
              "  tags: " + ("; ".join(_tag(t) for t in facts["tags"]) or "none"),
              f"  in the output (max_items = {facts['max_items']}):"]
    lines += [f"    {_files(group)}" for group in facts["files"]]
    if facts.get("rules"):
        lines.append("  rules:")
        lines += [f"    {_verdict(v)}" for v in facts["rules"]]
    return lines


def _sighting(source: Facts) -> str:
    tags = ", ".join(source["tags"]) or "none"
    seen = (f"first seen {source['first_seen']}, last seen {source['last_seen']}" if source["first_seen"]
            else "when not recorded (stored before provenance was kept)")
    text = "a teaser (cut short)" if source["truncated"] else "the full text"
    kept = "; its text is kept" if source["text_kept"] else ""
    return f"{source['name']}: tags {tags}; {seen}; gave {text}, {source['chars']} characters{kept}"


def _tag(tag: Facts) -> str:
    came = ", ".join(tag["from"]) or "no recorded source (kept from an earlier sighting)"
    return f"{tag['name']} ({tag['slug']}) from {came}"


def _files(group: Facts) -> str:
    prefix = f"tag {group['tag']['name']}: " if group["tag"] else ""
    return f"{prefix}{', '.join(group['paths'])} ({group['why']})"


def source_lines(facts: Facts) -> list[str]:
    kind = "feed" if facts["kind"] == "feed" else "tag-page dump"
    lines = [f"source {facts['name']} ({kind})",
             f"  state: {facts['state_why']}",
             f"  last error: {facts['last_error'] or 'none'}",
             f"  errors in a row: {facts['error_count']}",
             f"  last attempt: {_when(facts['last_attempt'])}; last ok: {_when(facts['last_ok'])}"]
    lines += _feed_lines(facts) if facts["kind"] == "feed" else [f"  next read: {facts['next_fetch_reason']}"]
    stored, contributed = facts["articles_stored"], facts["articles_contributed"]
    also = f" ({contributed} it contributed to, some with another source's text)" if contributed > stored else ""
    lines.append(f"  articles: {facts['article_count']} in its last answer; {stored} in the store from it{also}")
    return lines


def _feed_lines(facts: Facts) -> list[str]:
    held = (("ETag", facts["validators"]["etag"]), ("Last-Modified", facts["validators"]["last_modified"]))
    validators = ", ".join(f"{k} {v}" for k, v in held if v)
    lines = [f"  next fetch: {facts['next_fetch_reason']}",
             f"  validators: {validators or 'none stored (the next poll is a full GET)'}"]
    if facts["polled_at"]:
        lines.insert(0, f"  polled at: {facts['polled_at']} (it moved permanently)")
    if facts["ttl"]:
        lines.append(f"  feed <ttl>: {facts['ttl']} min")
    configured = facts["configured"]
    if configured is None:
        lines.append("  configured: no longer (its articles stay published)")
    else:
        tags = ", ".join(configured["tags"]) or "none besides the entries' own"
        lines.append(f"  configured: every {configured['every']}; tags: {tags}")
    return lines


def _when(value: str | None) -> str:
    return value or "never"
