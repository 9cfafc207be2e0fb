"""Many rows in and out at the database's own speed: the driver's executemany on SQLite, COPY on
PostgreSQL, temporary tables, and ids reserved ahead so that a writer knows them without reading back.

Only fupin's own writers use it, inside a write unit of work: writers take turns (db.engine), so
ids reserved here are not taken by anyone else before the transaction ends.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterable, Iterator, Sequence

from sqlalchemy import Connection, Table, func, select


def is_postgresql(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def temp_table(conn: Connection, name: str, like: Table, columns: Sequence[str], extra: str = "") -> None:
    """A temporary table (this connection only, gone with it) with `columns` of `like`, no
    constraints or indexes, and `extra` column definitions."""
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
    spelled = [f"{c} {like.c[c].type.compile(conn.dialect)}" for c in columns]
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {name} ({', '.join([*spelled, *filter(None, [extra])])})")


def empty(conn: Connection, name: str) -> None:
    """Empty a temporary table for the next chunk. On PostgreSQL a DELETE would leave every row dead
    in it, and each later join would scan them all again."""
    conn.exec_driver_sql(f"TRUNCATE {name}" if is_postgresql(conn) else f"DELETE FROM {name}")


def analyze(conn: Connection, name: str) -> None:
    """Statistics for a freshly loaded temporary table (PostgreSQL plans a join on them; SQLite needs none)."""
    if is_postgresql(conn):
        conn.exec_driver_sql(f"ANALYZE {name}")


def iso_date(conn: Connection, expression: str) -> str:
    """SQL for a date column read as ISO text, as SQLite stores it."""
    return f"to_char({expression}, 'YYYY-MM-DD')" if is_postgresql(conn) else expression


def drop_table(conn: Connection, name: str) -> None:
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")


def load(conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[object]],
         skip_conflicts: bool = False) -> int:
    """Rows into `table` (values as the database is handed them: dates as ISO text, booleans as 0/1);
    how many went in. `skip_conflicts` (SQLite only) leaves out a row that breaks a unique, not-null
    or check constraint instead of failing (INSERT OR IGNORE; foreign keys still fail)."""
    driver = conn.connection.driver_connection
    if is_postgresql(conn):
        assert not skip_conflicts, "on PostgreSQL, COPY into a staging table and INSERT ... ON CONFLICT DO NOTHING"
        with driver.cursor() as cur:
            with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return cur.rowcount
    marks = ", ".join("?" * len(columns))
    verb = "INSERT OR IGNORE" if skip_conflicts else "INSERT"
    return driver.executemany(f"{verb} INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows).rowcount


@contextmanager
def large_cache(conn: Connection, mib: int = 64) -> Iterator[None]:
    """A larger SQLite page cache while many rows go in: the indexes of a million-row table no longer
    fit the default 2 MiB, and every insert would read their pages again."""
    if is_postgresql(conn):
        yield
        return
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size = -{mib * 1024}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size = {before}")


class LateIndexes:
    """On SQLite, a table's non-unique indexes built once at the end of a large load instead of row by
    row: one sort of the whole table instead of a random insert into each index for every row. Only
    when at least `at_least` rows are coming and as many as the table holds, and only once rows
    went in (`rows_added`, after which they are dropped), so that a load that adds nothing keeps them.
    SQLite's DDL is transactional: when the load fails, the caller's rollback brings the indexes
    back, and readers never see the table without them. Not on PostgreSQL, where a dropped index
    would lock the table against every reader until the commit."""

    def __init__(self, conn: Connection, table: Table, rows_coming: int, at_least: int = 100_000):
        self.conn, self.table = conn, table
        self.wanted = (not is_postgresql(conn) and rows_coming >= at_least
                       and rows_coming >= (conn.execute(select(func.max(table.c.id))).scalar() or 0))
        self.dropped: list = []

    def rows_added(self) -> None:
        if self.wanted:
            self.wanted = False
            self.dropped = [ix for ix in self.table.indexes if not ix.unique]
            for ix in self.dropped:
                ix.drop(self.conn)

    def build(self) -> None:
        for ix in self.dropped:
            ix.create(self.conn)
        self.dropped = []


def rows(conn: Connection, sql: str) -> Iterator[tuple]:
    """The rows of a query as the driver hands them (plain tuples: a million rows read without
    SQLAlchemy's per-row objects); SQLite gives dates as ISO text, PostgreSQL as dates."""
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.execute(sql)
        while batch := cursor.fetchmany(10_000):
            yield from batch
    finally:
        cursor.close()


def release_ids(conn: Connection, table: Table, first: int) -> None:
    """Give back the ids from `first` on, reserved and left unused (no row has them), so that the
    next reservation starts there again and ids stay consecutive."""
    if is_postgresql(conn):
        seq = conn.exec_driver_sql(f"SELECT pg_get_serial_sequence('{table.name}', 'id')").scalar()
        conn.exec_driver_sql(f"SELECT setval('{seq}', {first}, false)")
    # SQLite reserves from the largest id, which the rows taken out no longer hold.


def reserve_ids(conn: Connection, table: Table, n: int) -> int:
    """The first of `n` consecutive ids no row of `table` has or will be given."""
    if is_postgresql(conn):
        seq = conn.exec_driver_sql(f"SELECT pg_get_serial_sequence('{table.name}', 'id')").scalar()
        first = conn.exec_driver_sql(f"SELECT nextval('{seq}')").scalar()
        if n > 1:
            conn.exec_driver_sql(f"SELECT setval('{seq}', {first + n - 1})")
        return first
    # SQLite gives a new row the largest id + 1 (no AUTOINCREMENT), so ids above it are free.
    return (conn.execute(select(func.max(table.c.id))).scalar() or 0) + 1
