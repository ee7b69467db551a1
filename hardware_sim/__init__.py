"""Emulated weighing indicators and diner traffic (see the scale-driver issue)."""
