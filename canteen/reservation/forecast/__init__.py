"""Headcount forecast: booking history (history, history_csv), the model, its backtest, the snapshots kept at each
cut-off to measure forecast error, the prep suggestion, and `canteen forecast` (cli)."""
