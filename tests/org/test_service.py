"""Organisation logic without HTTP: the jurisdiction tree and meal windows."""
from datetime import time

import pytest

from canteen.access import SYSTEM
from canteen.errors import InvalidInput
from canteen.org import service
from canteen.org.models import BureauCreate, BureauLevel, CanteenCreate, CanteenUpdate, Meal, MealWindowSchema


def test_levels_follow_the_tree(session, org):
    city = service.get_bureau(session, SYSTEM, org.c1)
    county = service.get_bureau(session, SYSTEM, org.k1)
    assert (city.level, county.level) == (BureauLevel.city, BureauLevel.county)
    assert county.path == f"/{org.province}/{org.c1}/{org.k1}/"
    direct = service.create_bureau(session, SYSTEM, BureauCreate(
        name="省直管县", parent_id=org.province, level=BureauLevel.county))
    assert direct.path == f"/{org.province}/{direct.id}/"


def test_city_under_a_city_is_refused(session, org):
    with pytest.raises(InvalidInput) as error:
        service.create_bureau(session, SYSTEM, BureauCreate(name="X", parent_id=org.c1, level=BureauLevel.city))
    assert error.value.field == "level"


def test_bureau_filter_includes_the_whole_subtree(session, org):
    names = [c.name for c in service.list_canteens(session, SYSTEM, bureau_id=org.c1)]
    assert names == ["食堂A", "食堂H"]


def test_new_canteen_gets_default_meal_windows(session, org):
    windows = service.canteen_read(session, service.get_canteen(session, SYSTEM, org.canteens["a"])).meal_windows
    assert [(w.meal, w.starts, w.ends) for w in windows] == [
        (Meal.breakfast, time(7), time(9)), (Meal.lunch, time(11, 30), time(13, 30)),
        (Meal.dinner, time(17, 30), time(19, 30))]


def window(meal: str, starts: str, ends: str) -> MealWindowSchema:
    return MealWindowSchema(meal=meal, starts=starts, ends=ends)


def test_window_across_midnight_is_accepted(session, org):
    windows = [window("breakfast", "06:00", "08:00"), window("dinner", "22:30", "01:30")]
    service.update_canteen(session, SYSTEM, org.canteens["a"], CanteenUpdate(meal_windows=windows))
    stored = service.meal_windows(session, org.canteens["a"])
    assert [(w.meal, w.starts, w.ends) for w in stored] == [
        (Meal.breakfast, time(6), time(8)), (Meal.dinner, time(22, 30), time(1, 30))]


@pytest.mark.parametrize("windows", [
    [window("dinner", "22:00", "02:00"), window("breakfast", "01:59", "03:00")],  # overlap after midnight
    [window("lunch", "11:00", "13:00"), window("dinner", "12:59", "18:00")],
    [window("lunch", "11:00", "13:00"), window("lunch", "17:00", "18:00")],
])
def test_overlapping_or_repeated_windows_are_refused(session, org, windows):
    with pytest.raises(InvalidInput) as error:
        service.update_canteen(session, SYSTEM, org.canteens["a"], CanteenUpdate(meal_windows=windows))
    assert error.value.field == "meal_windows"


def test_touching_windows_are_fine(session, org):
    windows = [window("breakfast", "07:00", "11:00"), window("lunch", "11:00", "14:00")]
    service.update_canteen(session, SYSTEM, org.canteens["a"], CanteenUpdate(meal_windows=windows))
    assert len(service.meal_windows(session, org.canteens["a"])) == 2


def test_canteen_timezone_defaults_to_the_setting(session, org):
    canteen = service.create_canteen(session, SYSTEM, CanteenCreate(bureau_id=org.k1, name="乌鲁木齐食堂"),
                                     "Asia/Urumqi")
    assert canteen.timezone == "Asia/Urumqi"
