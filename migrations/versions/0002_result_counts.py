"""result counts: kept counts of complete responses per block, and a covering index for counting answers

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 03:44:13.743300
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('result_blocks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('definition', sa.String(length=64), nullable=False),
    sa.Column('block', sa.Integer(), nullable=False),
    sa.Column('responses', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['survey_id'], ['surveys.id'], name=op.f('fk_result_blocks_survey_id_surveys'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_result_blocks')),
    sa.UniqueConstraint('survey_id', 'name', 'block', name=op.f('uq_result_blocks_survey_id_name_block'))
    )
    op.create_table('result_counts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('block_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('question_id', sa.String(length=64), nullable=False),
    sa.Column('item', sa.String(length=64), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=True),
    sa.Column('number', sa.Float(), nullable=True),
    sa.Column('col', sa.String(length=64), nullable=True),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['block_id'], ['result_blocks.id'], name=op.f('fk_result_counts_block_id_result_blocks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_result_counts'))
    )
    op.create_index(op.f('ix_result_counts_block_id'), 'result_counts', ['block_id'], unique=False)
    op.drop_index('ix_answers_survey_question_code', table_name='answers')
    op.create_index('ix_answers_counting', 'answers', ['survey_id', 'question_id', 'code', 'item', 'number', 'response_id'], unique=False)
    if op.get_context().dialect.name == 'postgresql':
        # The results group answers by these four columns: without statistics on the
        # combination, the planner multiplies their distinct counts and expects
        # hundreds of thousands of groups where there are hundreds.
        op.execute('CREATE STATISTICS answers_groups (ndistinct) ON question_id, item, code, number FROM answers')


def downgrade() -> None:
    if op.get_context().dialect.name == 'postgresql':
        op.execute('DROP STATISTICS answers_groups')
    op.drop_index('ix_answers_counting', table_name='answers')
    op.create_index('ix_answers_survey_question_code', 'answers', ['survey_id', 'question_id', 'code', 'response_id'], unique=False)
    op.drop_index(op.f('ix_result_counts_block_id'), table_name='result_counts')
    op.drop_table('result_counts')
    op.drop_table('result_blocks')
