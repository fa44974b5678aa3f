"""The run browser's Starlette app: routes, Jinja2 templates, errors as pages.

Routes (all GET, HTML; the store is only read):

* ``/``: runs per experiment with grade-history charts and a compare form;
* ``/runs/{run_id}``: a run's scorecard with its failing cases;
* ``/runs/{run_id}/case?id=CASE&variant=V``: a case's stored observations and replay line;
* ``/compare?a=RUN&b=RUN[&alpha=0.05][&suite=S...]``: B against reference A, the verdicts of
  ``aichaos compare`` (``a=baseline`` and ``latest`` work as on the command line);
* ``/trends?experiment=TITLE[&warmup=10][&threshold=8]``: per-metric trends of one
  experiment with watch's Page-Hinkley alarms;
* ``/healthz``: ``ok`` (plain text), for start-up checks.

An unknown run or case is a 404 page, a bad parameter a 400 page and a store that stopped
answering a 503 page, each with the one-line message of the error.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Callable
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from aichaos._version import __version__
from aichaos.errors import AIChaosError, ConfigError, StoreError
from aichaos.ui import _views
from aichaos.ui._auth import TokenAuth
from aichaos.ui._queries import StoreReader, safe_url


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("aichaos.ui", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _float(request: Request, name: str, default: float, low: float, high: float) -> float:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected a number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}: expected a value in [{low:g}, {high:g}], got {raw}")
    return value


def create_app(reader: StoreReader, *, token: str | None = None, embeddings: bool = True,
               allowed_hosts: list[str] | None = None) -> Starlette:
    """The run browser over ``reader`` (which it closes on shutdown).

    Args:
        reader: read-only access to the results store.
        token: required on every request when not None (see :class:`TokenAuth`).
        embeddings: compare output embeddings as ``aichaos compare`` does by default
            (needs ``aichaos[semantic]``; skipped when the model is missing).
        allowed_hosts: ``Host`` header values accepted (DNS-rebinding guard; default any).

    Returns:
        the ASGI application.
    """
    templates = Jinja2Templates(env=_environment())
    store_label = safe_url(reader.url)

    def page(name: str, build: Callable[[Request], dict[str, Any]]
             ) -> Callable[[Request], Response]:
        def endpoint(request: Request) -> Response:
            context: dict[str, Any] = {"store": store_label, "version": __version__,
                                       "nav": name}
            try:
                context.update(build(request))
            except _views.NotFound as exc:
                context["error"] = str(exc)
                return templates.TemplateResponse(request, "error.html.j2", context,
                                                  status_code=404)
            except StoreError as exc:  # the database went away while serving
                context["error"] = str(exc)
                return templates.TemplateResponse(request, "error.html.j2", context,
                                                  status_code=503)
            except AIChaosError as exc:
                context["error"] = str(exc)
                return templates.TemplateResponse(request, "error.html.j2", context,
                                                  status_code=400)
            return templates.TemplateResponse(request, f"{name}.html.j2", context)
        return endpoint

    def runs(request: Request) -> dict[str, Any]:
        return _views.runs_page(reader)

    def run(request: Request) -> dict[str, Any]:
        return _views.run_page(reader, request.path_params["run_id"])

    def case(request: Request) -> dict[str, Any]:
        q = request.query_params
        if "id" not in q or "variant" not in q:
            raise ConfigError("case: expected the query parameters id and variant")
        return _views.case_page(reader, request.path_params["run_id"], q["id"], q["variant"])

    def compare(request: Request) -> dict[str, Any]:
        q = request.query_params
        if not q.get("a") or not q.get("b"):
            raise ConfigError("compare: choose two runs (query parameters a and b)")
        alpha = _float(request, "alpha", 0.05, 1e-9, 1 - 1e-9)
        return _views.compare_page(reader, q["a"], q["b"], alpha=alpha,
                                   suites=q.getlist("suite") or None, embeddings=embeddings)

    def trends(request: Request) -> dict[str, Any]:
        title = request.query_params.get("experiment")
        if not title:
            raise ConfigError("trends: expected the query parameter experiment")
        warmup = int(_float(request, "warmup", 10, 2, 1000))
        threshold = _float(request, "threshold", 8.0, 0.1, 1000)
        return _views.trends_page(reader, title, warmup=warmup, threshold=threshold)

    def healthz(request: Request) -> Response:
        return PlainTextResponse("ok\n")

    middleware = [Middleware(TokenAuth, token=token)]
    if allowed_hosts:
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        reader.close()

    return Starlette(
        routes=[
            Route("/", page("runs", runs), name="runs"),
            Route("/runs/{run_id}", page("run", run), name="run"),
            Route("/runs/{run_id}/case", page("case", case), name="case"),
            Route("/compare", page("compare", compare), name="compare"),
            Route("/trends", page("trends", trends), name="trends"),
            Route("/healthz", healthz, name="healthz"),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
