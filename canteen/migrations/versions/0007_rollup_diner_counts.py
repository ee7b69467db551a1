"""rollups keep every diner count they have (check-ins, the operator's count, plates) and use the largest

Until now the check-ins replaced the other counts as soon as a meal had one, so a meal with 3 check-ins and
8 plates counted 3 diners. The rollups are recomputed here from the raw records.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 12:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

SAME_MEAL = ("{table}.canteen_id = dailyrollup.canteen_id AND {table}.service_date = dailyrollup.service_date"
             " AND {table}.meal = dailyrollup.meal")


def upgrade() -> None:
    with op.batch_alter_table('dailyrollup', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checkins', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('counted_diners', sa.Integer(), nullable=True))
    op.execute(f"UPDATE dailyrollup SET"
               f" checkins = (SELECT count(*) FROM checkin WHERE {SAME_MEAL.format(table='checkin')}),"
               f" counted_diners = (SELECT diners FROM dinercount WHERE {SAME_MEAL.format(table='dinercount')})")
    # The largest count wins; ties go to check-ins, then the operator's count (canteen.weighing.service.diner_count).
    counted = "COALESCE(counted_diners, -1)"
    op.execute(f"""UPDATE dailyrollup SET
        diner_source = CASE WHEN checkins > 0 AND checkins >= {counted} AND checkins >= plates THEN 'checkins'
                            WHEN counted_diners IS NOT NULL AND counted_diners >= plates THEN 'operator'
                            ELSE 'plates' END,
        diners = CASE WHEN checkins > 0 AND checkins >= {counted} AND checkins >= plates THEN checkins
                      WHEN counted_diners IS NOT NULL AND counted_diners >= plates THEN counted_diners
                      ELSE plates END""")


def downgrade() -> None:
    with op.batch_alter_table('dailyrollup', schema=None) as batch_op:
        batch_op.drop_column('counted_diners')
        batch_op.drop_column('checkins')
