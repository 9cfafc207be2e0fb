"""Which database: --db beats FUPIN_DB beats the SQLite file in the current folder."""

from __future__ import annotations

import os

DEFAULT_URL = "sqlite:///fupin.db"


def database_url(explicit: str | None = None) -> str:
    return explicit or os.environ.get("FUPIN_DB") or DEFAULT_URL
