"""CI helpers: post or update the pull-request comment (GitHub REST API)."""

from aichaos.ci._github import (
    DEFAULT_API_URL,
    DEFAULT_MARKER,
    CommentResult,
    GitHubError,
    marked,
    upsert_pr_comment,
)

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_MARKER",
    "CommentResult",
    "GitHubError",
    "marked",
    "upsert_pr_comment",
]
