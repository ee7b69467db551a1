"""the kitchen loop: weighings classified at the kitchen terminal (stage, reason, dish), the scales' live
readings, each canteen's loss reasons, hand-overs to the waste collector, and what was cooked of each dish

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 00:55:46.129262
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import canteen.dbtypes

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dishcooked',
    sa.Column('canteen_id', sa.Integer(), nullable=False),
    sa.Column('service_date', sa.Date(), nullable=False),
    sa.Column('meal', sa.Enum('breakfast', 'lunch', 'dinner', name='meal', native_enum=False), nullable=False),
    sa.Column('dish_id', sa.Integer(), nullable=False),
    sa.Column('planned_grams', sa.Integer(), nullable=True),
    sa.Column('cooked_grams', sa.Integer(), nullable=False),
    sa.Column('entered_by', sa.Integer(), nullable=True),
    sa.Column('entered_at', canteen.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['canteen_id'], ['canteen.id'], ),
    sa.ForeignKeyConstraint(['dish_id'], ['dish.id'], ),
    sa.ForeignKeyConstraint(['entered_by'], ['user.id'], ),
    sa.PrimaryKeyConstraint('canteen_id', 'service_date', 'meal', 'dish_id')
    )
    op.create_table('kitchenreasons',
    sa.Column('canteen_id', sa.Integer(), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', canteen.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['canteen_id'], ['canteen.id'], ),
    sa.ForeignKeyConstraint(['updated_by'], ['user.id'], ),
    sa.PrimaryKeyConstraint('canteen_id')
    )
    op.create_table('stationreading',
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('grams', sa.Integer(), nullable=True),
    sa.Column('stable', sa.Boolean(), nullable=False),
    sa.Column('measured_at', canteen.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('received_at', canteen.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['station_id'], ['station.id'], ),
    sa.PrimaryKeyConstraint('station_id')
    )
    op.create_table('wastehandover',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('canteen_id', sa.Integer(), nullable=False),
    sa.Column('handed_on', sa.Date(), nullable=False),
    sa.Column('collector', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('manifest_no', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('grams', sa.Integer(), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('recorded_by', sa.Integer(), nullable=True),
    sa.Column('recorded_at', canteen.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['canteen_id'], ['canteen.id'], ),
    sa.ForeignKeyConstraint(['recorded_by'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('canteen_id', 'manifest_no')
    )
    with op.batch_alter_table('wastehandover', schema=None) as batch_op:
        batch_op.create_index('ix_wastehandover_canteen_day', ['canteen_id', 'handed_on'], unique=False)

    with op.batch_alter_table('dailyrollup', schema=None) as batch_op:
        batch_op.add_column(sa.Column('storage_g', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('unclassified_g', sa.Integer(), nullable=False, server_default='0'))

    with op.batch_alter_table('kitchenwaste', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
        batch_op.add_column(sa.Column('dish_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('classified_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('classified_at', canteen.dbtypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key('fk_kitchenwaste_dish_id', 'dish', ['dish_id'], ['id'])
        batch_op.create_foreign_key('fk_kitchenwaste_classified_by', 'user', ['classified_by'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('kitchenwaste', schema=None) as batch_op:
        batch_op.drop_constraint('fk_kitchenwaste_classified_by', type_='foreignkey')
        batch_op.drop_constraint('fk_kitchenwaste_dish_id', type_='foreignkey')
        batch_op.drop_column('classified_at')
        batch_op.drop_column('classified_by')
        batch_op.drop_column('dish_id')
        batch_op.drop_column('reason')

    with op.batch_alter_table('dailyrollup', schema=None) as batch_op:
        batch_op.drop_column('unclassified_g')
        batch_op.drop_column('storage_g')

    with op.batch_alter_table('wastehandover', schema=None) as batch_op:
        batch_op.drop_index('ix_wastehandover_canteen_day')

    op.drop_table('wastehandover')
    op.drop_table('stationreading')
    op.drop_table('kitchenreasons')
    op.drop_table('dishcooked')
