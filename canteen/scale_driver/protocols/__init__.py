"""Weighing-indicator protocols, registered by name.

Every protocol module defines:
  NAME          the registry name (e.g. "yaohua-tf0")
  SERIAL        SerialDefaults the indicator uses out of the box
  POLL          bytes the host must send to get a reading (mt-sics: b"SI\r\n"), or None for streaming protocols
  Decoder       class; Decoder().feed(chunk) -> list[Reading] takes arbitrary byte chunks, never raises on bad
                input, resynchronises on the next frame start, counts skipped frames in `.bad_frames`
  decode(data)  -> list[Reading], a fresh Decoder fed one chunk (for tests and `canteen scale decode`)
  encode(reading) -> bytes, one frame (mt-sics: one reply line) for the simulator and tests
"""
from dataclasses import dataclass
from importlib import import_module
from types import ModuleType


@dataclass(frozen=True)
class Reading:
    grams: int | None  # None when the frame carries no trustworthy weight (overload, underload)
    stable: bool
    net: bool = False
    overload: bool = False
    underload: bool = False
    raw: bytes = b""


@dataclass(frozen=True)
class SerialDefaults:
    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"  # pyserial's PARITY_* letters
    stopbits: float = 1


MODULES = {
    "yaohua-tf0": "yaohua_tf0",
    "yaohua-a12": "yaohua_a12",
    "toledo-continuous": "toledo_continuous",
    "mt-sics": "mt_sics",
    "ascii-st-gs": "ascii_st_gs",
}


class UnknownProtocol(ValueError):
    pass


def names() -> list[str]:
    return list(MODULES)


def get(name: str) -> ModuleType:
    if name not in MODULES:
        raise UnknownProtocol(f"unknown scale protocol {name!r}; known: {', '.join(MODULES)}")
    return import_module(f"{__name__}.{MODULES[name]}")
