"""Tables as downloads: CSV that Excel on Chinese Windows opens correctly, and .xlsx."""
import io

import pandas as pd
from fastapi.responses import Response

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _disposition(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


def csv_response(frame: pd.DataFrame, filename: str) -> Response:
    # A byte-order mark lets Excel on Chinese Windows open the UTF-8 file with the right encoding.
    body = "\ufeff" + frame.to_csv(index=False)
    return Response(body.encode("utf-8"), media_type="text/csv; charset=utf-8", headers=_disposition(filename))


def xlsx_response(frame: pd.DataFrame, filename: str, sheet: str) -> Response:
    buffer = io.BytesIO()
    frame.to_excel(buffer, index=False, sheet_name=sheet, engine="openpyxl")
    return Response(buffer.getvalue(), media_type=XLSX_TYPE, headers=_disposition(filename))
