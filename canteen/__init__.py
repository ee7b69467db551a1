"""canteen: measure, book and assess against food waste in public-institution canteens."""
