"""Text the databases cannot hold, stored escaped.

PostgreSQL rejects NUL (U+0000) in ``text`` values, and neither SQLite's nor PostgreSQL's
driver can encode a lone UTF-16 surrogate (U+D800..U+DFFF) to UTF-8. Inputs built by
perturbations, outputs of a broken target, and error messages can hold either. Every text
column of the store is an :class:`EscapedText` / :class:`EscapedString`: a surrogate pair is
joined into the character it encodes, and what is still unencodable is written as the
six-character escape ``\\uXXXX`` (``\\u0000`` for NUL, ``\\udc80`` for a lone surrogate), the
same spelling JSON uses. Text without such characters is stored unchanged. The escape is
one-way: reading gives the escaped spelling back.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def escape_text(text: str) -> str:
    """``text`` with NUL and lone surrogates written as ``\\uXXXX`` (else unchanged).

    Example: ``escape_text("a\\x00b")`` is ``"a\\\\u0000b"`` (seven characters).
    """
    if not _UNSTORABLE.search(text):
        return text
    if _SURROGATE.search(text):  # join valid pairs (e.g. from json surrogate escapes) first
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    return _UNSTORABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class EscapedText(sa.types.TypeDecorator[str]):
    """``TEXT`` whose bound values pass through :func:`escape_text`."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        return escape_text(value) if isinstance(value, str) else value


class EscapedString(sa.types.TypeDecorator[str]):
    """``VARCHAR(n)`` whose bound values pass through :func:`escape_text`."""

    impl = sa.String
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        return escape_text(value) if isinstance(value, str) else value
