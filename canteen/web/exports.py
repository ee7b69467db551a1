"""Tables as downloads: CSV that Excel on Chinese Windows opens correctly, and .xlsx.

Both carry the headers the page shows, in the reader's language, whole numbers as integers, and no cell that a
spreadsheet would run as a formula (OWASP "CSV injection"): in CSV, text starting with = + - @ tab or CR gets a
leading apostrophe; in .xlsx such text is stored as a text cell, as typed.
"""
import io
from collections.abc import Mapping

import pandas as pd
from fastapi.responses import Response
from openpyxl.worksheet.worksheet import Worksheet

from canteen.i18n import gettext

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# A cell starting with one of these is a formula to Excel and LibreOffice (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet(frame: pd.DataFrame, headers: Mapping[str, str], language: str) -> pd.DataFrame:
    """The columns named in `headers` (column → msgid), in that order, under their translated headers.

    A float column whose values are all whole numbers (a count summed by pandas) becomes an integer column, so
    911 reads "911", not "911.0"; blanks stay blank.
    """
    table = frame[list(headers)].copy()
    for column in table.columns:
        values = table[column]
        if pd.api.types.is_float_dtype(values) and (values.dropna() % 1 == 0).all():
            table[column] = values.astype("Int64")
    table.columns = [gettext(msgid, language) for msgid in headers.values()]
    return table


def _inert(value: object) -> object:
    """Text a spreadsheet would evaluate, made literal in CSV with a leading apostrophe (numbers are left alone:
    a negative number stays a number)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _inert_frame(frame: pd.DataFrame) -> pd.DataFrame:
    text_columns = [column for column in frame.columns
                    if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column])]
    if not text_columns:
        return frame
    frame = frame.copy()
    frame[text_columns] = frame[text_columns].map(_inert)
    return frame


def _disposition(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


def csv_response(frame: pd.DataFrame, filename: str) -> Response:
    # A byte-order mark lets Excel on Chinese Windows open the UTF-8 file with the right encoding. Lines end in
    # CRLF (RFC 4180), which also makes the writer quote a field with a CR in it instead of breaking the row.
    body = "\ufeff" + _inert_frame(frame).to_csv(index=False, lineterminator="\r\n")
    return Response(body.encode("utf-8"), media_type="text/csv; charset=utf-8", headers=_disposition(filename))


def _text_cells(sheet: Worksheet) -> None:
    """Text that looks like a formula stored as text, exactly as typed: openpyxl would store "=…" as a formula.

    Marked with Excel's quote prefix too, so that editing the cell in Excel keeps it text."""
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith(FORMULA_STARTS):
                cell.data_type = "s"
                cell.quotePrefix = True


def xlsx_response(frame: pd.DataFrame, filename: str, sheet: str) -> Response:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        frame.to_excel(writer, index=False, sheet_name=sheet)
        _text_cells(writer.sheets[sheet])
    return Response(buffer.getvalue(), media_type=XLSX_TYPE, headers=_disposition(filename))
