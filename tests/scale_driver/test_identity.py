"""The identity reader's lines (identity.py): codes out of a byte stream however it is cut, and what is no code."""
import pytest

from canteen.scale_driver.identity import MAX_CODE, CodeLines


def codes_of(*chunks: bytes) -> tuple[list[str], int]:
    lines = CodeLines()
    codes = [code for chunk in chunks for code in lines.feed(chunk)]
    return codes, lines.dropped


@pytest.mark.parametrize("end", [b"\r", b"\r\n", b"\n"])
def test_each_line_end_ends_a_code(end):
    assert codes_of(b"bk_Abc-123_x" + end + b"6200123456" + end) == (["bk_Abc-123_x", "6200123456"], 0)


def test_a_code_cut_anywhere_and_a_cr_lf_split_across_chunks():
    stream = b"  bk_one\t\r\n\r\n6200123456\r\n"
    for cut in range(len(stream) + 1):
        assert codes_of(stream[:cut], stream[cut:]) == (["bk_one", "6200123456"], 0), cut


def test_too_long_or_unprintable_lines_are_dropped_and_counted():
    longest = b"9" * MAX_CODE
    codes, dropped = codes_of(longest + b"\r", longest + b"0\r", b"bk_\x00x\r", "卡号".encode() + b"\r", b"\x1b[0m\r",
                              b"   \r")
    assert codes == [longest.decode()]
    assert dropped == 4  # the blank line is no code, and no mistake either


def test_garbage_without_line_ends_is_not_kept_and_its_line_is_dropped():
    lines = CodeLines()
    for _ in range(100):
        assert lines.feed(b"x" * 1000) == []
    assert len(lines._pending) < 200
    assert lines.feed(b"tail\rbk_next\r") == ["bk_next"]
    assert lines.dropped == 1


def test_half_a_code_before_a_break_is_dropped_not_glued_to_the_next():
    lines = CodeLines()
    assert lines.feed(b"bk_fir") == []
    assert lines.flush() == []
    assert lines.feed(b"st\rbk_second\r") == ["st", "bk_second"]  # a tail is a line of its own, as any misread
    assert lines.dropped == 1
