"""``python -m aichaos.demo.app --profile naive|hardened --port N --llm-url URL --crm-url URL``.

Serves until SIGINT/SIGTERM. Prints nothing on stdout; the request log goes to ``--log-file``.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from aiohttp import web

from aichaos.demo.app._server import build_app
from aichaos.demo.app._settings import PROFILES, AppSettings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command-line options (see the module docstring)."""
    p = argparse.ArgumentParser(prog="python -m aichaos.demo.app",
                                description="Northwind Gadgets support assistant (demo)")
    p.add_argument("--profile", choices=PROFILES, required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--llm-url", required=True, help="OpenAI-compatible base URL ending in /v1")
    p.add_argument("--crm-url", required=True, help="CRM base URL")
    p.add_argument("--model", default="smollm2-135m-instruct")
    p.add_argument("--log-file", type=Path, default=None)
    p.add_argument("--cache-dir", type=Path, default=None,
                   help="where the knowledge-base embeddings are cached")
    p.add_argument("--canary", action="append", default=[],
                   help="a secret the hardened output check must never let out (repeatable)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Start the app and serve until interrupted."""
    args = parse_args(argv)
    if args.log_file is not None:
        args.log_file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(args.log_file, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        for noisy in ("httpx", "httpcore", "sentence_transformers", "aiohttp.access"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = AppSettings(profile=args.profile, llm_url=args.llm_url, crm_url=args.crm_url,
                           model=args.model, log_file=args.log_file, cache_dir=args.cache_dir,
                           canaries=tuple(args.canary))
    web.run_app(build_app(settings), host=args.host, port=args.port, print=None,
                access_log=None, handle_signals=True)


if __name__ == "__main__":
    main()
