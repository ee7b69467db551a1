from datetime import date

from fastapi import APIRouter

from canteen.bounds import Day, Id
from canteen.kitchen.dishes import service
from canteen.kitchen.dishes.models import CookedUpdate, DishCookedRead, MealCookedRead
from canteen.org.models import Meal
from canteen.web.deps import ApiScope, DbSession, Now

router = APIRouter(prefix="/api/v1", tags=["kitchen"])


def _kg(grams: int | None) -> float | None:
    return None if grams is None else grams / 1000


def _read(canteen_id: int, day: date, meal: Meal, rows: list[service.DishMeal]) -> MealCookedRead:
    return MealCookedRead(canteen_id=canteen_id, service_date=day, meal=meal, dishes=[DishCookedRead(
        dish_id=row.dish_id, name=row.name, planned_kg=_kg(row.planned), cooked_kg=_kg(row.cooked),
        entered=row.entered is not None, unserved_kg=row.unserved / 1000, unserved_share=row.unserved_share)
        for row in rows])


@router.get("/canteens/{canteen_id}/dishes-cooked/{day}/{meal}", response_model=MealCookedRead)
def meal_cooked(canteen_id: Id, day: Day, meal: Meal, scope: ApiScope, session: DbSession,
                now: Now) -> MealCookedRead:
    """Per dish of the meal: the plan (the prep suggestion), what was cooked (the kitchen's entry, else the plan:
    `entered` says which), the unserved food weighed for it and its share of what was cooked."""
    return _read(canteen_id, day, meal, service.meal_dishes(session, scope, canteen_id, day, meal, now))


@router.put("/canteens/{canteen_id}/dishes-cooked/{day}/{meal}", response_model=MealCookedRead)
def set_meal_cooked(canteen_id: Id, day: Day, meal: Meal, body: CookedUpdate, scope: ApiScope, session: DbSession,
                    now: Now) -> MealCookedRead:
    """Replace what the kitchen cooked of the meal's dishes, in kg of raw ingredients; a dish of the menu left out
    goes back to the plan. The canteen's operators, from the meal's day on."""
    rows = service.set_cooked(session, scope, canteen_id, day, meal, body, now)
    session.commit()
    return _read(canteen_id, day, meal, rows)
