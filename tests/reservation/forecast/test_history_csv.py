"""Operator CSV exports: header by name, Chinese meal names and flags, every bad row with its line number."""
from datetime import date

import pytest

from canteen.reservation.forecast.history_csv import HistoryFileError, parse_history, read_history


def problems(text: str) -> list[str]:
    with pytest.raises(HistoryFileError) as caught:
        parse_history(text)
    return caught.value.problems


def test_reads_rows_into_a_history_frame() -> None:
    frame = parse_history("date,meal,booked,served\n2025-03-03,lunch,120,118\n2025-03-03,breakfast,60,52\n")
    assert list(frame.columns) == ["date", "meal", "booked", "served", "closed"]
    assert frame.iloc[0]["date"].date() == date(2025, 3, 3)
    assert frame[["meal", "booked", "served", "closed"]].values.tolist() == [
        ["lunch", 120, 118, False], ["breakfast", 60, 52, False]]


def test_chinese_meals_flags_dates_and_any_column_order() -> None:
    text = ("served,closed,meal,date,booked,notes\n"
            "0,是,午餐,2025/10/1,0,国庆\n"
            "95,否,早餐,2025-9-30,100,\n"
            "180,,晚餐,2025年9月29日,200,\n"
            "150,0,中餐,2025.09.28,160,\n")
    frame = parse_history(text)
    assert frame["meal"].tolist() == ["lunch", "breakfast", "dinner", "lunch"]
    assert frame["closed"].tolist() == [True, False, False, False]
    assert [stamp.date() for stamp in frame["date"]] == [date(2025, 10, 1), date(2025, 9, 30), date(2025, 9, 29),
                                                         date(2025, 9, 28)]


def test_every_bad_row_is_reported_with_its_line_number() -> None:
    text = ("date,meal,booked,served,closed\n"
            "2025-03-03,lunch,120,118,\n"
            "2025-02-30,lunch,120,118,\n"
            "\n"
            "2025-03-04,supper,-5,many,maybe\n"
            "2025-03-03,lunch,1,1,\n"
            "2025-03-05,dinner,12.5,\n")
    assert problems(text) == [
        "line 3: date '2025-02-30' is not a date like 2025-03-01",
        "line 5: meal 'supper' is not one of breakfast, lunch, dinner, 早餐, 午餐, 晚餐",
        "line 5: booked '-5' is not a whole number of diners",
        "line 5: served 'many' is not a whole number of diners",
        "line 5: closed 'maybe' is not one of 1, 0, true, false, 是, 否 or empty",
        "line 6: lunch on 2025-03-03 already appears on line 2",
        "line 7: booked '12.5' is not a whole number of diners",
        "line 7: served is empty",
    ]


def test_quoted_fields_spanning_lines_keep_line_numbers_right() -> None:
    text = 'date,meal,booked,served,note\n2025-03-03,lunch,1,1,"two\nlines"\n2025-03-04,lunch,x,1,\n'
    assert problems(text) == ["line 4: booked 'x' is not a whole number of diners"]


def test_empty_file_header_only_and_missing_columns() -> None:
    assert problems("") == ["the file is empty; expected a header line: date,meal,booked,served[,closed]"]
    assert problems("date,meal,booked,served\n") == ["the file has a header but no rows"]
    assert problems("date,meal,count\n2025-03-03,lunch,5\n") == [
        "line 1: missing columns booked, served; expected date,meal,booked,served[,closed]"]


def test_reads_utf8_with_bom_and_gb18030(tmp_path) -> None:
    text = "date,meal,booked,served\n2025-03-03,午餐,10,9\n"
    for encoding in ("utf-8-sig", "gb18030"):
        path = tmp_path / f"{encoding}.csv"
        path.write_bytes(text.encode(encoding))
        assert read_history(path)["meal"].tolist() == ["lunch"]


def test_binary_garbage_is_refused(tmp_path) -> None:
    path = tmp_path / "history.xlsx"
    path.write_bytes(b"PK\x03\x04\xff\xfe\x80\x81")
    with pytest.raises(HistoryFileError) as caught:
        read_history(path)
    assert caught.value.problems == ["the file is neither UTF-8 nor GB18030 text"]
