"""The reference for benchmarks/ingest.py: a FastAPI endpoint of the weighings route's shape and nothing else.

It validates a batch with pydantic and answers one result per item, with no database, no authentication and no
middleware: what uvicorn and FastAPI themselves allow on this machine. Run by the benchmark as
`uvicorn benchmarks.support.bare_endpoint:app`.
"""
from datetime import datetime

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class Item(BaseModel):
    seq: int
    measured_at: datetime
    grams: int


class Batch(BaseModel):
    items: list[Item]


@app.get("/healthz")
def healthz() -> dict:
    return {"status": "ok"}


@app.post("/api/v1/weighings")
def weighings(batch: Batch) -> dict:
    results = [{"index": index, "seq": item.seq, "status": "accepted"} for index, item in enumerate(batch.items)]
    return {"accepted": len(results), "duplicate": 0, "rejected": 0, "results": results}
