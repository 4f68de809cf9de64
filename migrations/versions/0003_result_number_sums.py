"""result counts of every response: numbers summed, partial responses kept too, responses' revisions

Numbers that respondents type are no longer counted value by value (one kept
row per distinct value) but summed (``total``, ``low``, ``high``); kept counts
now cover partial responses too (split by ``status``), may be split by a
filter question's code too (``within``; longer names), and a block notices
any change by its responses' ``revision`` sum. The counts kept before are
dropped; the next results page counts them again.

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
    with op.batch_alter_table('responses') as batch:
        batch.add_column(sa.Column('revision', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('result_blocks') as batch:
        batch.add_column(sa.Column('revisions', sa.BigInteger(), nullable=False))
        batch.alter_column('name', existing_type=sa.String(length=100), type_=sa.String(length=200),
                           existing_nullable=False)
    with op.batch_alter_table('result_counts') as batch:
        batch.add_column(sa.Column('within', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('status', sa.String(length=20), nullable=False))
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
        batch.drop_column('status')
        batch.drop_column('within')
    with op.batch_alter_table('result_blocks') as batch:
        batch.alter_column('name', existing_type=sa.String(length=200), type_=sa.String(length=100),
                           existing_nullable=False)
        batch.drop_column('revisions')
    with op.batch_alter_table('responses') as batch:
        batch.drop_column('revision')
