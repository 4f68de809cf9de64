"""result number sums: kept counts of a question's numbers keep their sum, minimum and maximum

Numbers that respondents type are no longer counted value by value (one kept
row per distinct value), so the counts kept before are dropped; the next
results page counts them again.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 07:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute('DELETE FROM result_counts')
    op.execute('DELETE FROM result_blocks')
    with op.batch_alter_table('result_counts') as batch:
        batch.add_column(sa.Column('total', sa.Float(), nullable=True))
        batch.add_column(sa.Column('low', sa.Float(), nullable=True))
        batch.add_column(sa.Column('high', sa.Float(), nullable=True))


def downgrade() -> None:
    op.execute('DELETE FROM result_counts')
    op.execute('DELETE FROM result_blocks')
    with op.batch_alter_table('result_counts') as batch:
        batch.drop_column('high')
        batch.drop_column('low')
        batch.drop_column('total')
