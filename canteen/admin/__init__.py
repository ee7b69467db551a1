"""The administrator's management pages: bureaus, canteens, weighing stations and user accounts."""
