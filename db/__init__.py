"""The database: engine and unit of work, every table, and the Alembic migrations.

Names are imported on first use (PEP 562), so that `db.url` can be read without SQLAlchemy.
"""

import importlib

_EXPORTS = {
    "DEFAULT_URL": ".url", "database_url": ".url",
    "MIGRATIONS": ".engine", "SCHEMA_HEAD": ".engine", "UnitOfWork": ".engine", "alembic_config": ".engine",
    "current_revision": ".engine", "ensure_schema": ".engine", "make_engine": ".engine",
    "unit_of_work": ".engine", "upgrade": ".engine",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    if name in ("engine", "models", "url"):
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
