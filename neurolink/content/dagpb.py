"""dag-pb nodes carrying UnixFS file data: the few protobuf messages an importer and reader need.

Encoded by hand in the canonical order Kubo and js-ipfs write (PBNode: Links before Data;
PBLink: Hash, Name, Tsize, with the empty Name present), so node bytes, hence CIDs, match theirs.
"""

from dataclasses import dataclass
from enum import IntEnum

from neurolink.content.cid import ContentId
from neurolink.content.errors import IntegrityError, InvalidCIDError
from neurolink.content.varint import VarintError, encode_varint, read_varint

_VARINT = 0
_LEN = 2


class UnixFSType(IntEnum):
    """UnixFS Data.DataType."""

    RAW = 0
    DIRECTORY = 1
    FILE = 2
    METADATA = 3
    SYMLINK = 4
    HAMT_SHARD = 5


@dataclass(frozen=True, slots=True)
class Link:
    """A PBLink: the child's CID, and the total size of the child's DAG in bytes."""

    cid: ContentId
    tsize: int


@dataclass(frozen=True, slots=True)
class FileNode:
    """A decoded dag-pb node with its UnixFS payload."""

    links: tuple[Link, ...]
    type: UnixFSType
    data: bytes
    filesize: int | None
    blocksizes: tuple[int, ...]


def _key(field: int, wire_type: int) -> bytes:
    return encode_varint(field << 3 | wire_type)


def _bytes_field(field: int, value: bytes) -> bytes:
    return _key(field, _LEN) + encode_varint(len(value)) + value


def _varint_field(field: int, value: int) -> bytes:
    return _key(field, _VARINT) + encode_varint(value)


def encode_file_node(links: list[Link], blocksizes: list[int]) -> bytes:
    """An internal UnixFS file node over `links`, whose file contents have sizes `blocksizes`."""
    unixfs = (
        _varint_field(1, UnixFSType.FILE)
        + _varint_field(3, sum(blocksizes))
        + b"".join(_varint_field(4, size) for size in blocksizes)
    )
    return b"".join(_bytes_field(2, _encode_link(link)) for link in links) + _bytes_field(1, unixfs)


def _encode_link(link: Link) -> bytes:
    return _bytes_field(1, bytes(link.cid)) + _bytes_field(2, b"") + _varint_field(3, link.tsize)


def _fields(message: bytes) -> list[tuple[int, int | bytes]]:
    """(field number, value) pairs of a protobuf message: ints for varints, bytes for the rest."""
    fields: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(message):
        key, pos = read_varint(message, pos)
        field, wire_type = key >> 3, key & 7
        if wire_type == _VARINT:
            value, pos = read_varint(message, pos)
            fields.append((field, value))
        elif wire_type == _LEN:
            length, pos = read_varint(message, pos)
            if pos + length > len(message):
                raise VarintError("length-delimited field runs past the end")
            fields.append((field, message[pos : pos + length]))
            pos += length
        else:
            raise VarintError(f"unexpected wire type {wire_type}")
    return fields


def _packed_varints(data: bytes) -> list[int]:
    values: list[int] = []
    pos = 0
    while pos < len(data):
        value, pos = read_varint(data, pos)
        values.append(value)
    return values


def _decode_link(message: bytes) -> Link:
    cid: ContentId | None = None
    tsize = 0
    for field, value in _fields(message):
        if field == 1 and isinstance(value, bytes):
            cid = ContentId.from_bytes(value)
        elif field == 3 and isinstance(value, int):
            tsize = value
    if cid is None:
        raise VarintError("link without a Hash")
    return Link(cid, tsize)


def decode_file_node(block: bytes, cid: ContentId) -> FileNode:
    """Decode a dag-pb block holding UnixFS data; IntegrityError if it is not well formed."""
    try:
        links: list[Link] = []
        unixfs: bytes | None = None
        for field, value in _fields(block):
            if field == 2 and isinstance(value, bytes):
                links.append(_decode_link(value))
            elif field == 1 and isinstance(value, bytes):
                unixfs = value
            else:
                raise VarintError(f"unexpected PBNode field {field}")
        if unixfs is None:
            raise VarintError("dag-pb node without UnixFS data")
        kind: int | None = None
        data = b""
        filesize: int | None = None
        blocksizes: list[int] = []
        for field, value in _fields(unixfs):
            if field == 1 and isinstance(value, int):
                kind = value
            elif field == 2 and isinstance(value, bytes):
                data = value
            elif field == 3 and isinstance(value, int):
                filesize = value
            elif field == 4 and isinstance(value, int):
                blocksizes.append(value)
            elif field == 4 and isinstance(value, bytes):
                blocksizes.extend(_packed_varints(value))
        if kind is None or kind not in UnixFSType._value2member_map_:
            raise VarintError(f"UnixFS type {kind} is missing or unknown")
    except (VarintError, InvalidCIDError) as exc:
        raise IntegrityError(f"{cid}: malformed dag-pb/UnixFS node: {exc}") from exc
    return FileNode(tuple(links), UnixFSType(kind), data, filesize, tuple(blocksizes))
