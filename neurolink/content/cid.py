"""CIDs as this layer accepts them (sha2-256, raw or dag-pb) and the bytes32 digests kept on-chain."""

import base64
import hashlib
from dataclasses import dataclass
from typing import Final

from neurolink.content.errors import InvalidCIDError
from neurolink.content.varint import VarintError, encode_varint, read_varint

RAW: Final = 0x55
DAG_PB: Final = 0x70
SHA2_256: Final = 0x12
DIGEST_SIZE: Final = 32

CODECS: Final = {"raw": RAW, "dag-pb": DAG_PB}
CODEC_NAMES: Final = {code: name for name, code in CODECS.items()}

# A CIDv0 is the bare multihash of a dag-pb block: sha2-256, 32 bytes.
_V0_PREFIX: Final = bytes([SHA2_256, DIGEST_SIZE])


@dataclass(frozen=True, slots=True)
class ContentId:
    """A CIDv1 reduced to what identifies a block here: its codec and its sha2-256 digest.

    Built by hand rather than as a `multiformats.CID` because the importer makes one per
    256 KiB block and multiformats spends ~1 ms on each construction or `str()`.
    """

    codec: int
    digest: bytes

    def __post_init__(self) -> None:
        if self.codec not in CODEC_NAMES:
            raise InvalidCIDError(f"unsupported codec 0x{self.codec:x}: only raw and dag-pb are accepted")
        if len(self.digest) != DIGEST_SIZE:
            raise InvalidCIDError(f"a sha2-256 digest is {DIGEST_SIZE} bytes, got {len(self.digest)}")

    @classmethod
    def of_block(cls, codec: int, block: bytes) -> "ContentId":
        """The CID of `block` under `codec`."""
        return cls(codec, hashlib.sha256(block).digest())

    @classmethod
    def from_bytes(cls, binary: bytes) -> "ContentId":
        """Parse a binary CID (v0 or v1), as found in dag-pb links."""
        if len(binary) == 2 + DIGEST_SIZE and binary.startswith(_V0_PREFIX):
            return cls(DAG_PB, binary[2:])
        try:
            version, pos = read_varint(binary, 0)
            codec, pos = read_varint(binary, pos)
            hash_code, pos = read_varint(binary, pos)
            length, pos = read_varint(binary, pos)
        except VarintError as exc:
            raise InvalidCIDError(f"malformed binary CID {binary.hex()}: {exc}") from exc
        if version != 1:
            raise InvalidCIDError(f"unsupported CID version {version} in {binary.hex()}")
        if hash_code != SHA2_256:
            raise InvalidCIDError(f"only sha2-256 CIDs are accepted, got multihash code 0x{hash_code:x}")
        if length != DIGEST_SIZE or len(binary) - pos != DIGEST_SIZE:
            raise InvalidCIDError(f"malformed sha2-256 multihash in CID {binary.hex()}")
        return cls(codec, binary[pos:])

    @property
    def codec_name(self) -> str:
        return CODEC_NAMES[self.codec]

    def __bytes__(self) -> bytes:
        return bytes([1]) + encode_varint(self.codec) + _V0_PREFIX + self.digest

    def __str__(self) -> str:
        # Multibase base32: 'b' + RFC 4648 lower-case alphabet, no padding (what Kubo prints for CIDv1).
        return "b" + base64.b32encode(bytes(self)).decode("ascii").lower().rstrip("=")

    def verify(self, block: bytes) -> bool:
        """Whether `block` hashes to this CID's digest."""
        return hashlib.sha256(block).digest() == self.digest


def parse_cid(value: "str | ContentId") -> ContentId:
    """A CID in any multibase, v0 or v1, as a ContentId; InvalidCIDError unless sha2-256 raw/dag-pb."""
    if isinstance(value, ContentId):
        return value
    if not isinstance(value, str) or not value.strip():
        raise InvalidCIDError(f"not a CID: {value!r}")
    from multiformats import CID

    text = value.strip()
    try:
        parsed = CID.decode(text)
    except Exception as exc:  # multiformats raises assorted ValueError/KeyError subclasses
        raise InvalidCIDError(f"not a CID: {text!r} ({exc})") from exc
    if parsed.hashfun.name != "sha2-256":
        raise InvalidCIDError(f"{text}: only sha2-256 CIDs are accepted, got {parsed.hashfun.name}")
    if parsed.codec.name not in CODECS:
        raise InvalidCIDError(f"{text}: codec {parsed.codec.name} is not a file codec (raw, dag-pb)")
    return ContentId(CODECS[parsed.codec.name], bytes(parsed.raw_digest))


def cid_to_digest(cid: "str | ContentId") -> bytes:
    """The 32-byte sha2-256 digest of a CID, as stored on-chain in a bytes32."""
    return parse_cid(cid).digest


def digest_to_cid(digest: bytes, codec: str) -> str:
    """The base32 CIDv1 for an on-chain digest under `codec` ("raw" or "dag-pb")."""
    if codec not in CODECS:
        raise InvalidCIDError(f"codec must be one of {sorted(CODECS)}, got {codec!r}")
    if not isinstance(digest, bytes | bytearray):
        raise InvalidCIDError(f"a digest is 32 bytes, got {type(digest).__name__}")
    return str(ContentId(CODECS[codec], bytes(digest)))
