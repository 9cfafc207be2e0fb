"""The one place that builds an engine from a URL, the schema check, and the unit of work."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from common.errors import FupinError

from .url import DEFAULT_URL, database_url  # noqa: F401  (the engine module is where callers look)

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_WRITE = "fupin_write"  # SQLite: BEGIN IMMEDIATE
_TURN = "fupin_turn"  # PostgreSQL: the writers' advisory lock


def make_engine(url: str) -> Engine:
    """Engine for `url`. Write transactions take turns on both databases: SQLite's BEGIN IMMEDIATE
    (with WAL, busy_timeout and foreign keys), PostgreSQL's transaction-scoped advisory lock. One
    writer at a time is what keeps the ledger's hash chain in the order written, and it lets a
    second identical import find the first one's lines instead of colliding with them."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    try:
        engine = create_engine(url)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise FupinError(f"cannot use database URL '{url}': {exc}") from None
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    elif engine.dialect.name == "postgresql":
        _configure_postgresql(engine)
    return engine


WRITER_LOCK = 0x66757069  # "fupi": the advisory lock every fupin write transaction holds on PostgreSQL


def _configure_postgresql(engine: Engine) -> None:
    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        if conn.get_execution_options().get(_TURN):
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITER_LOCK})")


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's begin event below issue BEGIN itself (pysqlite's own is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # A deferred transaction that reads then writes fails at once when another writer holds
        # the lock; taking the write lock up front makes it wait (busy_timeout) instead.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")


# The newest migration in procure/migrations (a test checks it against Alembic's own reading).
# Known here so that an up-to-date database is recognised without importing Alembic, which was
# a tenth of a second of every command's start-up.
SCHEMA_HEAD = "0006"


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def _script(engine: Engine):
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(engine))


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database records; None for a database fupin has not set up."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Migrate to the newest schema; returns (revision before, revision after)."""
    from alembic import command
    from alembic.util import CommandError

    try:
        before, head = current_revision(engine), _script(engine).get_current_head()
        if before != head:
            command.upgrade(alembic_config(engine), "head")
    except OperationalError as exc:
        raise FupinError(f"cannot reach the database {engine.url.render_as_string()}: {exc.orig}") from None
    except CommandError as exc:
        raise FupinError(f"cannot migrate {engine.url.render_as_string()}: {exc}; "
                         "it may have been written by a newer fupin") from None
    return before, head


def ensure_schema(engine: Engine) -> None:
    """A new database gets its schema; an old one must be migrated on purpose."""
    try:
        current = current_revision(engine)
    except OperationalError as exc:
        raise FupinError(f"cannot open the database {engine.url.render_as_string()}: {exc.orig}") from None
    if current == SCHEMA_HEAD:
        return
    if current is None:
        with engine.connect() as conn:
            has_tables = bool(engine.dialect.get_table_names(conn))
        if has_tables:
            raise FupinError(
                f"{engine.url.render_as_string()} holds tables that are not a fupin database; "
                "use another --db"
            )
        from alembic import command

        command.upgrade(alembic_config(engine), "head")
        return
    if current not in {rev.revision for rev in _script(engine).walk_revisions()}:
        raise FupinError(
            f"the database is at schema revision {current}, which this fupin does not know: "
            "it was written by a newer fupin; upgrade fupin"
        )
    raise FupinError(
        f"the database schema is at revision {current}, this fupin needs {SCHEMA_HEAD}: "
        "run `fupin db upgrade` (back the database up first)"
    )


def _seal(session: Session) -> None:
    from . import chain

    session.flush()
    chain.seal(session.connection(), session.info.pop(chain.HANDED, None))


class UnitOfWork:
    """A session that rolls back unless `commit()` is called inside the block.

    `write`: the ledger's writers, who take turns and seal the hash chain. `queue`: a short write to
    tables outside the chain (the planners' jobs); it waits for SQLite's one writer but on
    PostgreSQL only for the rows it locks, so a long import never holds up a job's progress.
    """

    def __init__(self, engine: Engine, write: bool = False, queue: bool = False):
        bind = (engine.execution_options(**{_WRITE: True, _TURN: True}) if write
                else engine.execution_options(**{_WRITE: True}) if queue else engine)
        self._factory = sessionmaker(bind=bind, expire_on_commit=False)
        # Whatever a writer's commit wrote to the chained tables is sealed into the hash chain first.
        # Only writers seal: they take turns, so no two seals can see the same new rows.
        if write:
            event.listen(self._factory, "before_commit", _seal)
        self.session: Session | None = None

    def __enter__(self) -> "UnitOfWork":
        self.session = self._factory()
        return self

    def __exit__(self, *exc) -> None:
        assert self.session is not None
        # close() rolls back whatever was not committed, and unlike rollback() it leaves the
        # objects already read usable (detached, not expired) for the caller to display.
        self.session.close()

    def commit(self) -> None:
        assert self.session is not None
        self.session.commit()


@contextmanager
def unit_of_work(engine: Engine, write: bool = False, queue: bool = False) -> Iterator[UnitOfWork]:
    with UnitOfWork(engine, write=write, queue=queue) as uow:
        yield uow
