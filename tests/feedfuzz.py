"""Hostile feed bodies for tests/test_feed_fuzz.py: mutants of the real samples, and generated feeds.

Every case is a pure function of its number (``random.Random(number)``), so a
failing case is reproduced by its number alone. Mutations are the kinds real
upstreams have been seen to carry: truncation, flipped bytes, deleted and
duplicated elements, junk inserted (bad references, NULs, stray markup, broken
encodings, entity declarations) and oversized values.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

UPSTREAM = Path(__file__).parent / "data/upstream"
SAMPLES = sorted(p for p in UPSTREAM.rglob("*") if p.suffix in (".xml", ".rdf", ".json")
                 and not p.name.endswith(".expected.json"))
# what hostile or careless feeds put where text belongs
JUNK = (
    b"&#99999999;", b"&#x110000;", b"&#0;", b"&bogus;", b"&", b"<", b"]]>", b"<![CDATA[", b"\x00", b"\xff\xfe",
    b"\xc3\x28", b"\xed\xa0\x80", b"<script>alert(1)</script>", b"<img src=x onerror=alert(1)>",
    b'<a href="javascript:alert(1)">x</a>', b"https://example.org:8o80/x", b"http://[::1", b"http://%zz/",
    b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]>', b"<?xml version='1.0' encoding='utf\xff'?>",
    b'<link href="https://example.org:99999/"/>', b"<title type=\"xhtml\"><div>", b"\xef\xbb\xbf",
    b"Mon, 99 Foo 2024 25:61:61 +9999", b"0000-00-00T00:00:00Z", b"9999-12-31T23:59:59+14:00",
    "Vector&lt;T&gt; \u202e\u0000\ufffd\U0001f600".encode(), b"\r\n\t ",
)
TEXTS = ("Plain", "Vector<T> & co", "<b>bold</b>", "&amp;&lt;", "\u00e9l\u00e8ve", "\u0412\u043b\u0430\u0434",
         "\U0001f600", "", " ", "a" * 5000, "https://example.org:8o80/x", "javascript:alert(1)", "&#99999999;")
DATES = ("2024-05-01T12:00:00Z", "Wed, 01 May 2024 12:00:00 GMT", "yesterday", "", "2024-13-45T99:99:99Z",
         "1970-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "Mon, 99 Foo 2024")
LINKS = ("https://example.org/a", "/relative", "", "mailto:x@example.org", "https://example.org:8o80/x",
         "http://[::1", "javascript:alert(1)", "https://\u00e9xample.org/\u00e9", "//example.org/x")


@dataclass(frozen=True, slots=True)
class Case:
    number: int
    how: str  # which sample and mutation, or "generated <format>", for the failure message
    body: bytes
    content_type: str


def cases(count: int, first: int = 0) -> Iterator[Case]:
    """``count`` cases from number ``first`` on: two mutants for each generated feed."""
    for number in range(first, first + count):
        rng = random.Random(number)
        yield _generated(number, rng) if number % 3 == 2 else _mutant(number, rng)


# -- mutants of the real samples ----------------------------------------------
def _mutant(number: int, rng: random.Random) -> Case:
    sample = rng.choice(SAMPLES)
    body = sample.read_bytes()
    kind = "json" if sample.suffix == ".json" else "xml"
    steps = []
    for _ in range(rng.randint(1, 3)):
        name, mutate = rng.choice(_BYTE_MUTATIONS + (_TREE_MUTATIONS if kind == "xml" else _JSON_MUTATIONS))
        body = mutate(body, rng)
        steps.append(name)
    content_type = "application/feed+json" if kind == "json" else "application/xml"
    return Case(number, f"{sample.name}: {' + '.join(steps)}", body, content_type)


def _truncate(body: bytes, rng: random.Random) -> bytes:
    return body[:rng.randrange(len(body) + 1)]


def _flip(body: bytes, rng: random.Random) -> bytes:
    data = bytearray(body)
    for _ in range(rng.randint(1, 8)):
        if data:
            data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data)


def _insert_junk(body: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(len(body) + 1)
    return body[:at] + rng.choice(JUNK) + body[at:]


def _oversize_bytes(body: bytes, rng: random.Random) -> bytes:
    """A long run of one junk piece where a value would stand (a text, an attribute)."""
    at = body.find(b">", rng.randrange(len(body) + 1)) + 1 or len(body)
    junk = rng.choice(JUNK)
    return body[:at] + junk * (rng.choice((1_000, 1_000_000)) // len(junk)) + body[at:]


def _tree(body: bytes) -> etree._Element | None:
    try:
        return etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return None  # an earlier step broke it: the tree mutations leave it as it is


def _serialize(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))


def _with_element(change: Callable[[etree._Element, etree._Element, random.Random], None],
                  ) -> Callable[[bytes, random.Random], bytes]:
    """A mutation of one element (below the root, chosen by ``rng``) and its parent; bytes an
    earlier step left unparsable stay as they are."""
    def mutate(body: bytes, rng: random.Random) -> bytes:
        root = _tree(body)
        elements = [e for e in root.iter() if e is not root and e.getparent() is not None] if root is not None else []
        if not elements or root is None:
            return body
        element = rng.choice(elements)
        change(element, element.getparent(), rng)  # type: ignore[arg-type]
        return _serialize(root)
    return mutate


def _delete(element: etree._Element, parent: etree._Element, rng: random.Random) -> None:
    parent.remove(element)


def _duplicate(element: etree._Element, parent: etree._Element, rng: random.Random) -> None:
    for _ in range(rng.choice((1, 2, 200))):
        parent.insert(parent.index(element), copy.deepcopy(element))


def _oversize_text(body: bytes, rng: random.Random) -> bytes:
    root = _tree(body)
    elements = [e for e in root.iter() if isinstance(e.tag, str)] if root is not None else []
    if not elements:
        return body
    target = rng.choice(elements)
    if rng.random() < 0.5:
        text = rng.choice(TEXTS) or "x"
        target.text = text * (rng.choice((10_000, 1_000_000)) // len(text))
    else:
        target.set("href", "https://example.org/" + "a" * rng.choice((10_000, 1_000_000)))
    return _serialize(root)  # type: ignore[arg-type]


def _json_mutation(change: Callable[[object, random.Random], object]) -> Callable[[bytes, random.Random], bytes]:
    def mutate(body: bytes, rng: random.Random) -> bytes:
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return body
        return json.dumps(change(data, rng), ensure_ascii=rng.random() < 0.5).encode()
    return mutate


def _json_nodes(data: object) -> list[tuple[dict[str, object] | list[object], str | int]]:
    """(container, key) of every value in ``data``."""
    found: list[tuple[dict[str, object] | list[object], str | int]] = []
    stack: list[object] = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            found.extend((node, k) for k in node)
            stack.extend(node.values())
        elif isinstance(node, list):
            found.extend((node, i) for i in range(len(node)))
            stack.extend(node)
    return found


def _json_delete(data: object, rng: random.Random) -> object:
    nodes = _json_nodes(data)
    if nodes:
        container, key = rng.choice(nodes)
        del container[key]  # type: ignore[arg-type]
    return data


def _json_retype(data: object, rng: random.Random) -> object:
    nodes = _json_nodes(data)
    if nodes:
        container, key = rng.choice(nodes)
        container[key] = rng.choice((None, 0, -1, 1e308, True, [], {}, "", [None], {"": []},  # type: ignore[index]
                                     rng.choice(TEXTS) * 1000, rng.choice(DATES), rng.choice(LINKS)))
    return data


def _json_duplicate(data: object, rng: random.Random) -> object:
    lists = [(c, k) for c, k in _json_nodes(data) if isinstance(c, list)]
    if lists:
        container, key = rng.choice(lists)
        container.extend([container[key]] * rng.choice((1, 500)))  # type: ignore[union-attr, index]
    return data


_BYTE_MUTATIONS = (("truncated", _truncate), ("bytes flipped", _flip), ("junk inserted", _insert_junk),
                   ("oversized run", _oversize_bytes))
_TREE_MUTATIONS = (("element deleted", _with_element(_delete)), ("element duplicated", _with_element(_duplicate)),
                   ("oversized value", _oversize_text))
_JSON_MUTATIONS = (("value deleted", _json_mutation(_json_delete)), ("value retyped", _json_mutation(_json_retype)),
                   ("items duplicated", _json_mutation(_json_duplicate)))


# -- generated feeds ----------------------------------------------------------
def _generated(number: int, rng: random.Random) -> Case:
    kind = rng.choice(("rss", "atom", "json"))
    entries = rng.choice((0, 1, 3, 30))
    if kind == "json":
        body = _json_feed(rng, entries)
        return Case(number, "generated JSON Feed", body, "application/feed+json")
    body = (_rss(rng, entries) if kind == "rss" else _atom(rng, entries)).encode("utf-8", "surrogatepass")
    if rng.random() < 0.3:
        body = _insert_junk(body, rng)
    return Case(number, f"generated {kind}", body, rng.choice(("application/xml", "text/html", "")))


def _x(text: str, rng: random.Random) -> str:
    """``text`` escaped as XML, or raw (some feeds forget), or in CDATA."""
    choice = rng.random()
    if choice < 0.6:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"<![CDATA[{text}]]>" if choice < 0.8 else text


def _rss(rng: random.Random, entries: int) -> str:
    items = "".join(
        f"<item><title>{_x(rng.choice(TEXTS), rng)}</title><link>{_x(rng.choice(LINKS), rng)}</link>"
        f"<description>{_x(rng.choice(TEXTS), rng)}</description><pubDate>{rng.choice(DATES)}</pubDate>"
        f"<guid isPermaLink=\"{rng.choice(('true', 'false'))}\">{_x(rng.choice(TEXTS + LINKS), rng)}</guid>"
        f"<category>{_x(rng.choice(TEXTS), rng)}</category>"
        f"<enclosure url=\"{rng.choice(LINKS)}\" length=\"{rng.choice(('1', '-5', 'x', ''))}\" type=\"audio/mpeg\"/>"
        f"<author>{_x(rng.choice(TEXTS), rng)}</author></item>"
        for _ in range(entries))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{_x(rng.choice(TEXTS), rng)}'
            f"</title><link>{_x(rng.choice(LINKS), rng)}</link><description>d</description>"
            f"<ttl>{rng.choice(('60', '-1', 'x', '99999999999'))}</ttl>{items}</channel></rss>")


def _atom(rng: random.Random, entries: int) -> str:
    def text(tag: str) -> str:
        kind = rng.choice(("text", "html", "xhtml", "bogus"))
        value = rng.choice(TEXTS)
        inner = f'<div xmlns="http://www.w3.org/1999/xhtml">{_x(value, rng)}</div>' if kind == "xhtml" else _x(value, rng)
        return f'<{tag} type="{kind}">{inner}</{tag}>'

    items = "".join(
        f"<entry><id>{_x(rng.choice(TEXTS + LINKS), rng)}</id>{text('title')}{text('summary')}{text('content')}"
        f'<link rel="{rng.choice(("alternate", "enclosure", "related", ""))}" href="{_x(rng.choice(LINKS), rng)}"/>'
        f"<updated>{rng.choice(DATES)}</updated><published>{rng.choice(DATES)}</published>"
        f'<category term="{_x(rng.choice(TEXTS), rng)}"/><author><name>{_x(rng.choice(TEXTS), rng)}</name>'
        f"<uri>{_x(rng.choice(LINKS), rng)}</uri></author></entry>"
        for _ in range(entries))
    base = f' xml:base="{_x(rng.choice(LINKS), rng)}"' if rng.random() < 0.3 else ""
    return (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"{base}>'
            f"{text('title')}<id>urn:x:feed</id><updated>{rng.choice(DATES)}</updated>{items}</feed>")


def _json_feed(rng: random.Random, entries: int) -> bytes:
    def value() -> object:
        return rng.choice((rng.choice(TEXTS), rng.choice(LINKS), rng.choice(DATES), None, 7, [], {}))

    items = [{key: (rng.choice(TEXTS) if rng.random() < 0.5 else value())
              for key in rng.sample(("id", "url", "external_url", "title", "content_html", "content_text", "summary",
                                     "date_published", "date_modified", "tags", "authors", "attachments", "image"),
                                    rng.randint(0, 13))}
             for _ in range(entries)]
    feed = {"version": rng.choice(("https://jsonfeed.org/version/1.1", "https://jsonfeed.org/version/1", "x")),
            "title": value(), "home_page_url": value(), "items": items if rng.random() < 0.9 else value()}
    return json.dumps(feed, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")
