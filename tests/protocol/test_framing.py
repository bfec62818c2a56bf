"""protocol.framing: a 4-byte big-endian signed length before the request."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stapserver.errors import ProtocolError
from stapserver.protocol import framing

MAX = 0x7FFFFFFF


def test_header_size() -> None:
    assert framing.HEADER_SIZE == 4


@pytest.mark.parametrize(
    ("length", "header"),
    [
        (0, b"\x00\x00\x00\x00"),
        (1, b"\x00\x00\x00\x01"),
        (256, b"\x00\x00\x01\x00"),
        (5000, b"\x00\x00\x13\x88"),
        (MAX, b"\x7f\xff\xff\xff"),
    ],
)
def test_encode_length_big_endian(length: int, header: bytes) -> None:
    assert framing.encode_length(length) == header
    assert framing.decode_length(header, MAX) == length


@pytest.mark.parametrize("length", [-1, MAX + 1, 2**32])
def test_encode_length_out_of_range(length: int) -> None:
    with pytest.raises(ValueError):
        framing.encode_length(length)


def test_frame() -> None:
    assert framing.frame(b"") == b"\x00\x00\x00\x00"
    assert framing.frame(b"abc") == b"\x00\x00\x00\x03abc"


def test_zero_length_means_certificate_only() -> None:
    assert framing.decode_length(b"\x00\x00\x00\x00", 0) == 0


def test_length_at_limit_accepted() -> None:
    assert framing.decode_length(framing.encode_length(5000), 5000) == 5000
    assert framing.decode_length(b"\x7f\xff\xff\xff", MAX) == MAX


def test_length_above_limit_refused() -> None:
    with pytest.raises(ProtocolError) as err:
        framing.decode_length(framing.encode_length(5001), 5000)
    message = str(err.value)
    assert "--max-compressed-request" in message
    assert "5001 bytes" in message
    assert "(5000 bytes)" in message


def test_max_length_above_smaller_limit_refused() -> None:
    with pytest.raises(ProtocolError, match="--max-compressed-request"):
        framing.decode_length(b"\x7f\xff\xff\xff", MAX - 1)


@pytest.mark.parametrize(
    ("header", "value"),
    [(b"\xff\xff\xff\xff", -1), (b"\x80\x00\x00\x00", -(2**31)), (b"\xff\xff\xff\x00", -256)],
)
def test_negative_length_refused(header: bytes, value: int) -> None:
    with pytest.raises(ProtocolError) as err:
        framing.decode_length(header, MAX)
    assert str(err.value) == f"invalid request length {value}"


@pytest.mark.parametrize("header", [b"", b"\x00", b"\x00\x00\x00", b"\x00\x00\x00\x00\x00"])
def test_short_or_long_header_refused(header: bytes) -> None:
    with pytest.raises(ProtocolError) as err:
        framing.decode_length(header, MAX)
    assert str(err.value) == "connection closed before the request length was sent"


def test_little_endian_is_not_accepted_as_such() -> None:
    # the 2009 scripts sent host byte order; 3 in little endian is a huge length
    with pytest.raises(ProtocolError, match="--max-compressed-request"):
        framing.decode_length(b"\x03\x00\x00\x00", 5000)


@given(st.integers(min_value=0, max_value=MAX))
def test_length_round_trip(length: int) -> None:
    assert framing.decode_length(framing.encode_length(length), MAX) == length
