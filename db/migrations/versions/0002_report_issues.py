"""Report register: every issued compliance report, its fingerprint and file hash.

Revision ID: 0002
Revises: 0001

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('report_issues',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_key', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('scope', sa.String(length=32), nullable=False),
    sa.Column('period_from', sa.String(length=7), nullable=False),
    sa.Column('period_to', sa.String(length=7), nullable=False),
    sa.Column('lang', sa.String(length=8), nullable=False),
    sa.Column('file_format', sa.String(length=8), nullable=False),
    sa.Column('file_name', sa.String(length=500), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=True),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('issued_by', sa.String(length=100), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('previous_id', sa.Integer(), nullable=True),
    sa.Column('amendment', sa.Boolean(), nullable=False),
    sa.Column('changes', sa.Text(), nullable=False),
    sa.Column('snapshot', sa.Text(), nullable=False),
    sa.Column('entries', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['previous_id'], ['report_issues.id'], name=op.f('fk_report_issues_previous_id_report_issues')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_issues'))
    )
    with op.batch_alter_table('report_issues', schema=None) as batch_op:
        batch_op.create_index('ix_report_issues_key', ['report_key', 'id'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('report_issues', schema=None) as batch_op:
        batch_op.drop_index('ix_report_issues_key')

    op.drop_table('report_issues')
