"""Kitchen staff at the terminal: they see the weighings waiting to be classified and tap what each one is, through
the server's station-keyed terminal API (plain HTTP; nothing of the server is imported):

    GET  /api/v1/stations/me/terminal
         {"pending": [{"id", "grams", "measured_at", "meal"}, …], "reasons": [{"code", "label"}, …],
          "dishes": [{"id", "name"}, …], "stages": ["storage", "trimmings", …],
          "menus": [{"service_date", "meal", "dish_ids"}, …]}
    POST /api/v1/kitchen-weighings/{id}/classification
         {"category": stage, "reason": code or null, "dish_id": id or null}

Each weighing is decided once, when it is first seen: left alone (a `leave_share` of them, so the terminal shows
them as unclassified once their time is up), or classified `react_s` real seconds later (someone walks over to the
tablet). The stage is drawn from typical shares of kitchen waste, the reason is the one that fits the stage when
the canteen's list has it (else one of its reasons, or none), and unserved food names one of the dishes of the
weighing's meal (`menus`, where the terminal lists them; else one of `dishes`).
Every decision is written to `truth` as one JSON line once it holds: left, or classified and taken by the server.
A classification the server did not answer is tried again at the next look; one it refused (4xx) is logged and
dropped. The same seed gives the same decisions for the same weighings.
"""
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

import httpx

log = logging.getLogger(__name__)

TERMINAL = "/api/v1/stations/me/terminal"
CLASSIFY = "/api/v1/kitchen-weighings/{id}/classification"
STAGE_SHARES = {"trimmings": 0.35, "unserved": 0.3, "kitchen-scraps": 0.15, "storage": 0.1, "other": 0.1}
STAGE_REASONS = {"storage": ("expired",), "trimmings": ("processing",), "unserved": ("overprepared", "unpopular"),
                 "kitchen-scraps": (), "other": ("equipment", "other")}


@dataclass(frozen=True)
class Decision:
    weighing: dict[str, Any]  # as the terminal listed it
    due: float  # monotonic second at which to classify it
    category: str | None  # None: left unclassified
    reason: str | None = None
    dish_id: int | None = None

    def record(self) -> dict[str, Any]:
        return {"t": datetime.now(UTC).isoformat(timespec="milliseconds"), "id": self.weighing["id"],
                "grams": self.weighing["grams"], "category": self.category, "reason": self.reason,
                "dish_id": self.dish_id}


class Staff:
    def __init__(self, server: str, station_key: str, *, seed: int = 1, leave_share: float = 0.25,
                 react_s: tuple[float, float] = (5.0, 40.0), truth: TextIO | None = None, timeout_s: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not 0 <= leave_share <= 1:
            raise ValueError(f"the share left unclassified must be between 0 and 1, not {leave_share}")
        if not 0 <= react_s[0] <= react_s[1]:
            raise ValueError("the reaction time needs 0 <= shortest <= longest")
        self.leave_share = leave_share
        self.react_s = react_s
        self.truth = truth
        self.clock = clock
        self.classified = 0
        self.left = 0
        self.refused = 0
        self._rng = random.Random(f"{seed}/staff")
        self._server = server.rstrip("/")
        self._client = httpx.Client(timeout=timeout_s, headers={"Authorization": f"Bearer {station_key}"})
        self._seen: set[int] = set()
        self._waiting: list[Decision] = []

    def run(self, stop: threading.Event, poll_s: float = 2.0) -> None:
        """Look at the terminal every `poll_s` until `stop` is set."""
        while not stop.is_set():
            self.look()
            stop.wait(poll_s)

    def look(self) -> None:
        """One look at the terminal: decide on the weighings new to the list, classify those that are due."""
        try:
            response = self._client.get(self._server + TERMINAL)
            response.raise_for_status()
            terminal = response.json()
        except (httpx.HTTPError, ValueError) as error:
            log.warning("cannot read the terminal: %s", error)
            return
        for weighing in terminal["pending"]:
            if weighing["id"] not in self._seen:
                self._seen.add(weighing["id"])
                self._decide(weighing, terminal)
        now = self.clock()
        pending = {weighing["id"] for weighing in terminal["pending"]}
        for decision in [decision for decision in self._waiting if decision.due <= now]:
            if decision.weighing["id"] not in pending:  # classified at the tablet meanwhile, or its time is up
                self._waiting.remove(decision)
            elif self._classify(decision) is not None:
                self._waiting.remove(decision)

    def _decide(self, weighing: dict[str, Any], terminal: dict[str, Any]) -> None:
        rng = self._rng
        if rng.random() < self.leave_share:
            self.left += 1
            log.info("weighing %d (%d g) left unclassified", weighing["id"], weighing["grams"])
            self._write(Decision(weighing, self.clock(), None))
            return
        stages = [stage for stage in terminal["stages"] if stage in STAGE_SHARES] or list(terminal["stages"])
        category = rng.choices(stages, weights=[STAGE_SHARES.get(stage, 0.1) for stage in stages])[0]
        codes = [reason["code"] for reason in terminal["reasons"]]
        fitting = [code for code in STAGE_REASONS.get(category, ()) if code in codes]
        reason = rng.choice(fitting) if fitting else rng.choice([*codes, None])
        dishes = _menu(weighing, terminal)
        dish_id = rng.choice(dishes) if category == "unserved" and dishes else None
        self._waiting.append(Decision(weighing, self.clock() + rng.uniform(*self.react_s), category, reason, dish_id))

    def _classify(self, decision: Decision) -> bool | None:
        """True: taken; False: refused (dropped); None: no answer (tried again)."""
        url = self._server + CLASSIFY.format(id=decision.weighing["id"])
        body = {"category": decision.category, "reason": decision.reason, "dish_id": decision.dish_id}
        try:
            response = self._client.post(url, json=body)
        except httpx.HTTPError as error:
            log.warning("classifying weighing %d failed: %s; will retry", decision.weighing["id"], error)
            return None
        if response.status_code >= 500:
            log.warning("classifying weighing %d: HTTP %d; will retry", decision.weighing["id"], response.status_code)
            return None
        if not response.is_success:
            self.refused += 1
            log.warning("the server refused classifying weighing %d as %s: HTTP %d %s", decision.weighing["id"],
                        body, response.status_code, response.text[:300])
            return False
        self.classified += 1
        log.info("weighing %d (%d g) classified: %s", decision.weighing["id"], decision.weighing["grams"], body)
        self._write(decision)
        return True

    def _write(self, decision: Decision) -> None:
        if self.truth is not None:
            self.truth.write(json.dumps(decision.record()) + "\n")
            self.truth.flush()

    def close(self) -> None:
        self._client.close()


def _menu(weighing: dict[str, Any], terminal: dict[str, Any]) -> list[int]:
    """The dishes of the weighing's meal, when the terminal lists the menus apart; else every dish it lists."""
    for menu in terminal.get("menus", ()):
        if (menu["service_date"], menu["meal"]) == (weighing.get("service_date"), weighing.get("meal")):
            return list(menu["dish_ids"])
    return [dish["id"] for dish in terminal["dishes"]]
