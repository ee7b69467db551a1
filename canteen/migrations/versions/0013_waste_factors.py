"""waste factors: each canteen's and bureau's price per kg of waste by stage, and CO2e and water per kg

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 23:00:00
"""
import sqlalchemy as sa
from alembic import op

import canteen.dbtypes

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('wastefactors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('canteen_id', sa.Integer(), nullable=True),
    sa.Column('bureau_id', sa.Integer(), nullable=True),
    sa.Column('prices', sa.JSON(), nullable=False),
    sa.Column('co2e_kg_per_kg', sa.Float(), nullable=True),
    sa.Column('water_l_per_kg', sa.Float(), nullable=True),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', canteen.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(canteen_id IS NULL) <> (bureau_id IS NULL)', name='ck_wastefactors_one_owner'),
    sa.ForeignKeyConstraint(['bureau_id'], ['bureau.id'], ),
    sa.ForeignKeyConstraint(['canteen_id'], ['canteen.id'], ),
    sa.ForeignKeyConstraint(['updated_by'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('bureau_id'),
    sa.UniqueConstraint('canteen_id')
    )


def downgrade() -> None:
    op.drop_table('wastefactors')
