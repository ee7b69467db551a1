"""the bookings' canteen-and-day index also covers their booking and cancelling times

The forecast's history counts, for every past day, the bookings standing at that day's cut-off. With only
(canteen_id, service_date, meal) indexed, SQLite built a temporary index over every booking of the province for
each canteen's history (3 s a call on a 13-month demo); covering the two times, it reads the index alone.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 13:40:00
"""
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_index('ix_booking_canteen_period')
        batch_op.create_index('ix_booking_canteen_period',
                              ['canteen_id', 'service_date', 'meal', 'created_at', 'cancelled_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_index('ix_booking_canteen_period')
        batch_op.create_index('ix_booking_canteen_period', ['canteen_id', 'service_date', 'meal'], unique=False)
