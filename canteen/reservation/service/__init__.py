"""Menus, closed days, booking rules, bookings, recurring bookings, check-ins and per-meal counts."""
from canteen.reservation.service.access import diner_canteen
from canteen.reservation.service.bookings import (
    TOKEN_PREFIX,
    book,
    booking_qr_svg,
    booking_reads,
    cancel,
    get_booking,
    meal_counts,
    my_bookings,
    my_no_shows,
)
from canteen.reservation.service.checkin import (
    EARLY_CHECK_IN,
    assign_card,
    check_in,
    recent_check_ins,
    serving_now,
    walk_in,
)
from canteen.reservation.service.menus import (
    close_day,
    create_dish,
    get_menu,
    list_closed_days,
    list_dishes,
    reopen_day,
    set_menu,
)
from canteen.reservation.service.recurring import (
    RECURRING_HORIZON_DAYS,
    create_recurring,
    end_recurring,
    list_recurring,
    materialise_recurring,
)
from canteen.reservation.service.rules import cutoff, get_policy, set_policy

__all__ = [
    "diner_canteen",
    "get_policy",
    "set_policy",
    "cutoff",
    "list_dishes",
    "create_dish",
    "get_menu",
    "set_menu",
    "list_closed_days",
    "close_day",
    "reopen_day",
    "book",
    "booking_qr_svg",
    "get_booking",
    "cancel",
    "my_bookings",
    "booking_reads",
    "my_no_shows",
    "meal_counts",
    "TOKEN_PREFIX",
    "create_recurring",
    "list_recurring",
    "end_recurring",
    "materialise_recurring",
    "RECURRING_HORIZON_DAYS",
    "assign_card",
    "serving_now",
    "recent_check_ins",
    "check_in",
    "walk_in",
    "EARLY_CHECK_IN",
]
