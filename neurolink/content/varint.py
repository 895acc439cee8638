"""Unsigned LEB128 varints, shared by multiformats (CIDs) and protobuf (dag-pb, UnixFS)."""


class VarintError(ValueError):
    """A varint is truncated or longer than 64 bits."""


def encode_varint(value: int) -> bytes:
    """The varint encoding of a non-negative integer."""
    if value < 0:
        raise ValueError(f"varints are unsigned, got {value}")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """The varint at `pos` in `data` and the position after it."""
    value = 0
    for shift in range(0, 64, 7):
        if pos >= len(data):
            raise VarintError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
    raise VarintError("varint longer than 64 bits")
