"""Alembic environment: fupin passes its own engine (db.engine.alembic_config)."""

from alembic import context

from db.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if engine is None:  # the `alembic` command line, for writing new revisions
        from db.engine import database_url, make_engine

        engine = make_engine(config.get_main_option("sqlalchemy.url") or database_url())
    with engine.connect() as connection:
        # SQLite's own procedure for a table that batch mode copies: foreign keys off while the copy
        # replaces the table (the copy's reference to the old one would refuse dropping it), and each
        # such migration runs PRAGMA foreign_key_check before its commit. Set on the driver's connection
        # before any transaction begins: inside one, SQLite ignores the pragma.
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
        finally:
            if sqlite:
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")
    connection.close()


if context.is_offline_mode():
    raise SystemExit("fupin migrations run online only: use `fupin db upgrade`")
run_migrations_online()
