"""``aichaos ui``: serve the run browser over a results store (mounted by the main CLI).

Expected errors print one line (``error: ...``) and exit 2: a bad or unreachable store URL,
a missing results database, a port that cannot be listened on, the ``ui`` extra missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from aichaos.errors import AIChaosError, ConfigError

EXIT_BAD_INPUT = 2
_out = Console(highlight=False)
_err = Console(stderr=True)


def _fail(message: str) -> typer.Exit:
    _err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(EXIT_BAD_INPUT)


def ui(
    store: Annotated[str | None, typer.Option("--store", help="SQLAlchemy URL of the results "
                                              "store (overrides --results).")] = None,
    results: Annotated[Path | None, typer.Option(help="Results directory holding aichaos.db "
                                                 "(default: aichaos-results).")] = None,
    host: Annotated[str, typer.Option(help="Address to bind; anything but 127.0.0.1, ::1 or "
                                      "localhost requires a token.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8765,
    token: Annotated[str | None, typer.Option(envvar="AICHAOS_UI_TOKEN", help="Token to "
                                              "require (default: generated when bound off "
                                              "loopback).")] = None,
    embeddings: Annotated[bool, typer.Option(help="Compare output embeddings, as aichaos "
                                             "compare does (needs aichaos[semantic]).")] = True,
) -> None:
    """Browse stored runs in a local web app: grades, failing cases, compare, trends.

    Read-only: the store is never written. Stop it with Ctrl-C.
    Exit codes: 0 stopped, 2 bad input.
    """
    try:
        from aichaos.ui import UIServer, prepare
    except ModuleNotFoundError as exc:
        raise _fail(f"aichaos ui needs the 'ui' extra ({exc.name} is missing): "
                    "pip install 'aichaos[ui]'") from None
    try:
        if store is not None and results is not None:
            raise ConfigError("--store and --results: give one of them")
        if store is None:
            path = (results or Path("aichaos-results")) / "aichaos.db"
            if not path.is_file():
                raise ConfigError(f"--results: no results database at {path}")
            store = f"sqlite:///{path.resolve()}"
        server: UIServer = prepare(store, host=host, port=port, token=token,
                                   embeddings=embeddings)
    except AIChaosError as exc:
        raise _fail(str(exc)) from None
    _out.print(f"aichaos ui: serving {server.link} (read-only; Ctrl-C stops it)",
               soft_wrap=True)
    if server.token and token is None:
        _out.print("token generated for this session; requests without it get 401",
                   soft_wrap=True)
    server.server.run()


commands = [ui]
