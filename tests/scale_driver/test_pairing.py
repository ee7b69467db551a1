"""The pairing rule (pairing.py) on hand-made timelines: seconds from a start, a window of 20 s before and 5 s after,
and a lag of 0.5 s (how late the gateway may learn of a tray that settled)."""
import json
from datetime import UTC, datetime, timedelta

import pytest

from canteen.scale_driver.pairing import Decision, Pairing, PairingConfig

START = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
LAG_S = 0.5


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


def pairing(**state) -> Pairing:
    return Pairing(PairingConfig(before_s=20, after_s=5), lag_s=LAG_S, last_seq=0, **state)


def outcome(decisions: list[Decision]) -> list[tuple[int, str | None]]:
    return [(decision.seq, decision.code) for decision in decisions]


def test_a_scan_before_the_tray_pairs_as_soon_as_the_tray_is_known():
    p = pairing()
    p.scan(at(0), "bk_a")
    p.tray(1, at(19.5))  # 19.5 s after the scan: inside the 20 s
    assert outcome(p.decide(at(20))) == [(1, "bk_a")]
    assert (p.paired, p.anonymous, p.unpaired, p.double) == (1, 0, 0, 0)
    assert p.waiting == []


def test_a_scan_more_than_the_window_before_leaves_the_tray_anonymous_and_is_dropped():
    p = pairing()
    p.scan(at(0), "bk_a")
    p.tray(1, at(20.5))
    assert p.decide(at(21)) == []  # a late scan could still come
    assert outcome(p.decide(at(20.5 + 5 + LAG_S))) == [(1, None)]
    assert (p.paired, p.anonymous, p.unpaired) == (0, 1, 1)


def test_a_late_scan_pairs_once_no_next_tray_could_settle_nearer_to_it():
    p = pairing()
    p.tray(1, at(10))
    p.scan(at(12), "bk_a")  # 2 s after: a next tray settling before 14 s would be nearer
    assert p.decide(at(14.4)) == []
    [decision] = p.decide(at(14.5))  # 12 + 2 + the lag
    assert (decision.seq, decision.code, decision.offset_s) == (1, "bk_a", 2.0)


def test_a_scan_more_than_the_window_after_is_not_the_trays():
    p = pairing()
    p.tray(1, at(10))
    p.scan(at(15.2), "bk_a")
    assert outcome(p.decide(at(15.5))) == [(1, None)]
    assert p.unpaired == 0  # the next tray may still take it, up to 20 s on
    assert p.decide(at(15.2 + 20 + LAG_S + 0.1)) == []
    assert p.unpaired == 1


def test_no_scan_is_anonymous_when_the_late_window_is_over_or_the_next_tray_settles():
    p = pairing()
    p.tray(1, at(10))
    assert p.decide(at(15.4)) == []
    assert outcome(p.decide(at(15.5))) == [(1, None)]
    p.tray(2, at(30))
    p.tray(3, at(32))
    assert outcome(p.decide(at(32.5))) == [(2, None)]  # the next tray settled: nothing can come between any more


def test_scanning_twice_before_one_tray_counts_once_by_the_latest_scan():
    p = pairing()
    p.scan(at(0), "1234567890")
    p.scan(at(6), "1234567890")
    p.tray(1, at(8))
    assert outcome(p.decide(at(8.5))) == [(1, "1234567890")]
    assert (p.paired, p.double, p.unpaired) == (1, 1, 0)


def test_scanning_again_after_the_tray_is_a_double_scan_not_the_next_diners():
    p = pairing()
    p.scan(at(0), "bk_a")
    p.tray(1, at(2))
    p.decide(at(2.5))
    p.scan(at(4), "bk_a")  # not sure it beeped
    p.tray(2, at(9))  # the next diner, who does not scan
    assert outcome(p.decide(at(9 + 5 + LAG_S))) == [(2, None)]
    assert (p.paired, p.anonymous, p.double, p.unpaired) == (1, 1, 1, 0)


def test_of_two_scans_before_one_tray_the_latest_wins_and_the_other_is_dropped():
    p = pairing()
    p.scan(at(0), "bk_a")  # a diner who scanned and walked off with the tray
    p.scan(at(3), "bk_b")
    p.tray(1, at(5))
    assert outcome(p.decide(at(5.5))) == [(1, "bk_b")]
    assert p.unpaired == 1  # before a decided tray: nothing can take it any more


def test_a_late_scan_and_the_next_diners_own_scan_each_go_to_their_tray():
    p = pairing()
    p.tray(1, at(10))
    p.scan(at(11), "bk_a")  # late, for tray 1
    p.scan(at(13), "bk_b")  # before tray 2
    p.tray(2, at(14))
    assert outcome(p.decide(at(14.5))) == [(1, "bk_a"), (2, "bk_b")]


@pytest.mark.parametrize("scan_s, expected", [
    (12.0, [(1, "bk_x"), (2, None)]),  # 2 s after tray 1, 4 s before tray 2
    (14.5, [(1, None), (2, "bk_x")]),  # 4.5 s after tray 1, 1.5 s before tray 2
    (13.0, [(1, None), (2, "bk_x")]),  # a tie goes to the tray after the scan
])
def test_one_scan_between_two_trays_goes_to_the_nearer_one_only(scan_s, expected):
    p = pairing()
    p.tray(1, at(10))
    p.scan(at(scan_s), "bk_x")
    p.tray(2, at(16))
    assert outcome(p.decide(at(16.5)) + p.decide(at(30))) == expected


def test_a_late_scan_waits_while_a_nearer_next_tray_could_still_come():
    p = pairing()
    p.tray(1, at(10))
    p.scan(at(14), "bk_x")  # 4 s late: a tray settling before 18 s would be nearer
    assert p.decide(at(16)) == []
    p.tray(2, at(17))
    assert outcome(p.decide(at(17.5))) == [(1, None), (2, "bk_x")]


def test_a_scan_without_a_plate_is_dropped_once_no_tray_can_take_it():
    p = pairing()
    p.scan(at(0), "bk_a")
    assert p.decide(at(20.5)) == [] and p.unpaired == 0
    p.decide(at(20.6))
    assert p.unpaired == 1
    assert p.state()["scans"] == []


def test_the_state_carries_waiting_scans_and_trays_across_a_restart():
    p = pairing()
    p.scan(at(0), "bk_a")
    p.tray(7, at(30))  # too late for bk_a, which waits as the next tray's
    p.scan(at(31), "bk_b")  # a late scan for tray 7: decided only at 31 + 1 + lag
    p.decide(at(31.2))
    saved = json.loads(json.dumps(p.state()))
    restored = Pairing(PairingConfig(before_s=20, after_s=5), lag_s=LAG_S, last_seq=7, state=saved)
    assert restored.waiting == [7]
    assert outcome(restored.decide(at(32.5))) == [(7, "bk_b")]
    restored.scan(at(33), "bk_b")  # its repeat is known as one
    assert restored.double == 1


@pytest.mark.parametrize("state", [{"scans": [["yesterday", "x"]], "trays": [], "taken": [], "previous": None},
                                   {"scans": []}, {"scans": [1], "trays": [], "taken": [], "previous": None}])
def test_a_state_not_written_by_the_pairing_is_refused(state):
    with pytest.raises((ValueError, KeyError, TypeError)):
        pairing(state=state)
