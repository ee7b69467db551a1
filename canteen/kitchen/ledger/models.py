from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from canteen.dbtypes import UTCDateTime


class WasteHandover(SQLModel, table=True):
    """Kitchen waste handed to the licensed collector: one row per collection, with the manifest (联单) number."""

    __table_args__ = (
        sa.UniqueConstraint("canteen_id", "manifest_no"),
        sa.Index("ix_wastehandover_canteen_day", "canteen_id", "handed_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    canteen_id: int = Field(foreign_key="canteen.id")
    handed_on: date
    collector: str = Field(max_length=100)
    manifest_no: str = Field(max_length=64)
    grams: int
    note: str = Field(default="", max_length=200)
    recorded_by: int | None = Field(default=None, foreign_key="user.id")
    recorded_at: datetime = Field(sa_type=UTCDateTime)
