"""Personal data and secret redaction for the app's answers, prompts and logs.

Pattern-based recognisers in the manner of Microsoft Presidio's predefined ones (email, phone,
credit card with the Luhn checksum, IBAN, US SSN, IPv4) plus common API-key shapes. The app is
a system under test with its own redaction (it uses no aichaos internals), so a detector
change in aichaos never silently changes the system it grades.

TODO(issue 11): replace these patterns with a different, well-kept offline library (scrubadub,
or presidio's pattern-only recognisers) and re-measure the demo; kept as they were here so the
demo's figures stay unchanged in the refactor that gave the app its own copy.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_PATTERNS: dict[str, re.Pattern[str]] = {
    "api_key": re.compile(
        r"\b(?:sk-(?:ant-)?[A-Za-z0-9_\-]{16,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}"
        r"|xox[baprs]-[A-Za-z0-9\-]{10,})\b"
    ),
    "bearer": re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._\-]{12,}"),
    "email": re.compile(r"\b[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+\b"),
    "credit_card": re.compile(r"\b(?:\d[ \-]?){12,18}\d\b"),
    "iban": re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b"),
    "us_ssn": re.compile(r"\b\d{3}-\d{2}-\d{4}\b"),
    "phone": re.compile(
        r"(?<![\w+])(?<!\d[ .\-])(?:\+\d{1,3}[ .\-]?)?(?:\(\d{2,4}\)[ .\-]?|\d{2,4}[ .\-])"
        r"\d{3,4}[ .\-]?\d{3,4}\b(?![ .\-]?\d)"
    ),
    "ipv4": re.compile(r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b"),
}


@dataclass(frozen=True, slots=True)
class PiiMatch:
    """A detected span: ``kind`` (email, phone, credit_card, ...) and ``start``/``end`` offsets."""

    kind: str
    start: int
    end: int
    text: str


def luhn_valid(digits: str) -> bool:
    """Luhn (mod 10) checksum of a digit string, as used by payment card numbers (ISO/IEC 7812)."""
    nums = [int(c) for c in digits if c.isdigit()]
    if len(nums) < 13:
        return False
    total = 0
    for i, n in enumerate(reversed(nums)):
        if i % 2 == 1:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def find_pii(text: str, secrets: Iterable[str] = ()) -> list[PiiMatch]:
    """Non-overlapping PII/secret spans in ``text``, earliest first.

    Args:
        text: any string.
        secrets: literal values that must be found wherever they occur (configured API keys,
            canaries), reported as kind ``secret``.
    """
    found: list[PiiMatch] = []
    for secret in secrets:
        if secret and len(secret) >= 4:
            for m in re.finditer(re.escape(secret), text):
                found.append(PiiMatch("secret", m.start(), m.end(), m.group()))
    for kind, pattern in _PATTERNS.items():
        for m in pattern.finditer(text):
            if kind == "credit_card" and not luhn_valid(m.group()):
                continue
            found.append(PiiMatch(kind, m.start(), m.end(), m.group()))
    found.sort(key=lambda m: (m.start, -(m.end - m.start)))
    out: list[PiiMatch] = []
    for hit in found:
        if not out or hit.start >= out[-1].end:
            out.append(hit)
    return out


def mask_pii(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every detected span replaced by ``<KIND>`` (e.g. ``<EMAIL>``)."""
    matches = find_pii(text, secrets)
    if not matches:
        return text
    parts, pos = [], 0
    for m in matches:
        parts.append(text[pos : m.start])
        parts.append(f"<{m.kind.upper()}>")
        pos = m.end
    parts.append(text[pos:])
    return "".join(parts)
