"""Waste factors: a price per kilogram for each stage where food is wasted, and the CO2e and water a kilogram of
food waste stands for. A canteen's own row, then its bureaus' from the nearest up, then the built-in defaults:
each factor is taken from the first that sets it."""
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydanticField
from sqlmodel import Field, SQLModel

from canteen.dbtypes import UTCDateTime
from canteen.weighing.models import KitchenCategory


class WasteStage(StrEnum):
    """Where waste is weighed: the plates diners return, and the kitchen's categories."""

    plate = "plate"
    storage = KitchenCategory.storage.value
    trimmings = KitchenCategory.trimmings.value
    unserved = KitchenCategory.unserved.value
    kitchen_scraps = KitchenCategory.kitchen_scraps.value
    other = KitchenCategory.other.value
    unclassified = KitchenCategory.unclassified.value


class WasteFactors(SQLModel, table=True):
    """One canteen's or one bureau's factors; a factor left NULL (a stage missing from `prices`) is inherited."""

    __table_args__ = (
        sa.CheckConstraint("(canteen_id IS NULL) <> (bureau_id IS NULL)", name="ck_wastefactors_one_owner"),
    )

    id: int | None = Field(default=None, primary_key=True)
    canteen_id: int | None = Field(default=None, foreign_key="canteen.id", unique=True)
    bureau_id: int | None = Field(default=None, foreign_key="bureau.id", unique=True)
    prices: dict[str, float] = Field(default_factory=dict, sa_type=sa.JSON)  # stage -> yuan per kg
    co2e_kg_per_kg: float | None = None
    water_l_per_kg: float | None = None
    updated_by: int | None = Field(default=None, foreign_key="user.id")
    updated_at: datetime = Field(sa_type=UTCDateTime)


# ---- API schemas -------------------------------------------------------------

MAX_PRICE_YUAN_PER_KG = 1000.0  # above any food's price: a typing slip (grams for kilograms)
MAX_CO2E_KG_PER_KG = 100.0  # beef, the most carbon-heavy food, is about 60–100
MAX_WATER_L_PER_KG = 20_000.0  # beef's whole water footprint is about 15,000


Price = Annotated[float, PydanticField(ge=0, le=MAX_PRICE_YUAN_PER_KG)]


class FactorsUpdate(BaseModel):
    """The factors an owner sets; a stage left out, or null, inherits its price."""

    model_config = ConfigDict(extra="forbid")
    prices: dict[WasteStage, Price | None] = PydanticField(default_factory=dict)
    co2e_kg_per_kg: float | None = PydanticField(default=None, ge=0, le=MAX_CO2E_KG_PER_KG)
    water_l_per_kg: float | None = PydanticField(default=None, ge=0, le=MAX_WATER_L_PER_KG)


class FactorSource(StrEnum):
    canteen = "canteen"
    bureau = "bureau"
    default = "default"


class Factor(BaseModel):
    value: float
    source: FactorSource
    bureau_id: int | None = None  # set when the bureau's value is used
    reference: str = ""  # where a default comes from (a publication), in English


class FactorsRead(BaseModel):
    """The factors in force for a canteen (or set by a bureau), each with where it came from."""

    prices: dict[WasteStage, Factor]
    co2e_kg_per_kg: Factor
    water_l_per_kg: Factor


@dataclass(frozen=True)
class Valuation:
    """Grams of waste as money, carbon and water."""

    grams: float
    yuan: float
    co2e_kg: float
    water_l: float

    @property
    def kg(self) -> float:
        return self.grams / 1000
