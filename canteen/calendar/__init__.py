"""The official calendar: public holidays and adjusted workdays (调休) as data, seeded and imported yearly."""
