"""Format shifts: the question arrives wrapped in JSON, HTML, Markdown, CSV or an email thread.

Users paste payloads, web pages, spreadsheet rows and forwarded mail; integrations forward
raw JSON. Each plugin embeds the whole original text (escaped as the format requires) so the
question is still there; severity adds surrounding structure and noise. Source: PromptBench
and NL-Augmenter format/style shifts; real support-desk traffic.
"""

from __future__ import annotations

import csv
import html
import io
import json
import random
from typing import Any

from aichaos.perturb._base import Lineage, Perturbation, register

_NAMES = ("Alex Kim", "Maria Rossi", "Jonas Weber", "Aiko Tanaka", "Priya Nair", "Sam Lee")
_DATES = ("Mon, 3 Jun 2024 09:14", "Tue, 14 May 2024 17:02", "Fri, 1 Mar 2024 11:45")


def _summary(fmt: str, severity: int) -> Lineage:
    return [{"op": "format", "format": fmt, "severity": severity}]


@register
class FormatJSON(Perturbation):
    """Wrap the prompt in a JSON document; the output always parses as JSON.

    Severity 1 ``{"question": ...}``; 2 adds user and metadata objects; 3 buries it in a
    chat-log array of messages, pretty-printed. ``json.dumps`` escapes control characters
    (up to 6 output characters per input character).
    """

    name = "format_json"
    summary = "prompt wrapped in a JSON payload"
    source = "format shift; PromptBench/NL-Augmenter style transforms"
    max_growth = 6.0
    max_extra = 600

    def _perturb(self, text: str, rng: random.Random) -> tuple[str, Lineage]:
        doc: Any
        if self.severity == 1:
            doc = {"question": text}
        elif self.severity == 2:
            doc = {
                "user": {"id": rng.randrange(10**6), "name": rng.choice(_NAMES)},
                "message": {"text": text, "lang": "en", "channel": "web"},
                "meta": {"retries": 0, "client": "ios-5.2.1"},
            }
        else:
            doc = {
                "session": f"s-{rng.getrandbits(32):08x}",
                "messages": [
                    {"role": "system", "content": "You are a helpful assistant."},
                    {"role": "user", "content": {"type": "text", "parts": [{"text": text}]}},
                ],
                "options": {"temperature": 0.2, "stream": False, "tags": ["prod", "eu"]},
            }
        out = json.dumps(doc, ensure_ascii=False, indent=2 if self.severity == 3 else None)
        return out, _summary("json", self.severity)


@register
class FormatHTML(Perturbation):
    """Wrap the HTML-escaped prompt in markup: a ``<p>``; a page; a page with scripts,
    nested tables and numeric character references for 20 % of letters.
    """

    name = "format_html"
    summary = "prompt wrapped in HTML markup"
    source = "format shift (web page paste); HTML Living Standard character references"
    max_growth = 10.0
    max_extra = 600

    def _perturb(self, text: str, rng: random.Random) -> tuple[str, Lineage]:
        body = html.escape(text).replace("\n", "<br>\n")
        if self.severity == 1:
            return f"<p>{body}</p>", _summary("html", 1)
        if self.severity == 3:
            body = "".join(
                f"&#{ord(ch)};" if ch.isalpha() and rng.random() < 0.2 else ch
                for ch in html.escape(text)
            ).replace("\n", "<br>\n")
            body = f'<table><tr><td><div class="msg"><span>{body}</span></div></td></tr></table>'
            noise = "<script>window.dataLayer=[];</script><style>.msg{color:#333}</style>"
        else:
            body = f'<div class="msg"><p>{body}</p></div>'
            noise = ""
        page = (
            '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Support</title>'
            f'{noise}</head><body><nav><a href="/">Home</a> | <a href="/help">Help</a></nav>'
            f"{body}<footer>&copy; 2024 Example Inc.</footer></body></html>"
        )
        return page, _summary("html", self.severity)


