"""The run browser (``aichaos ui``): a local web app over the results store.

Runs per experiment with grade-history charts, a run's scorecard down to its failing cases
and their replay lines, two runs compared with the verdicts of ``aichaos compare``, and an
experiment's per-metric trends with the alarms ``aichaos watch`` would raise. Starlette with
Jinja2 templates, served by uvicorn; pages are plain HTML with inline SVG (no script, nothing
loaded from elsewhere). The store is opened read-only and never written.
"""

from aichaos.ui._app import create_app
from aichaos.ui._auth import LOOPBACK_HOSTS, TokenAuth, needs_token, new_token
from aichaos.ui._queries import StoreReader, open_read_only, safe_url
from aichaos.ui._server import UIServer, prepare, serve

__all__ = [
    "LOOPBACK_HOSTS",
    "StoreReader",
    "TokenAuth",
    "UIServer",
    "create_app",
    "needs_token",
    "new_token",
    "open_read_only",
    "prepare",
    "safe_url",
    "serve",
]
