"""The PR comment poster against a loopback server that imitates GitHub's issue-comments API
(list with pagination, create, update; bearer token checked): the first post creates the
comment, a re-run updates the same one, other comments are never touched."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from typer.testing import CliRunner

from aichaos.ci import DEFAULT_MARKER, GitHubError, upsert_pr_comment
from aichaos.cli._main import app

TOKEN = "ghs_test_token"
REPO, PR = "acme/bot", 7


@dataclass
class FakeGitHub:
    """In-memory issue comments; ``per_page`` capped at ``page_size`` so pagination runs."""

    url: str = ""
    page_size: int = 2
    comments: list[dict[str, Any]] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)
    next_id: int = 100

    def app(self) -> web.Application:
        async def auth(request: web.Request) -> web.Response | None:
            self.calls.append((request.method, request.path_qs))
            if request.headers.get("Authorization") != f"Bearer {TOKEN}":
                return web.json_response({"message": "Bad credentials"}, status=401)
            if request.headers.get("Accept") != "application/vnd.github+json":
                return web.json_response({"message": "bad Accept"}, status=415)
            return None

        async def list_comments(request: web.Request) -> web.StreamResponse:
            if (denied := await auth(request)) is not None:
                return denied
            per_page = min(int(request.query.get("per_page", 30)), self.page_size)
            page = int(request.query.get("page", 1))
            mine = [c for c in self.comments if c["issue"] == int(request.match_info["n"])]
            chunk = mine[(page - 1) * per_page: page * per_page]
            headers = {}
            if page * per_page < len(mine):
                nxt = f"{self.url}{request.path}?per_page={per_page}&page={page + 1}"
                headers["Link"] = f'<{nxt}>; rel="next"'
            return web.json_response([{"id": c["id"], "body": c["body"]} for c in chunk],
                                     headers=headers)

        async def create(request: web.Request) -> web.StreamResponse:
            if (denied := await auth(request)) is not None:
                return denied
            self.next_id += 1
            comment = {"id": self.next_id, "issue": int(request.match_info["n"]),
                       "body": (await request.json())["body"]}
            self.comments.append(comment)
            return web.json_response({"id": comment["id"],
                                      "html_url": f"https://github.test/c/{comment['id']}"},
                                     status=201)

        async def update(request: web.Request) -> web.StreamResponse:
            if (denied := await auth(request)) is not None:
                return denied
            for c in self.comments:
                if c["id"] == int(request.match_info["cid"]):
                    c["body"] = (await request.json())["body"]
                    return web.json_response({"id": c["id"], "html_url": ""})
            return web.json_response({"message": "Not Found"}, status=404)

        application = web.Application()
        application.router.add_get("/repos/{o}/{r}/issues/{n}/comments", list_comments)
        application.router.add_post("/repos/{o}/{r}/issues/{n}/comments", create)
        application.router.add_patch("/repos/{o}/{r}/issues/comments/{cid}", update)
        return application


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    runner = web.AppRunner(fake.app(), shutdown_timeout=0.2)

    async def start() -> int:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return int(runner.addresses[0][1])

    fake.url = f"http://127.0.0.1:{asyncio.run_coroutine_threadsafe(start(), loop).result(10)}"
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def _seed(fake: FakeGitHub) -> None:
    for i, body in enumerate(["LGTM", "please rebase", "nit: typo", "ship it"]):
        fake.comments.append({"id": i + 1, "issue": PR, "body": body})
    fake.comments.append({"id": 50, "issue": PR + 1, "body": f"{DEFAULT_MARKER}\nother PR"})


def test_first_post_creates_and_rerun_updates_the_same_comment(github: FakeGitHub) -> None:
    _seed(github)
    first = upsert_pr_comment("## grade B", repo=REPO, number=PR, token=TOKEN,
                              api_url=github.url)
    assert (first.action, first.comment_id) == ("created", 101)
    assert first.url == "https://github.test/c/101"
    # the marker comment now sits on page 3 (page size 2): the re-run must page to find it
    second = upsert_pr_comment("## grade C", repo=REPO, number=PR, token=TOKEN,
                               api_url=github.url)
    assert (second.action, second.comment_id) == ("updated", 101)
    bodies = {c["id"]: c["body"] for c in github.comments}
    assert bodies[101] == f"{DEFAULT_MARKER}\n## grade C"
    assert [bodies[i] for i in (1, 2, 3, 4)] == ["LGTM", "please rebase", "nit: typo",
                                                  "ship it"]
    assert bodies[50] == f"{DEFAULT_MARKER}\nother PR"  # another PR's comment untouched
    assert len(github.comments) == 6
    lists = [q for m, q in github.calls if m == "GET"]
    assert any("page=3" in q for q in lists), lists
    assert ("PATCH", "/repos/acme/bot/issues/comments/101") in github.calls


def test_a_second_marker_keeps_a_second_comment(github: FakeGitHub) -> None:
    upsert_pr_comment("one", repo=REPO, number=PR, token=TOKEN, api_url=github.url)
    other = upsert_pr_comment("two", repo=REPO, number=PR, token=TOKEN, api_url=github.url,
                              marker="<!-- aichaos-report:gateway -->")
    assert other.action == "created"
    assert [c["body"] for c in github.comments] == [
        f"{DEFAULT_MARKER}\none", "<!-- aichaos-report:gateway -->\ntwo"]


def test_bad_credentials_are_a_github_error_without_the_token(github: FakeGitHub) -> None:
    with pytest.raises(GitHubError) as err:
        upsert_pr_comment("x", repo=REPO, number=PR, token="wrong", api_url=github.url)
    assert str(err.value) == "GitHub API: list comments: HTTP 401: Bad credentials"
    assert "wrong" not in str(err.value)


def test_cli_reads_the_pr_from_the_event_and_updates_on_rerun(github: FakeGitHub,
                                                            tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": PR}}), encoding="utf-8")
    comment = tmp_path / "comment.md"
    comment.write_text("## aichaos readiness\n", encoding="utf-8")
    env = {"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": REPO, "GITHUB_EVENT_PATH": str(event),
           "GITHUB_API_URL": github.url}
    runner = CliRunner()
    first = runner.invoke(app, ["ci", "pr-comment", str(comment)], env=env)
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("created comment 101 on acme/bot#7")
    again = runner.invoke(app, ["ci", "pr-comment", str(comment)], env=env)
    assert again.stdout.startswith("updated comment 101 on acme/bot#7")
    assert len(github.comments) == 1
    assert TOKEN not in first.output + again.output


@pytest.mark.parametrize(("args", "env", "code", "message"), [
    (["--repo", REPO, "--pr", "7"], {"GITHUB_TOKEN": ""}, 2, "no GitHub token"),
    (["--pr", "7"], {"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": ""}, 2, "--repo: missing"),
    (["--repo", "not a repo", "--pr", "7"], {"GITHUB_TOKEN": TOKEN}, 2,
     "--repo: expected owner/name"),
    (["--repo", REPO], {"GITHUB_TOKEN": TOKEN, "GITHUB_EVENT_PATH": ""}, 2,
     "--pr: missing, and the GitHub event names no pull request"),
    (["--repo", REPO, "--pr", "7"], {"GITHUB_TOKEN": "wrong"}, 1, "HTTP 401: Bad credentials"),
])
def test_cli_bad_input_and_api_errors_are_one_line(github: FakeGitHub, tmp_path: Path,
                                                   args: list[str], env: dict[str, str],
                                                   code: int, message: str) -> None:
    comment = tmp_path / "comment.md"
    comment.write_text("x", encoding="utf-8")
    result = CliRunner().invoke(app, ["ci", "pr-comment", str(comment), *args,
                                      "--api-url", github.url], env=env)
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert github.comments == []
