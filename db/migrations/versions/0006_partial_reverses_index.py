"""The one-void-per-entry key as a partial unique index (only voids have reverses_id): the same rule,
without an index entry for every entry's NULL.

On SQLite the table is copied (batch mode): a unique constraint is part of its CREATE TABLE. The
migration environment has foreign keys off for the copy (SQLite's procedure); they are checked here
before the commit.

Revision ID: 0006
Revises: 0005

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_VOIDS = sa.text("reverses_id IS NOT NULL")


def _check_foreign_keys() -> None:
    if op.get_bind().dialect.name == "sqlite":
        broken = op.get_bind().exec_driver_sql("PRAGMA foreign_key_check(purchases)").fetchall()
        if broken:
            raise RuntimeError(f"purchases: {len(broken)} rows break a foreign key after the copy: {broken[:5]}")


def upgrade() -> None:
    with op.batch_alter_table('purchases', schema=None) as batch_op:
        batch_op.drop_constraint('uq_purchases_reverses_id', type_='unique')
    op.create_index('uq_purchases_reverses_id', 'purchases', ['reverses_id'], unique=True,
                    sqlite_where=_VOIDS, postgresql_where=_VOIDS)
    _check_foreign_keys()


def downgrade() -> None:
    op.drop_index('uq_purchases_reverses_id', table_name='purchases')
    with op.batch_alter_table('purchases', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_purchases_reverses_id', ['reverses_id'])
    _check_foreign_keys()
