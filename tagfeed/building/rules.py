"""Keep and block rules (``keep = '...'``, ``block = '...'`` on a source and in ``[site]``), applied
as a source's articles are ingested, before they meet other sources' copies.

A source publishes an article unless a block rule (its own or the site's) matches it, or a keep
rule (its own or the site's) is set and does not. Only that source's copy is dropped: another
source may still publish the article. Each decision a rule made is a ``Verdict``, kept in the
store (``rule_verdicts``) so that ``tagfeed explain`` can say which rule blocked or kept what.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sources.model import Article, article_id
from tagfeed.config import Config, FeedSource, Source
from tagfeed.query import Query, matches
from tagfeed.query.match import Subject
from tagfeed.store.tables import Tables, VerdictRow


@dataclass(frozen=True, slots=True)
class Rule:
    """One configured rule: where it is set (``sources[2].block``, ``site.keep``) and its query."""

    where: str
    action: str  # "keep" | "block"
    query: Query


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the rules decided for one source's copy of an article, and which rule decided it."""

    article_id: str
    source: str
    title: str
    link: str
    blocked: bool
    rule: str  # Rule.where
    query: str
    why: str  # the terms that matched, or why a keep rule did not


def source_rules(config: Config, index: int) -> tuple[Rule, ...]:
    """The source's own rules, then the site's: blocks before keeps (a block always wins)."""
    source: Source = config.sources[index]
    found = [(f"sources[{index}]", source.keep, source.block), ("site", config.site.keep, config.site.block)]
    rules = [Rule(f"{where}.block", "block", block) for where, _, block in found if block is not None]
    rules += [Rule(f"{where}.keep", "keep", keep) for where, keep, _ in found if keep is not None]
    return tuple(rules)


def judge(rules: Sequence[Rule], article: Article, source: str, now: datetime) -> Verdict | None:
    """The verdict on one article from ``source``: None when no rule had a say."""
    subject = Subject(article)
    kept: Verdict | None = None
    for rule in rules:
        why = matches(rule.query, subject, now)
        if rule.action == "block" and why is not None:
            return _verdict(article, source, rule, True, why.describe())
        if rule.action == "keep" and why is None:
            return _verdict(article, source, rule, True, "the keep rule did not match")
        if rule.action == "keep" and why is not None and kept is None:
            kept = _verdict(article, source, rule, False, why.describe())
    return kept


def _verdict(article: Article, source: str, rule: Rule, blocked: bool, why: str) -> Verdict:
    return Verdict(article.id, source, article.title, article.link or "", blocked, rule.where, rule.query.text, why)


@dataclass
class Rules:
    """Every source's rules for one build, and the verdicts they gave (to be stored)."""

    by_source: dict[Source, tuple[Rule, ...]] = field(default_factory=dict)
    now: datetime | None = None
    verdicts: list[Verdict] = field(default_factory=list)
    read: set[str] = field(default_factory=set)  # sources whose rules judged a read this build

    @classmethod
    def of(cls, config: Config, now: datetime) -> Rules:
        return cls(now=now, by_source={s: source_rules(config, i) for i, s in enumerate(config.sources)})

    def for_source(self, config_source: Source) -> tuple[Rule, ...]:
        return self.by_source.get(config_source, ())

    def apply(self, rules: Sequence[Rule], name: str, articles: Iterable[Article]) -> list[Article]:
        """The articles ``rules`` let ``name`` publish; each verdict is noted."""
        found = list(articles)
        if not rules or self.now is None or not found:
            return found
        self.read.add(name)
        out = []
        for article in found:
            verdict = judge(rules, article, name, self.now)
            if verdict is not None:
                self.verdicts.append(verdict)
            if verdict is None or not verdict.blocked:
                out.append(article)
        return out


def admitter(config: Config) -> Callable[[FeedSource, Sequence[Article], datetime],
                                          tuple[list[Article], list[VerdictRow] | None]]:
    """The rules of ``config``'s sources for feeds polled under leases (``tagfeed work``, or a
    build on a shared store: ``tagfeed.poll.shared``), which store each poll by itself: the
    articles a poll may publish, and the verdicts that replace the source's earlier ones (None
    when no rule judged it)."""
    by_source = Rules.of(config, datetime.min).by_source  # each source's rules, made once

    def admit(source: FeedSource, articles: Sequence[Article],
              now: datetime) -> tuple[list[Article], list[VerdictRow] | None]:
        rules = Rules(by_source=by_source, now=now)
        kept = rules.apply(rules.for_source(source), source.url, articles)
        if source.url not in rules.read:
            return kept, None
        when = now.isoformat()
        return kept, [verdict_row(v, when) for v in rules.verdicts]

    return admit


def verdict_row(verdict: Verdict, when: str) -> tuple[str, str, str, str, int, str, str, str, str]:
    v = verdict
    return (v.article_id, v.source, v.title, v.link, int(v.blocked), v.rule, v.query, v.why, when)


def verdict_facts(store: Tables, target: str) -> list[dict[str, Any]]:
    """What the rules decided for the article ``target`` names (id, title or link), per source."""
    rows = store.verdicts_for(target) or store.verdicts_for(article_id(target))
    return [{"id": r[0], "source": r[1], "title": r[2], "link": r[3], "blocked": bool(r[4]), "rule": r[5],
             "query": r[6], "why": r[7], "seen": r[8]} for r in rows]


def rules_fingerprint(rules: Sequence[Rule]) -> str:
    """What a settled dump's key adds when rules apply to it: new rules, a new read."""
    return "" if not rules else "|rules:" + "\n".join(f"{r.where}={r.query.text}" for r in rules)
