"""Hash chain: row_hash on purchases, audit events and reports; chain_links; the chain head a report
was built on. Rows written before this revision are hashed and sealed as the chain's first links.

Revision ID: 0003
Revises: 0002

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('chain_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('first_id', sa.BigInteger(), nullable=False),
    sa.Column('last_id', sa.BigInteger(), nullable=False),
    sa.Column('rows', sa.BigInteger(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('link_hash', sa.String(length=64), nullable=False),
    sa.Column('sealed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chain_links'))
    )
    with op.batch_alter_table('chain_links', schema=None) as batch_op:
        batch_op.create_index('ix_chain_links_kind_last', ['kind', 'last_id'], unique=False)
    # Nullable columns: added in place (no table copy on SQLite).
    op.add_column('purchases', sa.Column('row_hash', sa.String(length=64), nullable=True))
    op.add_column('audit_events', sa.Column('row_hash', sa.String(length=64), nullable=True))
    op.add_column('report_issues', sa.Column('chain_head', sa.String(length=64), nullable=True))
    op.add_column('report_issues', sa.Column('row_hash', sa.String(length=64), nullable=True))

    from db import chain

    chain.seal(op.get_bind())


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('report_issues', schema=None) as batch_op:
        batch_op.drop_column('row_hash')
        batch_op.drop_column('chain_head')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('row_hash')
    with op.batch_alter_table('purchases', schema=None) as batch_op:
        batch_op.drop_column('row_hash')
    with op.batch_alter_table('chain_links', schema=None) as batch_op:
        batch_op.drop_index('ix_chain_links_kind_last')
    op.drop_table('chain_links')
