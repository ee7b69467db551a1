"""Menu entries per role; each domain package adds its pages here as it grows."""
from canteen.access import Role
from canteen.i18n import N_

ASSESSMENT = [(N_("Assessment"), "/assessment"), (N_("Sampling plan"), "/assessment/sampling"),
              (N_("Rectification"), "/assessment/rectification"), (N_("Bulletins"), "/assessment/bulletins"),
              (N_("Standards"), "/assessment/standards")]

NAVIGATION: dict[Role, list[tuple[str, str]]] = {
    Role.admin: [(N_("Home"), "/"), (N_("Bureaus"), "/admin/bureaus"), (N_("Canteens"), "/admin/canteens"),
                 (N_("Stations"), "/admin/stations"), (N_("Users"), "/admin/users"),
                 (N_("Holiday calendar"), "/admin/calendar"),
                 *ASSESSMENT],
    Role.bureau: [(N_("Canteens in my jurisdiction"), "/"), *ASSESSMENT],
    Role.operator: [(N_("My canteens"), "/"), (N_("Notices"), "/assessment/rectification")],
    Role.diner: [(N_("Home"), "/"), (N_("My bookings"), "/bookings"), (N_("My meal history"), "/bookings/history"),
                 (N_("My clean plates"), "/me/points")],
}

ROLE_LABELS: dict[Role, str] = {
    Role.diner: N_("Diner"),
    Role.operator: N_("Canteen operator"),
    Role.bureau: N_("Supervising bureau"),
    Role.admin: N_("Administrator"),
}

# Display labels for the stored enum values (serving/operating modes, meals, station kinds).
MODE_LABELS: dict[str, str] = {
    "buffet": N_("Buffet"),
    "portioned": N_("Portioned meals"),
    "table": N_("Table service"),
    "set-meal": N_("Set meals"),
    "self-run": N_("Self-run"),
    "outsourced": N_("Outsourced"),
    "breakfast": N_("Breakfast"),
    "lunch": N_("Lunch"),
    "dinner": N_("Dinner"),
    "plate-return": N_("Plate return"),
    "kitchen": N_("Kitchen"),
    "province": N_("Province"),
    "city": N_("City"),
    "county": N_("County"),
}
