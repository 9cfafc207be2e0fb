"""The planners' workspace defaults, in one table (the web and the worker may override them)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PlannerSettings:
    dataset_max_bytes: int = 200 * 1024 * 1024  # a data set's files together, unpacked
    max_time_limit: float = 4 * 3600.0  # seconds a job may ask for (per county for kindergartens)
    heartbeat_seconds: float = 2.0  # how often a worker says its job is alive (and reads a cancel)
    # A running job not heard of for this long lost its worker (killed, crashed, power cut): it is
    # marked failed. Far above the heartbeat, so a busy database never fails a live job.
    stale_seconds: float = 60.0
    poll_seconds: float = 1.0  # how often an idle worker looks for a queued job


SETTINGS = PlannerSettings()


def instance_folder(explicit: str | Path | None = None) -> Path:
    """Where the web application and the workers keep files (uploads, reports, data sets, runs):
    `explicit`, else FUPIN_WEB_INSTANCE, else ./fupin-web. Workers on several machines share it."""
    return Path(explicit or os.environ.get("FUPIN_WEB_INSTANCE") or Path.cwd() / "fupin-web").absolute()
