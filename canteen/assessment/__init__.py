"""Assessment of canteens against a standard: standards as data, metrics, scoring, scorecards, bulletins."""
