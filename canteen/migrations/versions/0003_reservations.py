"""reservations: menus, bookings, check-ins

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 11:38:34.864030
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

import canteen.dbtypes


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bookingpolicy',
    sa.Column('canteen_id', sa.Integer(), nullable=False),
    sa.Column('cutoff_days_before', sa.Integer(), nullable=False),
    sa.Column('cutoff_time', sa.Time(), nullable=False),
    sa.Column('breakfast_capacity', sa.Integer(), nullable=True),
    sa.Column('lunch_capacity', sa.Integer(), nullable=True),
    sa.Column('dinner_capacity', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['canteen_id'], ['canteen.id'], ),
    sa.PrimaryKeyConstraint('canteen_id')
    )
    op.create_table('closedday',
    sa.Column('canteen_id', sa.Integer(), nullable=False),
    sa.Column('service_date', sa.Date(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.ForeignKeyConstraint(['canteen_id'], ['canteen.id'], ),
    sa.PrimaryKeyConstraint('canteen_id', 'service_date')
    )
    op.create_table('dish',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('canteen_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('raw_grams', sa.Integer(), nullable=False),
    sa.Column('offers_half', sa.Boolean(), nullable=False),
    sa.Column('offers_small', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['canteen_id'], ['canteen.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('canteen_id', 'name')
    )
    with op.batch_alter_table('dish', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dish_canteen_id'), ['canteen_id'], unique=False)

    op.create_table('dinercard',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('canteen_id', sa.Integer(), nullable=False),
    sa.Column('card_number', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['canteen_id'], ['canteen.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('canteen_id', 'card_number')
    )
    with op.batch_alter_table('dinercard', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dinercard_user_id'), ['user_id'], unique=False)

    op.create_table('menuitem',
    sa.Column('canteen_id', sa.Integer(), nullable=False),
    sa.Column('service_date', sa.Date(), nullable=False),
    sa.Column('meal', sa.Enum('breakfast', 'lunch', 'dinner', name='meal', native_enum=False), nullable=False),
    sa.Column('dish_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['canteen_id'], ['canteen.id'], ),
    sa.ForeignKeyConstraint(['dish_id'], ['dish.id'], ),
    sa.PrimaryKeyConstraint('canteen_id', 'service_date', 'meal', 'dish_id')
    )
    op.create_table('recurringbooking',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('diner_id', sa.Integer(), nullable=False),
    sa.Column('canteen_id', sa.Integer(), nullable=False),
    sa.Column('meal', sa.Enum('breakfast', 'lunch', 'dinner', name='meal', native_enum=False), nullable=False),
    sa.Column('days', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('starts', sa.Date(), nullable=False),
    sa.Column('until', sa.Date(), nullable=True),
    sa.Column('set_meal', sa.Boolean(), nullable=False),
    sa.Column('portion', sa.Enum('full', 'half', 'small', name='portion', native_enum=False), nullable=False),
    sa.Column('created_at', canteen.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['canteen_id'], ['canteen.id'], ),
    sa.ForeignKeyConstraint(['diner_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('recurringbooking', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recurringbooking_canteen_id'), ['canteen_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_recurringbooking_diner_id'), ['diner_id'], unique=False)

    op.create_table('booking',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('diner_id', sa.Integer(), nullable=False),
    sa.Column('canteen_id', sa.Integer(), nullable=False),
    sa.Column('service_date', sa.Date(), nullable=False),
    sa.Column('meal', sa.Enum('breakfast', 'lunch', 'dinner', name='meal', native_enum=False), nullable=False),
    sa.Column('status', sa.Enum('booked', 'cancelled', name='bookingstatus', native_enum=False), nullable=False),
    sa.Column('set_meal', sa.Boolean(), nullable=False),
    sa.Column('token', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('created_at', canteen.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', canteen.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('recurring_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['canteen_id'], ['canteen.id'], ),
    sa.ForeignKeyConstraint(['diner_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['recurring_id'], ['recurringbooking.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token')
    )
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.create_index('ix_booking_canteen_period', ['canteen_id', 'service_date', 'meal'], unique=False)
        batch_op.create_index('ix_booking_live', ['diner_id', 'service_date', 'meal'], unique=True, sqlite_where=sa.text("status = 'booked'"), postgresql_where=sa.text("status = 'booked'"))
        batch_op.create_index(batch_op.f('ix_booking_recurring_id'), ['recurring_id'], unique=False)

    op.create_table('bookingchoice',
    sa.Column('booking_id', sa.Integer(), nullable=False),
    sa.Column('dish_id', sa.Integer(), nullable=False),
    sa.Column('portion', sa.Enum('full', 'half', 'small', name='portion', native_enum=False), nullable=False),
    sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['dish_id'], ['dish.id'], ),
    sa.PrimaryKeyConstraint('booking_id', 'dish_id')
    )
    op.create_table('checkin',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('canteen_id', sa.Integer(), nullable=False),
    sa.Column('service_date', sa.Date(), nullable=False),
    sa.Column('meal', sa.Enum('breakfast', 'lunch', 'dinner', name='meal', native_enum=False), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=True),
    sa.Column('card_number', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('diner_id', sa.Integer(), nullable=True),
    sa.Column('at', canteen.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], ),
    sa.ForeignKeyConstraint(['by'], ['user.id'], ),
    sa.ForeignKeyConstraint(['canteen_id'], ['canteen.id'], ),
    sa.ForeignKeyConstraint(['diner_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('booking_id')
    )
    with op.batch_alter_table('checkin', schema=None) as batch_op:
        batch_op.create_index('ix_checkin_canteen_period', ['canteen_id', 'service_date', 'meal'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('checkin', schema=None) as batch_op:
        batch_op.drop_index('ix_checkin_canteen_period')

    op.drop_table('checkin')
    op.drop_table('bookingchoice')
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_booking_recurring_id'))
        batch_op.drop_index('ix_booking_live', sqlite_where=sa.text("status = 'booked'"), postgresql_where=sa.text("status = 'booked'"))
        batch_op.drop_index('ix_booking_canteen_period')

    op.drop_table('booking')
    with op.batch_alter_table('recurringbooking', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recurringbooking_diner_id'))
        batch_op.drop_index(batch_op.f('ix_recurringbooking_canteen_id'))

    op.drop_table('recurringbooking')
    op.drop_table('menuitem')
    with op.batch_alter_table('dinercard', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dinercard_user_id'))

    op.drop_table('dinercard')
    with op.batch_alter_table('dish', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dish_canteen_id'))

    op.drop_table('dish')
    op.drop_table('closedday')
    op.drop_table('bookingpolicy')
