"""Post or update the aichaos comment on a GitHub pull request (REST API, no SDK).

A CI job posts one comment per pull request and updates it on every re-run, so the thread
never fills with stale reports: the comment carries a hidden marker (an HTML comment,
invisible when rendered), and the job looks for the marker among the pull request's
comments before posting. Endpoints (GitHub REST API, version 2022-11-28; pull requests are
issues for comments, https://docs.github.com/en/rest/issues/comments)::

    GET   {api}/repos/{owner}/{repo}/issues/{number}/comments?per_page=100&page=N
    POST  {api}/repos/{owner}/{repo}/issues/{number}/comments      {"body": ...}
    PATCH {api}/repos/{owner}/{repo}/issues/comments/{comment_id}  {"body": ...}

The token is sent as ``Authorization: Bearer`` and never appears in messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx

from aichaos.errors import AIChaosError, ConfigError

DEFAULT_API_URL = "https://api.github.com"
#: the hidden marker identifying aichaos's comment (one per marker per pull request)
DEFAULT_MARKER = "<!-- aichaos-report -->"
#: pages of comments read at most while looking for the marker (100 comments a page)
MAX_PAGES = 50
_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


class GitHubError(AIChaosError):
    """The GitHub API refused or failed a request (status and GitHub's message)."""


@dataclass(slots=True)
class CommentResult:
    """What :func:`upsert_pr_comment` did.

    Attributes:
        action: ``created`` or ``updated``.
        comment_id: the comment's id.
        url: the comment's ``html_url`` (empty when the API did not say).
    """

    action: str
    comment_id: int
    url: str


def marked(body: str, marker: str = DEFAULT_MARKER) -> str:
    """``body`` with ``marker`` on its first line (added once)."""
    return body if body.startswith(marker) else f"{marker}\n{body}"


def _check(response: httpx.Response, what: str) -> Any:
    if response.is_success:
        return response.json()
    try:
        message = response.json().get("message") or response.text[:200]
    except ValueError:
        message = response.text[:200]
    raise GitHubError(f"GitHub API: {what}: HTTP {response.status_code}: {message}")


def upsert_pr_comment(body: str, *, repo: str, number: int, token: str,
                      api_url: str = DEFAULT_API_URL, marker: str = DEFAULT_MARKER,
                      client: httpx.Client | None = None) -> CommentResult:
    """Create the pull request's aichaos comment, or update it when one carries ``marker``.

    Args:
        body: the comment's Markdown (e.g. ``aichaos compare ... --format markdown``).
        repo: ``owner/name``.
        number: the pull request (issue) number.
        token: a token allowed to write issue comments (``GITHUB_TOKEN`` with
            ``pull-requests: write``).
        api_url: the REST API base (``GITHUB_API_URL`` on GitHub Enterprise).
        marker: the hidden marker; use a different one per experiment to keep one comment
            each.
        client: an httpx client to use (tests), else one is made (timeout 30 s).

    Returns:
        the :class:`CommentResult`.

    Raises:
        ConfigError: ``repo``, ``number``, ``token`` or ``marker`` is malformed or missing.
        GitHubError: the API answered an error or could not be reached.
    """
    if not _REPO.match(repo):
        raise ConfigError(f"--repo: expected owner/name, got {repo!r}")
    if number < 1:
        raise ConfigError(f"--pr: expected a pull request number >= 1, got {number}")
    if not token:
        raise ConfigError("no GitHub token: set GITHUB_TOKEN (or pass --token-env NAME)")
    if not marker.strip():
        raise ConfigError("--marker: must not be empty")
    text = marked(body, marker)
    base = api_url.rstrip("/")
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
               "X-GitHub-Api-Version": "2022-11-28", "User-Agent": "aichaos"}
    own = client is None
    http = client or httpx.Client(timeout=30.0)
    try:
        found = _find(http, f"{base}/repos/{repo}/issues/{number}/comments", headers, marker)
        if found is None:
            data = _check(http.post(f"{base}/repos/{repo}/issues/{number}/comments",
                                    json={"body": text}, headers=headers), "create comment")
            return CommentResult("created", int(data["id"]), str(data.get("html_url", "")))
        data = _check(http.patch(f"{base}/repos/{repo}/issues/comments/{found}",
                                 json={"body": text}, headers=headers), "update comment")
        return CommentResult("updated", int(data["id"]), str(data.get("html_url", "")))
    except httpx.HTTPError as exc:
        raise GitHubError(f"GitHub API at {base}: {type(exc).__name__}: {exc}") from exc
    finally:
        if own:
            http.close()


def _find(http: httpx.Client, url: str, headers: dict[str, str], marker: str) -> int | None:
    """The id of the first comment whose body starts with ``marker`` (all pages read)."""
    next_url: str | None = url
    params: dict[str, Any] | None = {"per_page": 100}
    for _ in range(MAX_PAGES):
        if next_url is None:
            return None
        response = http.get(next_url, params=params, headers=headers)
        comments = _check(response, "list comments")
        for comment in comments if isinstance(comments, list) else []:
            if str(comment.get("body") or "").startswith(marker):
                return int(comment["id"])
        next_url = response.links.get("next", {}).get("url")
        params = None  # the next link carries its own query
    return None
