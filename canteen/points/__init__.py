"""光盘打卡: plates attributed to the diners who returned them, clean-plate points by each bureau's rules, and
their export to a points platform."""