@register
class FormatMarkdown(Perturbation):
    """Wrap the prompt in Markdown: bold label; heading + blockquote + list; a table cell
    (pipes escaped, newlines as ``<br>``) followed by a fenced code block. CommonMark/GFM.
    """

    name = "format_markdown"
    summary = "prompt wrapped in Markdown structure"
    source = "format shift; CommonMark and GitHub Flavored Markdown tables"
    max_growth = 5.0
    max_extra = 400

    def _perturb(self, text: str, rng: random.Random) -> tuple[str, Lineage]:
        if self.severity == 1:
            out = f"**Question:** {text}"
        elif self.severity == 2:
            quoted = "\n".join("> " + line for line in text.split("\n"))
            ticket = rng.randrange(1000, 9999)
            out = f"## Ticket #{ticket}\n\n{quoted}\n\n- priority: high\n- [x] urgent\n"
        else:
            cell = text.replace("|", "\\|").replace("\n", "<br>")
            out = (
                "| field | value |\n|---|---|\n"
                f"| id | {rng.randrange(10**5)} |\n| question | {cell} |\n\n"
                "```yaml\nstatus: open\nowner: [see above](#)\n```\n"
            )
        return out, _summary("markdown", self.severity)


@register
class FormatCSV(Perturbation):
    """Put the prompt in a CSV row (RFC 4180 quoting by Python's ``csv``): one row with a
    header; several columns and a second row; ``;``-separated, all fields quoted.
    """

    name = "format_csv"
    summary = "prompt pasted as a CSV row"
    source = "format shift (spreadsheet paste); RFC 4180"
    max_growth = 2.0
    max_extra = 400

    def _perturb(self, text: str, rng: random.Random) -> tuple[str, Lineage]:
        buf = io.StringIO()
        if self.severity == 1:
            w = csv.writer(buf, lineterminator="\n")
            w.writerows([["id", "question"], [rng.randrange(1000), text]])
        elif self.severity == 2:
            w = csv.writer(buf, lineterminator="\n")
            w.writerow(["id", "customer", "question", "created", "status"])
            w.writerow([rng.randrange(1000), rng.choice(_NAMES), text, "2024-06-03", "open"])
            w.writerow([rng.randrange(1000), rng.choice(_NAMES), "n/a, see above", "", "closed"])
        else:
            w = csv.writer(buf, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\r\n")
            w.writerow(["ID", "Kunde", "Frage", "Betrag"])
            w.writerow([rng.randrange(1000), rng.choice(_NAMES), text, "1.234,50"])
        return buf.getvalue(), _summary("csv", self.severity)


@register
class FormatEmailThread(Perturbation):
    """Wrap the prompt in an email: headers and signature; plus a quoted earlier reply;
    or forwarded, with the question itself quoted ``> `` two levels deep (RFC 5322 headers,
    RFC 3676 quoting).
    """

    name = "format_email_thread"
    summary = "prompt inside an email thread with headers and quoted replies"
    source = "format shift (forwarded mail); RFC 5322, RFC 3676"
    max_growth = 5.0
    max_extra = 800

    def _perturb(self, text: str, rng: random.Random) -> tuple[str, Lineage]:
        sender, other = rng.sample(_NAMES, 2)
        date = rng.choice(_DATES)

        def addr(name: str) -> str:
            return name.lower().replace(" ", ".") + "@example.com"

        head = (
            f"From: {sender} <{addr(sender)}>\nTo: Support <support@example.com>\n"
            f"Date: {date}\nSubject: Re: my request\n\n"
        )
        sig = f"\n\n--\n{sender}\nSent from my phone"
        if self.severity == 1:
            return head + text + sig, _summary("email", 1)
        earlier = f"On {date}, {other} <{addr(other)}> wrote:\n> Thanks for reaching out.\n"
        if self.severity == 2:
            return head + text + sig + "\n\n" + earlier + "> How can we help?", _summary("email", 2)
        quoted = "\n".join("> > " + line for line in text.split("\n"))
        out = (
            head
            + "See below, any idea?\n\n---------- Forwarded message ---------\n"
            + earlier
            + f"> On {date}, {sender} wrote:\n{quoted}"
            + sig
        )
        return out, _summary("email", 3)
