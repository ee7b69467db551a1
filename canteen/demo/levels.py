"""How far each demo canteen's anti-waste work has got, and what that does to its figures.

A canteen's level is the share of checklist items it meets. The same level drives its weighings: a canteen that
does the work has more clean plates, cooks closer to its headcount and its leftovers fell more over the history,
so the best canteens earn 优秀 from the real scoring (with a year-on-year fall in plate waste to show for it) and
修水县第一中学学生食堂 lags behind on every count.
"""
import random

LAGGING = "修水县第一中学学生食堂"
# Two model canteens, so that bulletins have canteens to commend; the others draw a level by name.
EXEMPLARY = {"江西省人民医院职工食堂": 1.0, "南昌市机关第一食堂": 0.98}
LEVELS, LAGGING_LEVEL = (0.6, 0.9), 0.1
# The level at which a canteen's figures are the simulator's defaults, and the span above it to the best.
TYPICAL_LEVEL, SPAN = 0.75, 0.25
TYPICAL_CLEAN_SHARE = 0.25  # plates left clean in a typical canteen (the simulator's default)
BEST_CLEAN_SHARE_GAIN = 0.55  # and this much more in the best one
# Fall in leftovers over the history: typical, ± for the extremes, and at least this much (the lagging canteen).
# Surveys report falls of 15% to 30% in a year after anti-waste work: the best canteen's is about 20%.
IMPROVEMENT, IMPROVEMENT_SPREAD, LEAST_IMPROVEMENT = 0.1, 0.2, 0.02


def level(name: str) -> float:
    if name == LAGGING:
        return LAGGING_LEVEL
    return EXEMPLARY.get(name) or random.Random(name).uniform(*LEVELS)


def skill(name: str) -> float:
    """The level against a typical canteen's, from -1 (far behind) through 0 (typical) to 1 (the best)."""
    return max(-1.0, min(1.0, (level(name) - TYPICAL_LEVEL) / SPAN))


def campaign(age_share: float) -> float:
    """How much of its anti-waste gains a canteen had made `age_share` of the history ago (1 at the start, 0
    today): most of them early, fewer as it gets close to what it can do."""
    return 1 - age_share ** 2


def clean_share(name: str) -> float:
    """Share of plates that come back clean (0–2 g); leftovers on the others shrink with `trend`."""
    return TYPICAL_CLEAN_SHARE + BEST_CLEAN_SHARE_GAIN * max(skill(name), 0.0)


def trend(name: str, age_share: float) -> float:
    """Waste then against waste today: the campaign works, and works best where the work is done."""
    improvement = max(LEAST_IMPROVEMENT, IMPROVEMENT + IMPROVEMENT_SPREAD * skill(name))
    return 1 + improvement * (1 - campaign(age_share))


def leftover_factor(name: str, age_share: float) -> float:
    """Leftovers on the plates that are not clean, against the serving mode's typical median today."""
    return (1 - 0.2 * skill(name)) * trend(name, age_share)


def unserved_factor(name: str) -> float:
    """Cooked food nobody ate, against a typical canteen's: kitchens that forecast well cook less of it."""
    return 1 - 0.6 * skill(name)
