"""Every output variant of every protocol, as the emulator process sends it over TCP, read by the driver's decoder.

Each run is a short bin-mode meal (net readings, a tare the indicator holds) with someone leaning on the scale
every few seconds (overload frames, where the format has them), without conversion noise so that every resting
weight is exact. The whole stream must be made of that variant's frames (checked against a pattern written from
the reference, not by the writers), and every resting weight of the ground truth must show up in it.
"""
import re
import subprocess
import sys

import pytest

from canteen.scale_driver.protocols import get
from canteen.scale_driver.protocols.yaohua_a12 import Decoder as A12Decoder

RUN = ("--mode", "bin", "--diners", "4", "--meal-minutes", "0.25", "--seed", "5", "--speed", "40", "--noise-g", "0",
       "--overload-every", "6", "--wait-client")

TOLEDO = rb"\x02[\x20-\x7f]{3}[ 0-9]{12}\r"
ASCII_WEIGHT = rb"(?:01)?(?:ST|US),NT,"
# (protocol, variant, command the client polls with or None, pattern of the whole stream, has overload frames)
CASES = [
    ("yaohua-tf0", "hex-check", None, rb"(?:\x02[+-]\d{6}3[0-9A-F]{2}\x03)+", False),
    ("yaohua-tf0", "offset-check", None, rb"(?:\x02[+-]\d{6}3[0-9:;<=>?]{2}\x03)+", False),
    ("yaohua-a12", "w-lines", None, rb"(?:WN[-0-9]\d\d\.\d{3}kg[0-9A-F]{2}\r\n| {9}OL23\r\n)+", True),
    ("yaohua-a12", "screen", None, rb"(?:=\d{3}\.\d{3}[0-])+", False),
    ("yaohua-a12", "screen-forward", None, rb"(?:=[0-][0-9]\d\d\.\d{3})+", False),
    ("yaohua-a12", "lower-case", None, rb"(?:wn[-0-9]\d\d\.\d{3}kg\n|wt001\.500kg\n)+", False),
    ("toledo-continuous", "checksum", None, rb"(?:" + TOLEDO + rb"[\x00-\x7f])+", True),
    ("toledo-continuous", "no-checksum", None, rb"(?:" + TOLEDO + rb")+", True),
    ("toledo-continuous", "checksum-parity", None, rb"(?:" + TOLEDO + rb"[\x00-\x7f])+", True),
    ("toledo-continuous", "no-checksum-parity", None, rb"(?:" + TOLEDO + rb")+", True),
    ("toledo-continuous", "grams", None, rb"(?:\x02\*[\x20-\x7f]![ 0-9]{12}\r[\x00-\x7f])+", True),
    ("mt-sics", "kg", b"SI", rb"(?:S [SD] +-?\d+\.\d{3} kg\r\n|S \+\r\n)+", True),
    ("mt-sics", "kg", b"S", rb"(?:S S +-?\d+\.\d{3} kg\r\n|S [+I]\r\n)+", True),
    ("mt-sics", "g", b"SI", rb"(?:S [SD] +-?\d+ g\r\n|S \+\r\n)+", True),
    ("mt-sics", "g", b"S", rb"(?:S S +-?\d+ g\r\n|S [+I]\r\n)+", True),
    ("ascii-st-gs", "plain", None, rb"(?:(?:ST|US),NT,[-+]\d{4}\.\d{3}kg\r\n|OL,NT,\+9999\.999kg\r\n)+", True),
    ("ascii-st-gs", "address", None, rb"(?:01(?:ST|US),NT,[-+]\d{4}\.\d{3}kg\r\n|01OL,NT,\+9999\.999kg\r\n)+", True),
    ("ascii-st-gs", "unit-comma", None, rb"(?:(?:ST|US),NT,[-+]\d{4}\.\d{3},kg\r\n|OL,NT,\+9999\.999,kg\r\n)+",
     True),
    ("ascii-st-gs", "space-sign", None, rb"(?:(?:ST|US),NT,[- ]\d{4}\.\d{3}kg\r\n|OL,NT,\+9999\.999kg\r\n)+", True),
    ("ascii-st-gs", "space-padded", None, rb"(?:(?:ST|US),NT,[-+] *\d{1,4}\.\d{3}kg\r\n|OL,NT,\+9999\.999kg\r\n)+",
     True),
    ("ascii-st-gs", "g", None, rb"(?:(?:ST|US),NT,[-+]\d{8}g\r\n|OL,NT,\+99999999g\r\n)+", True),
    ("ascii-st-gs", "lb", None, rb"(?:(?:ST|US),NT,[-+]\d{4}\.\d{3}lb\r\n|OL,NT,\+9999\.999lb\r\n)+", True),
]


def even_parity(byte: int) -> bool:
    return bin(byte).count("1") % 2 == 0


@pytest.mark.parametrize(("protocol", "variant", "command", "pattern", "overloads"), CASES,
                         ids=[f"{case[0]}-{case[1]}" + (f"-{case[2].decode()}" if case[2] else "") for case in CASES])
def test_the_driver_reads_the_variant_the_emulator_sends(emulator, connect, protocol: str, variant: str,
                                                         command: bytes | None, pattern: bytes,
                                                         overloads: bool) -> None:
    scale = emulator("--protocol", protocol, "--variant", variant, "--tcp", "127.0.0.1:0", *RUN)
    client = connect(scale.address)
    if command is None:
        data = client.read_until_closed()
    else:
        polls, data = client.poll_until_closed(command + b"\r\n")
        assert data.count(b"\r\n") >= polls - 1 > 50  # one reply per command (the last may cross the hang-up)
    scale.finish()

    if variant.endswith("-parity"):
        assert all(even_parity(byte) for byte in data) and any(byte & 0x80 for byte in data)
        wire = bytes(byte & 0x7F for byte in data)
    else:
        wire = data
    assert re.fullmatch(pattern, wire, re.DOTALL), wire[:200]

    decoder = A12Decoder(reversed_value=False) if variant == "screen-forward" else get(protocol).decoder()
    readings = decoder.feed(data) + decoder.flush()
    assert decoder.bad_frames == 0
    assert readings
    assert any(reading.overload for reading in readings) == overloads
    has_net_flag = protocol not in ("yaohua-tf0", "mt-sics") and not variant.startswith("screen")
    assert all(reading.net == has_net_flag for reading in readings if reading.grams is not None)
    resting = {reading.grams for reading in readings if reading.stable}
    truth = scale.truth()
    assert truth
    for event in truth:  # each weight the bin came to rest at is read exactly (no noise, 1 g divisions)
        assert event["tare"] + event["grams"] in resting, (event, sorted(resting))
    if variant == "lower-case":
        assert decoder.ignored_frames > 0  # its tare lines


def test_an_unknown_variant_is_one_line_and_a_non_zero_exit() -> None:
    result = subprocess.run([sys.executable, "-m", "hardware_sim", "scale", "--protocol", "mt-sics", "--variant", "lb",
                             "--pty"], capture_output=True, text=True, timeout=10)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == "error: Invalid value for --variant: 'lb' is not one of kg, g\n"

