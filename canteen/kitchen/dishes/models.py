"""API schemas for what the kitchen cooked of each dish (the table is reservation's DishCooked)."""
from datetime import date

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydanticField

from canteen.bounds import Id
from canteen.org.models import Meal

MAX_COOKED_KG = 10_000.0  # ten tonnes of one dish for one meal is a slip (grams typed for kilograms), not a meal


class CookedEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dish_id: Id
    cooked_kg: float = PydanticField(ge=0, le=MAX_COOKED_KG, allow_inf_nan=False)


class CookedUpdate(BaseModel):
    """What was cooked of each dish of a meal; a dish of the menu left out goes back to the plan."""

    model_config = ConfigDict(extra="forbid")
    dishes: list[CookedEntry] = PydanticField(max_length=100)


class DishCookedRead(BaseModel):
    dish_id: int
    name: str
    planned_kg: float | None  # the prep suggestion: stored with the entry, else as it stands now
    cooked_kg: float | None  # the kitchen's entry, or the plan when it entered none
    entered: bool
    unserved_kg: float
    unserved_share: float | None  # of cooked_kg; None when nothing was cooked


class MealCookedRead(BaseModel):
    canteen_id: int
    service_date: date
    meal: Meal
    dishes: list[DishCookedRead]
