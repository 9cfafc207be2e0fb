"""The database: engine and unit of work, every table, and the Alembic migrations."""

from .engine import (
    DEFAULT_URL,
    MIGRATIONS,
    SCHEMA_HEAD,
    UnitOfWork,
    alembic_config,
    current_revision,
    database_url,
    ensure_schema,
    make_engine,
    unit_of_work,
    upgrade,
)

__all__ = ["DEFAULT_URL", "MIGRATIONS", "SCHEMA_HEAD", "UnitOfWork", "alembic_config", "current_revision",
           "database_url", "ensure_schema", "make_engine", "unit_of_work", "upgrade"]
