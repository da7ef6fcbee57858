"""An mkdocs hook for the generated CLI reference: click keeps a block marked ``\\b``
(the commands' "Examples:") as it is written, but as Markdown it would run together into one
paragraph. A paragraph whose lines after the first are all indented becomes that first line
and a code block of the rest, as ``--help`` shows it."""

from __future__ import annotations

import re
import textwrap
from typing import Any

_BLOCK = re.compile(r"<p>([^<\n]*:)\n((?:[ \t]+[^\n]*\n?)+)</p>")


def _split(match: re.Match[str]) -> str:
    code = textwrap.dedent(match.group(2)).strip("\n")
    return f"<p>{match.group(1)}</p>\n<pre><code class=\"language-text\">{code}\n</code></pre>"


def on_page_content(html: str, page: Any, **kwargs: Any) -> str:
    if page.file.src_uri != "reference/cli.md":
        return html
    return _BLOCK.sub(_split, html)
