"""System checks around the model: response caching, failover, side effects and idempotency,
and the gateway preset (see docs/system.md).

The layer-3 and layer-4 suites call :func:`system_checks` on their finished result; the
checks drive the chaos proxy (``nonce_stamp`` and ``drop_response`` toxics) and count what
reached each dependency's upstream. :func:`litellm_preset` rewrites a LiteLLM proxy config so
its deployments go through chaos proxies (``aichaos init --gateway litellm``).
"""

from aichaos.system._cache import DEFAULT_VARY, CacheProbe, Probe, nonces
from aichaos.system._checks import FAILED_CAP, SYSTEM_CHECKS, SystemCheck, system_checks
from aichaos.system._failover import revisits
from aichaos.system._gateway import GatewayPreset, litellm_preset
from aichaos.system._idempotency import duplicates
from aichaos.system._view import ProxyView, Sent, SuiteView, variant_target

__all__ = [
    "DEFAULT_VARY",
    "FAILED_CAP",
    "SYSTEM_CHECKS",
    "CacheProbe",
    "GatewayPreset",
    "Probe",
    "ProxyView",
    "Sent",
    "SuiteView",
    "SystemCheck",
    "duplicates",
    "litellm_preset",
    "nonces",
    "revisits",
    "system_checks",
    "variant_target",
]
