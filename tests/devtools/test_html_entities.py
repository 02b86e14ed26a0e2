"""Telegram's HTML parse mode as the fake server applies it."""

from __future__ import annotations

import pytest

from bot.devtools.html_entities import EntityParseError, parse_html, utf16_len


def test_nested_tags_links_and_escapes() -> None:
    text, entities = parse_html('<b>Sum <i>10</i></b> &lt;RUB&gt; <a href="https://qiwi.com">link</a>')
    assert text == "Sum 10 <RUB> link"
    assert entities == [
        {"type": "bold", "offset": 0, "length": 6},
        {"type": "italic", "offset": 4, "length": 2},
        {"type": "text_link", "offset": 13, "length": 4, "url": "https://qiwi.com"},
    ]


def test_offsets_count_utf16_code_units() -> None:
    text, entities = parse_html("✅💸 <b>done</b>")
    assert utf16_len("💸") == 2
    assert entities == [{"type": "bold", "offset": 4, "length": 4}]
    assert text == "✅💸 done"


def test_pre_with_code_language_is_one_entity() -> None:
    _, entities = parse_html('<pre><code class="language-csv">a,b</code></pre> <code>x</code>')
    assert entities == [
        {"type": "pre", "offset": 0, "length": 3, "language": "csv"},
        {"type": "code", "offset": 4, "length": 1},
    ]


@pytest.mark.parametrize(
    ("markup", "problem"),
    [
        ("comment <script>alert()</script>", 'unsupported start tag "script"'),
        ("<b>open", 'can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'unmatched end tag "b"'),
        ("line<br/>break", 'unsupported start tag "br"'),
        ('<span class="x">y</span>', "tg-spoiler"),
    ],
)
def test_invalid_markup_is_rejected_like_telegram(markup: str, problem: str) -> None:
    with pytest.raises(EntityParseError, match="Can't parse entities") as caught:
        parse_html(markup)
    assert problem in str(caught.value)
