"""Menus, bookings, check-ins, headcount forecast and prep suggestions."""
