"""The aichaos exception tree.

Every error aichaos raises on purpose derives from :class:`AIChaosError`. Lower-level errors
(sockets, SDKs, plugins, YAML) are translated into the most specific class here with
``raise ... from exc`` at the boundary where they occur. A failure inside the system under
test is never raised: it is recorded as an observation (see ``TargetResponse.error_class``).

Tree::

    AIChaosError
    ├── ConfigError            bad experiment file, dataset or option (CLI exit code 2)
    │   ├── DatasetError       dataset missing, unreadable or malformed
    │   └── PluginError        unknown plugin name or bad plugin arguments
    ├── TargetError            the system under test cannot be used at all (exit code 2)
    │   └── TargetUnreachable  nothing answers at the target's address
    ├── ProxyError             the chaos proxy cannot start or be controlled
    ├── EngineError            a load engine failed mid-step (a Ray worker or cluster lost)
    ├── StoreError             the results database cannot be opened or written
    └── RollbackError          a rollback failed; the run is failed
"""

from __future__ import annotations


class AIChaosError(Exception):
    """Base class of every error aichaos raises on purpose."""


class ConfigError(AIChaosError):
    """An experiment file, dataset or option is invalid.

    The message is one line naming the file, the field path, what was expected and what
    arrived, e.g. ``exp.yaml: target.base_url: expected a URL, got 42``.
    """


class DatasetError(ConfigError):
    """A golden dataset is missing, unreadable or malformed."""


class PluginError(ConfigError):
    """A plugin (perturbation, toxic, probe, scorer, target) is unknown or misconfigured."""


class TargetError(AIChaosError):
    """The system under test cannot be assessed at all (wrong protocol, not an AI endpoint)."""


class TargetUnreachable(TargetError):
    """Nothing answers at the target's address (connection refused, DNS failure)."""


class EngineError(AIChaosError):
    """A load engine failed while running a step: a Ray worker died or its cluster went away
    (the target's own failures are observations, never this)."""


class ProxyError(AIChaosError):
    """The chaos proxy cannot start (port in use, bad upstream) or be controlled."""


class StoreError(AIChaosError):
    """The results store cannot be opened or written."""


class RollbackError(AIChaosError):
    """A rollback action failed; the run that owns it is marked failed."""
