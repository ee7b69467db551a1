"""The org records' enumerations, importable without the database layer (the `canteen` command's options use them).

canteen.org.models re-exports them; import them from there everywhere else.
"""
from enum import StrEnum


class BureauLevel(StrEnum):
    province = "province"
    city = "city"
    county = "county"


class OperatingMode(StrEnum):
    self_run = "self-run"  # 自营
    outsourced = "outsourced"  # 外包


class ServingMode(StrEnum):
    buffet = "buffet"  # 自助餐
    portioned = "portioned"  # 份餐
    table = "table"  # 桌餐
    set_meal = "set-meal"  # 套餐


class Meal(StrEnum):
    breakfast = "breakfast"
    lunch = "lunch"
    dinner = "dinner"


class StationKind(StrEnum):
    plate_return = "plate-return"
    kitchen = "kitchen"


class Parity(StrEnum):
    none = "N"
    even = "E"
    odd = "O"
    mark = "M"
    space = "S"
