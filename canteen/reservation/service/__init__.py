"""Menus, closed days, booking rules, bookings, recurring bookings, check-ins and per-meal counts."""
from canteen.reservation.service.access import diner_canteen
from canteen.reservation.service.rules import get_policy, set_policy, cutoff
from canteen.reservation.service.menus import list_dishes, create_dish, get_menu, set_menu, list_closed_days, close_day, reopen_day
from canteen.reservation.service.bookings import book, booking_qr_svg, get_booking, cancel, my_bookings, booking_reads, my_no_shows, meal_counts, TOKEN_PREFIX
from canteen.reservation.service.recurring import create_recurring, list_recurring, end_recurring, materialise_recurring, RECURRING_HORIZON_DAYS
from canteen.reservation.service.checkin import assign_card, serving_now, recent_check_ins, check_in, walk_in, EARLY_CHECK_IN

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
