"""Forecast accuracy and speed: backtest simulated canteens of several sizes against the two baselines.

Each canteen is a seeded `hardware_sim.bookings` history starting 1 January 2025 (Spring Festival,
Qingming, Labour Day and Dragon Boat holidays with their adjusted workdays). Prints MAPE and WAPE of the
forecast, "same weekday last week" and "bookings", how much lower the forecast's WAPE is than the better
baseline, the share of headcounts inside the 80 % interval, and the time each backtest takes; then the
interval's coverage over all canteens beside its nominal 80 %, with the shares that fell below and above it
and the coverage per meal.
"""
import argparse
import time
from datetime import date

import numpy as np
import pandas as pd

from canteen.calendar.service import library_calendar
from canteen.reservation.calendar import day_kinds
from canteen.reservation.forecast.backtest import METHODS, backtest
from canteen.reservation.forecast.model import history_frame
from hardware_sim.bookings import simulate

CALENDAR = library_calendar()

START = date(2025, 1, 1)
TARGET = 0.3
NOMINAL = 0.8  # the forecast's interval runs from its 10th to its 90th percentile
# (seats, weekend bookings as a share of a weekday's): a county canteen up to a provincial department's.
CANTEENS = ((150, 0.0), (300, 0.0), (300, 0.3), (600, 0.0), (1000, 0.2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--seeds", type=int, default=3, help="canteens per size")
    args = parser.parse_args()
    header = "".join(f"{name:>16}" for name in METHODS)
    inside = f"in {NOMINAL:.0%}"
    print(f"{'seats':>5} {'wknd':>4} {'seed':>4} {header}  {'better':>9} {'improve':>7} {inside:>6} {'time':>6}")
    print(f"{'':>15} " + "".join(f"{'MAPE':>8}{'WAPE':>8}" for _ in METHODS))
    improvements, seconds, scored = [], [], []
    for seats, weekend_share in CANTEENS:
        for seed in range(args.seeds):
            rows = simulate(seed, START, args.days, seats=seats, weekend_share=weekend_share,
                            day_kind=day_kinds(CALENDAR))
            history = history_frame((row.day, row.meal, row.booked, row.served, row.closed) for row in rows)
            started = time.perf_counter()
            result = backtest(history, calendar=CALENDAR)
            seconds.append(time.perf_counter() - started)
            improvements.append(result.improvement)
            scored.append(result.predictions[result.predictions["scored"]])
            scores = "".join(f"{result.overall[name].mape:8.1%}{result.overall[name].wape:8.1%}" for name in METHODS)
            print(f"{seats:>5} {weekend_share:>4.1f} {seed:>4} {scores}  {result.better_baseline:>9} "
                  f"{result.improvement:>7.0%} {result.coverage:>6.0%} {seconds[-1]:>5.2f}s")
    reached = sum(improvement >= TARGET for improvement in improvements)
    print(f"\n{len(improvements)} canteens, {args.days} days each: forecast WAPE lower than the better baseline by "
          f"{np.mean(improvements):.0%} on average (min {min(improvements):.0%}, max {max(improvements):.0%}); "
          f"{reached} of {len(improvements)} reach {TARGET:.0%}.")
    rows = pd.concat(scored)
    inside = (rows["served"] >= rows["low"]) & (rows["served"] <= rows["high"])
    per_meal = ", ".join(f"{meal} {share:.1%}" for meal, share in inside.groupby(rows["meal"]).mean().items())
    print(f"interval: {inside.mean():.1%} of {len(rows)} headcounts inside (nominal {NOMINAL:.0%}), "
          f"{(rows['served'] < rows['low']).mean():.1%} below, {(rows['served'] > rows['high']).mean():.1%} above; "
          f"per meal {per_meal}")
    print(f"backtest time: {np.mean(seconds):.2f} s per canteen on average "
          f"({np.mean(seconds) / args.days * 1000:.1f} ms per forecast day)")


if __name__ == "__main__":
    main()
