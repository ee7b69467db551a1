from datetime import date, datetime
from typing import Annotated

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, StringConstraints
from pydantic import Field as PydanticField
from sqlmodel import Field, SQLModel

from canteen.bounds import Day
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


# ---- API schemas -------------------------------------------------------------

# More than any canteen hands over at once: a weight above it is grams typed for kilograms, or a slip.
MAX_HANDOVER_G = 100_000_000  # 100 t

Collector = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
ManifestNo = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class HandoverEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    handed_on: Day
    collector: Collector
    manifest_no: ManifestNo
    grams: int = PydanticField(gt=0, le=MAX_HANDOVER_G)
    note: str = PydanticField(default="", max_length=200)
