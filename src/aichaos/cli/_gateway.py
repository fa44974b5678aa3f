"""``aichaos init --gateway litellm CONFIG.yaml``: an experiment plus a rewritten gateway
config whose deployments go through chaos proxies (the work is in :mod:`aichaos.system`)."""

from __future__ import annotations

from pathlib import Path

import yaml

from aichaos.cli import _templates
from aichaos.errors import ConfigError
from aichaos.system import GatewayPreset, litellm_preset

GATEWAYS = ("litellm",)


def write_gateway_preset(gateway: str, config: Path, output: Path, *, force: bool,
                         gateway_url: str) -> tuple[GatewayPreset, Path]:
    """Write ``output`` (the experiment), ``<config stem>.aichaos.yaml`` (the rewritten
    config) and, when absent, a starter dataset beside ``output``; returns the preset and the
    rewritten config's path.

    Raises:
        ConfigError: unknown gateway, an output file exists without ``force``, or the config
            cannot be read (one line naming the file and field).
    """
    if gateway not in GATEWAYS:
        raise ConfigError(f"--gateway: expected one of {', '.join(GATEWAYS)}, got {gateway!r}")
    proxied = config.with_name(config.stem + ".aichaos.yaml")
    for path in (output, proxied):
        if path.exists() and not force:
            raise ConfigError(f"{path}: already exists (use --force to overwrite)")
    preset = litellm_preset(config, gateway_url=gateway_url, proxied_path=proxied.resolve())
    preset.experiment["system"]["gateway"]["config"] = str(config.resolve())
    dataset = output.with_name(output.stem + ".dataset.yaml")
    preset.experiment["dataset"] = dataset.name
    if not dataset.exists() or force:
        dataset.write_text(_templates.DATASET, encoding="utf-8")
    proxied.write_text(yaml.safe_dump(preset.config, sort_keys=False), encoding="utf-8")
    output.write_text(yaml.safe_dump(preset.experiment, sort_keys=False), encoding="utf-8")
    return preset, proxied
