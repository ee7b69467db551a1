"""scorecard waste basis: the plate-waste grams and diners of each scorecard's body as columns beside it

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 20:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

BASIS = ("metrics", "plate_waste_g_per_diner", "basis")


def _extracted(dialect: str, key: str) -> str:
    """A number from the body's basis, or NULL where it has none (or not a number)."""
    if dialect == "postgresql":
        path = "{" + ",".join((*BASIS, key)) + "}"
        text = f"body::jsonb #>> '{path}'"
        return f"CASE WHEN jsonb_typeof(body::jsonb #> '{path}') = 'number' THEN ({text})::float END"
    path = "$." + ".".join((*BASIS, key))
    return f"CASE WHEN json_type(body, '{path}') IN ('integer', 'real') THEN json_extract(body, '{path}') END"


def upgrade() -> None:
    with op.batch_alter_table('scorecard') as batch:
        batch.add_column(sa.Column('plate_waste_g', sa.Float(), nullable=True))
        batch.add_column(sa.Column('diners', sa.Float(), nullable=True))
    dialect = op.get_bind().dialect.name
    op.execute(f"UPDATE scorecard SET plate_waste_g = {_extracted(dialect, 'plate_waste_g')}, "
               f"diners = {_extracted(dialect, 'diners')}")


def downgrade() -> None:
    with op.batch_alter_table('scorecard') as batch:
        batch.drop_column('diners')
        batch.drop_column('plate_waste_g')
