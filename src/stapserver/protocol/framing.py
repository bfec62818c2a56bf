"""Request framing: a 4-byte big-endian signed length, then that many bytes.

A length of 0 asks for nothing but the server's certificate (seen in the TLS handshake);
a negative length is an error.  Responses are not framed: the server writes the response
archive and closes the connection.
"""

from __future__ import annotations

import struct

from ..errors import ProtocolError

HEADER_SIZE = 4
_HEADER = struct.Struct(">i")


def encode_length(length: int) -> bytes:
    if not 0 <= length <= 0x7FFFFFFF:
        raise ValueError(f"cannot frame a request of {length} bytes")
    return _HEADER.pack(length)


def frame(payload: bytes) -> bytes:
    """The bytes a client sends: the length, then the request archive."""
    return encode_length(len(payload)) + payload


def decode_length(header: bytes, limit: int) -> int:
    """The request length announced by ``header``; ProtocolError if it is negative or
    above ``limit`` (checked before anything is read)."""
    if len(header) != HEADER_SIZE:
        raise ProtocolError("connection closed before the request length was sent")
    length: int = _HEADER.unpack(header)[0]
    if length < 0:
        raise ProtocolError(f"invalid request length {length}")
    if length > limit:
        raise ProtocolError(
            f"request of {length} bytes is larger than this server accepts ({limit} bytes); "
            "the server's --max-compressed-request sets the limit"
        )
    return length
