"""An upstream-style Atom feed: 50 entries whose content is real-world HTML (links, images, lists)."""

from __future__ import annotations

from html import escape

from benchmarks.synth import article_text

_ENTRY = """  <entry>
    <id>http://example.org/posts/{j}</id>
    <title>{title}</title>
    <link rel="alternate" href="/posts/{j}.html"/>
    <published>2024-01-{day:02d}T10:00:00Z</published>
    <updated>2024-01-{day:02d}T12:00:00Z</updated>
    <category term="news"/><category term="tag-{tag}"/>
    <summary>{summary}</summary>
    <content type="html">{content}</content>
  </entry>
"""


def _html(j: int, paragraphs: list[str]) -> str:
    parts = [f'<p><img src="/img/{j}.jpg" alt="photo {j}" width="640" onerror="x()"> {paragraphs[0]}</p>',
             f'<p>{paragraphs[1]} <a href="../related/{j}" style="color:red">related</a>, '
             f'<em>via</em> <a href="http://example.org/x?a=1&amp;b=2">source</a>.</p>',
             "<ul><li>one</li><li><strong>two</strong></li><li><script>alert(1)</script>three</li></ul>",
             f"<blockquote><p>{paragraphs[0][:120]}</p></blockquote>"]
    return "\n".join(parts)


def sample_feed(entries: int = 50) -> bytes:
    out = ['<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
           'xml:base="http://example.org/">\n  <id>http://example.org/feed</id>\n  <title>Example</title>\n'
           '  <updated>2024-01-31T12:00:00Z</updated>\n  <link rel="self" href="http://example.org/feed.atom"/>\n']
    for j in range(entries):
        title, paragraphs = article_text(j)
        out.append(_ENTRY.format(j=j, title=escape(title), day=1 + j % 28, tag=j % 7,
                                 summary=escape(paragraphs[0]), content=escape(_html(j, paragraphs))))
    out.append("</feed>\n")
    return "".join(out).encode("utf-8")
