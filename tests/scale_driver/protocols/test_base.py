"""Shared protocol pieces: the XOR check, unit conversion and rounding."""
import pytest

from canteen.scale_driver.protocols._base import KG, UNITS, divide_rounded, scaled_grams, text_grams, xor_check


@pytest.mark.parametrize(("data", "check"), [
    (b"", 0x00),
    (b"\x5a", 0x5A),
    (b"+0000000", 0x1B),  # yaohua-tf0's real 0 kg frame, check "1B"
    (b"+0012502", 0x1F),  # yaohua-tf0's 12.50 kg frame, check "1F"
    (b"WG004.139kg", 0x3D),  # yaohua-a12's real W line, check "3D"
    # More than 16 bytes, where folding from a fixed 64-bit shift lost every byte past the 16th:
    (b"\x01" + bytes(16), 0x01),  # 17 bytes, the 1 is the byte past the 16th
    (b"ABCDEFGHIJKLMNOPQ", 0x41),  # 0x41..0x50 XOR to 0x40 ^ 0x50 = 0x10 (0x40..0x4F cancel), then ^ 0x51 = 0x41
    (b"\x80" + bytes(18) + b"\x01", 0x81),  # 20 bytes: only the first and the last count
    (b"\xff" * 32, 0x00),  # an even number of equal bytes cancels
    (b"\xff" * 33, 0xFF),
    (b"\x0f" * 100 + b"\xf0", 0xF0),  # 100 of them cancel, the 101st is left
])
def test_xor_check_is_the_xor_of_every_byte(data: bytes, check: int) -> None:
    assert xor_check(data) == check


@pytest.mark.parametrize(("numerator", "denominator", "rounded"), [
    (5, 10, 1), (4, 10, 0), (-5, 10, -1), (-4, 10, 0), (15, 10, 2), (25, 10, 3), (0, 7, 0)])
def test_division_rounds_half_away_from_zero(numerator: int, denominator: int, rounded: int) -> None:
    assert divide_rounded(numerator, denominator) == rounded


def test_grams_from_display_values() -> None:
    assert scaled_grams(1234, 2, KG) == 12_340  # 12.34 kg
    assert scaled_grams(12, -2, KG) == 1_200_000  # a display x100
    assert text_grams(b"-0012.345", KG) == -12_345
    assert text_grams(b"2.5", UNITS[b"lb"]) == 1134  # 1133.98 g
    with pytest.raises(ValueError):
        text_grams(b"1.2.3", KG)
