"""What waste stands for: money, CO2e and water, from factors each canteen (or its bureau) sets per kilogram."""
