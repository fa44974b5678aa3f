"""Gateway presets: put a chaos proxy in front of every deployment of an LLM gateway.

:func:`litellm_preset` reads a LiteLLM proxy config (``model_list`` of deployments with
``litellm_params.api_base``; fallbacks in ``router_settings.fallbacks`` or
``litellm_settings.fallbacks``; a response cache in ``litellm_settings.cache``; see
https://docs.litellm.ai/docs/proxy/configs) and returns an experiment plus a rewritten
config whose ``api_base``\\ s point at one chaos proxy per deployment, on fixed loopback
ports, so no port needs wiring by hand. Run LiteLLM with the rewritten config and aichaos
with the experiment; the proxies forward to the original ``api_base``\\ s.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

from aichaos._net import free_port
from aichaos.errors import ConfigError


@dataclass
class Deployment:
    """One LiteLLM deployment behind its own chaos proxy.

    Attributes:
        model_name: the public model name clients ask for.
        dependency: the experiment's dependency name for its proxy.
        upstream: the original ``api_base``'s scheme, host and port.
        listen: ``127.0.0.1:<port>`` the chaos proxy listens on.
        api_base: the rewritten ``api_base`` (the proxy, then the original path).
    """

    model_name: str
    dependency: str
    upstream: str
    listen: str
    api_base: str


@dataclass
class GatewayPreset:
    """What ``aichaos init --gateway`` writes.

    Attributes:
        experiment: the experiment (a mapping ready to dump as YAML).
        config: the rewritten gateway config (same shape as the input).
        deployments: each deployment with its proxy.
    """

    experiment: dict[str, Any]
    config: dict[str, Any]
    deployments: list[Deployment]


def _name(text: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_").lower() or "deployment"
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    taken.add(name)
    return name


def _fallbacks(config: dict[str, Any]) -> list[tuple[str, list[str]]]:
    raw = (config.get("router_settings") or {}).get("fallbacks") or (
        config.get("litellm_settings") or {}).get("fallbacks") or []
    out = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict):
            for primary, backups in item.items():
                out.append((str(primary), [str(b) for b in (backups or [])]))
    return out


def litellm_preset(path: str | Path, *, gateway_url: str = "http://127.0.0.1:4000",
                   proxied_path: str | Path | None = None,
                   port: Callable[[], int] = free_port) -> GatewayPreset:
    """Read a LiteLLM proxy config and build the experiment and the rewritten config.

    Args:
        path: the LiteLLM config (YAML).
        gateway_url: where LiteLLM will listen (the experiment's target is its ``/v1``).
        proxied_path: where the rewritten config will be written (recorded in the
            experiment); default ``<config stem>.aichaos.yaml`` beside it.
        port: picks each proxy's loopback port.

    Raises:
        ConfigError: unreadable or not YAML, no ``model_list``, or a deployment without an
            http(s) ``api_base`` (the message names it: ``model_list[2] (gpt-4o): ...``).
    """
    p = Path(path)
    try:
        config = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read the LiteLLM config: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: invalid YAML: {str(exc).splitlines()[0]}") from exc
    models = config.get("model_list") if isinstance(config, dict) else None
    if not isinstance(models, list) or not models:
        raise ConfigError(f"{p}: model_list: expected a list of deployments, got "
                          f"{type(models).__name__ if models is not None else 'nothing'}")
    out = copy.deepcopy(config)
    taken: set[str] = set()
    deployments: list[Deployment] = []
    for i, entry in enumerate(out["model_list"]):
        params = entry.get("litellm_params") if isinstance(entry, dict) else None
        label = f"model_list[{i}]" + (f" ({entry.get('model_name')})"
                                      if isinstance(entry, dict) else "")
        base = params.get("api_base") if isinstance(params, dict) else None
        if not isinstance(base, str) or not base.startswith(("http://", "https://")):
            raise ConfigError(f"{p}: {label}: litellm_params.api_base: expected an http(s) "
                              f"URL to put a chaos proxy in front of, got {base!r}")
        assert isinstance(params, dict) and isinstance(entry, dict)
        parts = urlsplit(base)
        listen = f"127.0.0.1:{port()}"
        dep = Deployment(str(entry.get("model_name", f"deployment{i}")),
                         _name(str(entry.get("model_name", "deployment")), taken),
                         urlunsplit((parts.scheme, parts.netloc, "", "", "")), listen,
                         f"http://{listen}{parts.path}")
        params["api_base"] = dep.api_base
        deployments.append(dep)
    proxied = Path(proxied_path) if proxied_path else p.with_name(p.stem + ".aichaos.yaml")
    return GatewayPreset(_experiment(config, p, proxied, deployments, gateway_url), out,
                         deployments)


def _experiment(config: dict[str, Any], path: Path, proxied: Path,
                deployments: list[Deployment], gateway_url: str) -> dict[str, Any]:
    by_model: dict[str, list[str]] = {}
    for d in deployments:
        by_model.setdefault(d.model_name, []).append(d.dependency)
    primary = deployments[0]
    fallback = None
    for model, backups in _fallbacks(config):
        if model == primary.model_name and backups and backups[0] in by_model:
            fallback = by_model[backups[0]][0]
    toxic: dict[str, Any] = {"dependency": primary.dependency, "type": "http_error",
                             "attributes": {"status": 503}}
    if fallback:
        toxic["fallback"] = fallback
    settings = config.get("litellm_settings") or {}
    system: dict[str, Any] = {
        "gateway": {"type": "litellm", "config": str(path), "proxied_config": str(proxied)},
        "users": {"alice": {"extra_body": {"user": "alice"}},
                  "bob": {"extra_body": {"user": "bob"}}},
    }
    target: dict[str, Any] = {
        "type": "openai", "base_url": gateway_url.rstrip("/") + "/v1",
        "model": primary.model_name, "stream": False,
        "api_key": {"type": "env", "key": "LITELLM_MASTER_KEY"}}
    safety = None
    if fallback:
        system["failover"] = {"primary": primary.dependency, "fallbacks": [fallback]}
    if settings.get("cache"):
        # LiteLLM ignores Cache-Control: no-cache; its per-request opt-out keeps the fault
        # layers off the cache, and the cache probes drop it again
        target["extra_body"] = {"cache": {"no-cache": True}}
        system["cache"] = {"dependency": primary.dependency,
                           "probe_settings": {"extra_body": {"cache": {}}}}
        safety = {"probes": ["pii_echo"], "limit": 2}
    return {
        "title": f"LiteLLM gateway {path.name} under dependency faults",
        "target": target,
        "dependencies": {d.dependency: {"upstream": d.upstream, "listen": d.listen}
                         for d in deployments},
        "steady-state-hypothesis": None,
        "layers": {"capability": None,
                   "integration": {"toxics": [toxic], "limit": 3},
                   "safety": safety},
        "system": system,
    }
