"""scorecards keep the period's plate and kitchen waste with its value in yuan and kg CO2e, as scored, so a
jurisdiction's overview sums columns instead of reading the rollups of thousands of canteens

Scorecards stored before this revision have none (their bodies have no CO2e): the next run fills them.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 01:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('scorecard', schema=None) as batch_op:
        batch_op.add_column(sa.Column('waste_g', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('waste_yuan', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('waste_co2e_kg', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('scorecard', schema=None) as batch_op:
        batch_op.drop_column('waste_co2e_kg')
        batch_op.drop_column('waste_yuan')
        batch_op.drop_column('waste_g')
