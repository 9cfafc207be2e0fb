"""Ledger: master data, purchases, month closes, audit trail.

Revision ID: 0001
Revises: 

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0001'
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('entity', sa.String(length=40), nullable=False),
    sa.Column('entity_key', sa.String(length=100), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    op.create_table('categories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('counts_toward_quota', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_categories')),
    sa.UniqueConstraint('code', name=op.f('uq_categories_code'))
    )
    op.create_table('import_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=500), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('lines_added', sa.Integer(), nullable=False),
    sa.Column('imported_by', sa.String(length=100), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_batches'))
    )
    op.create_table('institutions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_institutions')),
    sa.UniqueConstraint('code', name=op.f('uq_institutions_code'))
    )
    op.create_table('month_closes',
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('closed', sa.Boolean(), nullable=False),
    sa.Column('changed_by', sa.String(length=100), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('month', name=op.f('pk_month_closes'))
    )
    op.create_table('packaging_weights',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product', sa.String(length=200), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('kg_per_unit', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_packaging_weights')),
    sa.UniqueConstraint('product', 'unit', name=op.f('uq_packaging_weights_product_unit'))
    )
    op.create_table('suppliers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('eligibility', sa.String(length=16), nullable=False),
    sa.Column('certificate', sa.String(length=64), nullable=True),
    sa.Column('county', sa.String(length=64), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suppliers')),
    sa.UniqueConstraint('code', name=op.f('uq_suppliers_code'))
    )
    op.create_table('canteens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('operator', sa.String(length=16), nullable=False),
    sa.Column('contractor', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_canteens_institution_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_canteens')),
    sa.UniqueConstraint('code', name=op.f('uq_canteens_code'))
    )
    op.create_table('purchases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('purchase_date', sa.Date(), nullable=False),
    sa.Column('canteen_id', sa.Integer(), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('product', sa.String(length=200), nullable=False),
    sa.Column('quantity', sa.String(length=40), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('qty_mg', sa.BigInteger(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('ref', sa.String(length=100), nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('key_seq', sa.Integer(), nullable=True),
    sa.Column('is_pa', sa.Boolean(), nullable=False),
    sa.Column('pa_source', sa.String(length=16), nullable=False),
    sa.Column('pa_certificate', sa.String(length=64), nullable=True),
    sa.Column('reverses_id', sa.Integer(), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(reverses_id IS NULL) = (key_seq IS NOT NULL)', name=op.f('ck_purchases_entry_kind')),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], name=op.f('fk_purchases_batch_id_import_batches')),
    sa.ForeignKeyConstraint(['canteen_id'], ['canteens.id'], name=op.f('fk_purchases_canteen_id_canteens')),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_purchases_category_id_categories')),
    sa.ForeignKeyConstraint(['reverses_id'], ['purchases.id'], name=op.f('fk_purchases_reverses_id_purchases')),
    sa.ForeignKeyConstraint(['supplier_id'], ['suppliers.id'], name=op.f('fk_purchases_supplier_id_suppliers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_purchases')),
    sa.UniqueConstraint('reverses_id', name=op.f('uq_purchases_reverses_id')),
    sa.UniqueConstraint('ref', 'supplier_id', 'line', 'key_seq', name=op.f('uq_purchases_ref_supplier_id_line_key_seq'))
    )
    with op.batch_alter_table('purchases', schema=None) as batch_op:
        batch_op.create_index('ix_purchases_date_canteen', ['purchase_date', 'canteen_id'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('purchases', schema=None) as batch_op:
        batch_op.drop_index('ix_purchases_date_canteen')

    op.drop_table('purchases')
    op.drop_table('canteens')
    op.drop_table('suppliers')
    op.drop_table('packaging_weights')
    op.drop_table('month_closes')
    op.drop_table('institutions')
    op.drop_table('import_batches')
    op.drop_table('categories')
    op.drop_table('audit_events')
