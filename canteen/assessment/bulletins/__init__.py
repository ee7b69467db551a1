"""Bulletins (通报): figures from scorecards (content), the draft -> approved -> published workflow (service),
the printable document and its PDF (render, fonts), the bureau's pages (views) and the public ones (public_views)."""
