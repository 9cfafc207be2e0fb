"""The planners' workspace: data sets (versions, never changed), scenarios, and model runs as
background jobs.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 17:55:02.319610

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('plan_datasets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('stored_as', sa.String(length=64), nullable=False),
    sa.Column('files', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('counties', sa.Text(), nullable=False),
    sa.Column('uploaded_by', sa.Integer(), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['uploaded_by'], ['users.id'], name=op.f('fk_plan_datasets_uploaded_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_datasets')),
    sa.UniqueConstraint('name', 'version', name=op.f('uq_plan_datasets_name_version')),
    sa.UniqueConstraint('stored_as', name=op.f('uq_plan_datasets_stored_as'))
    )
    op.create_table('plan_scenarios',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('yaml_text', sa.Text(), nullable=False),
    sa.Column('based_on', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['based_on'], ['plan_scenarios.id'], name=op.f('fk_plan_scenarios_based_on_plan_scenarios')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_plan_scenarios_created_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_scenarios'))
    )
    op.create_table('plan_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model', sa.String(length=16), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('scenario_id', sa.Integer(), nullable=True),
    sa.Column('counties', sa.Text(), nullable=False),
    sa.Column('solver', sa.String(length=16), nullable=False),
    sa.Column('time_limit', sa.Double(), nullable=False),
    sa.Column('lang', sa.String(length=8), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('cancel_requested', sa.Boolean(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('messages', sa.Text(), nullable=False),
    sa.Column('stored_as', sa.String(length=64), nullable=False),
    sa.Column('worker', sa.String(length=200), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_plan_jobs_created_by_users')),
    sa.ForeignKeyConstraint(['dataset_id'], ['plan_datasets.id'], name=op.f('fk_plan_jobs_dataset_id_plan_datasets')),
    sa.ForeignKeyConstraint(['scenario_id'], ['plan_scenarios.id'], name=op.f('fk_plan_jobs_scenario_id_plan_scenarios')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_jobs')),
    sa.UniqueConstraint('stored_as', name=op.f('uq_plan_jobs_stored_as'))
    )
    with op.batch_alter_table('plan_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_plan_jobs_state', ['state', 'id'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('plan_jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_plan_jobs_state')

    op.drop_table('plan_jobs')
    op.drop_table('plan_scenarios')
    op.drop_table('plan_datasets')
