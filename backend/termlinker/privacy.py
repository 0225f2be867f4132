"""No dependency of ours may phone home: their telemetry is switched off at the source.

These switches are environment variables that each library reads once, when it first
initialises, so they are set when ``termlinker`` is imported, before any of them loads.
They are forced, not defaulted: a clinic's workstation promises no traffic, whatever a
shell profile says. The teacher (``distill label``) is the one deliberate network use,
and it only talks to the endpoint the user names.

- onnxruntime >= 1.29 ships a 1DS uploader on Linux that resolves
  mobile.events.data.microsoft.com on long runs (and drops a ``:memory:.ses`` file into
  the working folder); ``ORT_DISABLE_TELEMETRY=1`` stops it before the environment exists.
  ``onnxruntime.disable_telemetry_events()`` does not: it comes after initialisation.
- Hugging Face hub, transformers and sentence-transformers (training only) would look up
  models and send usage pings; they are told they are offline.
- Ray (the cluster path) reports usage statistics unless told not to.
- ``DO_NOT_TRACK`` is the cross-tool convention a few other libraries honour.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

TELEMETRY_OFF: dict[str, str] = {
    "ORT_DISABLE_TELEMETRY": "1",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "RAY_USAGE_STATS_ENABLED": "0",
    "DO_NOT_TRACK": "1",
}


def disable_telemetry(environ: MutableMapping[str, str] = os.environ) -> None:
    """Set every switch in :data:`TELEMETRY_OFF` (child processes inherit them)."""
    environ.update(TELEMETRY_OFF)
