"""``aichaos ci``: helpers for CI jobs (also ``python -m aichaos.ci``).

Expected errors print one line (``error: ...``); bad input exits 2, a GitHub API failure 1.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from aichaos.ci import DEFAULT_API_URL, DEFAULT_MARKER, upsert_pr_comment
from aichaos.errors import AIChaosError, ConfigError

app = typer.Typer(name="ci", help="Helpers for CI jobs: the pull-request comment.",
                  no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Helpers for CI jobs: the pull-request comment."""


def _event_pr_number() -> int | None:
    """The pull request number of the GitHub Actions event (``GITHUB_EVENT_PATH``), if any."""
    path = os.environ.get("GITHUB_EVENT_PATH")
    if not path:
        return None
    try:
        event = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    number = (event.get("pull_request") or {}).get("number") or event.get("number")
    return int(number) if isinstance(number, int) else None


@app.command("pr-comment")
def pr_comment(
    file: Annotated[Path, typer.Argument(help="Markdown file (e.g. from aichaos compare "
                                         "--format markdown -o FILE).")],
    repo: Annotated[str | None, typer.Option(help="owner/name (default: "
                                             "$GITHUB_REPOSITORY).")] = None,
    pr: Annotated[int | None, typer.Option(help="Pull request number (default: the "
                                           "event's, from $GITHUB_EVENT_PATH).")] = None,
    marker: Annotated[str, typer.Option(help="Hidden marker of the comment to update.")
                      ] = DEFAULT_MARKER,
    api_url: Annotated[str | None, typer.Option(help="REST API base (default: "
                                                "$GITHUB_API_URL or api.github.com).")] = None,
    token_env: Annotated[str, typer.Option(help="Environment variable holding the "
                                           "token.")] = "GITHUB_TOKEN",
) -> None:
    """Post the comment on the pull request, or update the one carrying the marker."""
    try:
        try:
            body = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{file}: cannot read the comment: {exc}") from exc
        repo_name = repo or os.environ.get("GITHUB_REPOSITORY") or ""
        if not repo_name:
            raise ConfigError("--repo: missing (or set GITHUB_REPOSITORY)")
        number = pr if pr is not None else _event_pr_number()
        if number is None:
            raise ConfigError("--pr: missing, and the GitHub event names no pull request")
        result = upsert_pr_comment(
            body, repo=repo_name, number=number, token=os.environ.get(token_env, ""),
            api_url=api_url or os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL,
            marker=marker)
    except AIChaosError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2 if isinstance(exc, ConfigError) else 1) from None
    typer.echo(f"{result.action} comment {result.comment_id} on {repo_name}#{number}"
               + (f": {result.url}" if result.url else ""))
