"""weighing: plates, kitchen waste, diner counts, rollups

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:45:42.801171
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

import canteen.dbtypes


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dailyrollup',
    sa.Column('canteen_id', sa.Integer(), nullable=False),
    sa.Column('service_date', sa.Date(), nullable=False),
    sa.Column('meal', sa.Enum('breakfast', 'lunch', 'dinner', name='meal', native_enum=False), nullable=False),
    sa.Column('diners', sa.Integer(), nullable=False),
    sa.Column('diner_source', sa.Enum('operator', 'plates', name='dinersource', native_enum=False), nullable=False),
    sa.Column('plates', sa.Integer(), nullable=False),
    sa.Column('plate_waste_g', sa.Integer(), nullable=False),
    sa.Column('clean_plates', sa.Integer(), nullable=False),
    sa.Column('kitchen_scraps_g', sa.Integer(), nullable=False),
    sa.Column('trimmings_g', sa.Integer(), nullable=False),
    sa.Column('unserved_g', sa.Integer(), nullable=False),
    sa.Column('other_kitchen_g', sa.Integer(), nullable=False),
    sa.Column('stations_reporting', sa.Integer(), nullable=False),
    sa.Column('stations_expected', sa.Integer(), nullable=False),
    sa.Column('computed_at', canteen.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['canteen_id'], ['canteen.id'], ),
    sa.PrimaryKeyConstraint('canteen_id', 'service_date', 'meal')
    )
    op.create_table('stalerollup',
    sa.Column('canteen_id', sa.Integer(), nullable=False),
    sa.Column('service_date', sa.Date(), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['canteen_id'], ['canteen.id'], ),
    sa.PrimaryKeyConstraint('canteen_id', 'service_date')
    )
    op.create_table('dinercount',
    sa.Column('canteen_id', sa.Integer(), nullable=False),
    sa.Column('service_date', sa.Date(), nullable=False),
    sa.Column('meal', sa.Enum('breakfast', 'lunch', 'dinner', name='meal', native_enum=False), nullable=False),
    sa.Column('diners', sa.Integer(), nullable=False),
    sa.Column('entered_by', sa.Integer(), nullable=True),
    sa.Column('entered_at', canteen.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['canteen_id'], ['canteen.id'], ),
    sa.ForeignKeyConstraint(['entered_by'], ['user.id'], ),
    sa.PrimaryKeyConstraint('canteen_id', 'service_date', 'meal')
    )
    op.create_table('kitchenwaste',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('canteen_id', sa.Integer(), nullable=False),
    sa.Column('service_date', sa.Date(), nullable=False),
    sa.Column('meal', sa.Enum('breakfast', 'lunch', 'dinner', name='meal', native_enum=False), nullable=False),
    sa.Column('category', sa.Enum('kitchen-scraps', 'trimmings', 'unserved', 'other', name='kitchencategory', native_enum=False), nullable=False),
    sa.Column('grams', sa.Integer(), nullable=False),
    sa.Column('source', sa.Enum('station', 'manual', name='kitchensource', native_enum=False), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=True),
    sa.Column('seq', sa.BigInteger(), nullable=True),
    sa.Column('measured_at', canteen.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('recorded_by', sa.Integer(), nullable=True),
    sa.Column('recorded_at', canteen.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('superseded_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['canteen_id'], ['canteen.id'], ),
    sa.ForeignKeyConstraint(['recorded_by'], ['user.id'], ),
    sa.ForeignKeyConstraint(['station_id'], ['station.id'], ),
    sa.ForeignKeyConstraint(['superseded_by'], ['kitchenwaste.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('station_id', 'seq')
    )
    with op.batch_alter_table('kitchenwaste', schema=None) as batch_op:
        batch_op.create_index('ix_kitchenwaste_canteen_period', ['canteen_id', 'service_date', 'meal'], unique=False)

    op.create_table('plateweighing',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('station_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('canteen_id', sa.Integer(), nullable=False),
    sa.Column('measured_at', canteen.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('service_date', sa.Date(), nullable=False),
    sa.Column('meal', sa.Enum('breakfast', 'lunch', 'dinner', name='meal', native_enum=False), nullable=True),
    sa.Column('grams', sa.Integer(), nullable=False),
    sa.Column('diner_ref', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('received_at', canteen.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['canteen_id'], ['canteen.id'], ),
    sa.ForeignKeyConstraint(['station_id'], ['station.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('station_id', 'seq')
    )
    with op.batch_alter_table('plateweighing', schema=None) as batch_op:
        batch_op.create_index('ix_plateweighing_canteen_period', ['canteen_id', 'service_date', 'meal'], unique=False)

    with op.batch_alter_table('canteen', schema=None) as batch_op:
        batch_op.add_column(sa.Column('plate_waste_target_g', sa.Integer(), nullable=False, server_default='50'))
        batch_op.add_column(sa.Column('clean_plate_threshold_g', sa.Integer(), nullable=False, server_default='10'))

    with op.batch_alter_table('station', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_seen_at', canteen.dbtypes.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('station', schema=None) as batch_op:
        batch_op.drop_column('last_seen_at')

    with op.batch_alter_table('canteen', schema=None) as batch_op:
        batch_op.drop_column('clean_plate_threshold_g')
        batch_op.drop_column('plate_waste_target_g')

    with op.batch_alter_table('plateweighing', schema=None) as batch_op:
        batch_op.drop_index('ix_plateweighing_canteen_period')

    op.drop_table('plateweighing')
    with op.batch_alter_table('kitchenwaste', schema=None) as batch_op:
        batch_op.drop_index('ix_kitchenwaste_canteen_period')

    op.drop_table('kitchenwaste')
    op.drop_table('dinercount')
    op.drop_table('stalerollup')
    op.drop_table('dailyrollup')
