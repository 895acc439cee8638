"""CID parsing, the bytes32 digest conversions and their errors."""

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from multiformats import CID

from neurolink.content import InvalidCIDError, cid_to_digest, digest_to_cid, parse_cid
from neurolink.content.cid import DAG_PB, RAW, ContentId
from neurolink.errors import ExitCode

EMPTY_RAW = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
EMPTY_SHA256 = hashlib.sha256(b"").digest()


def test_known_cid_of_the_empty_file_matches_its_digest() -> None:
    assert cid_to_digest(EMPTY_RAW) == EMPTY_SHA256
    assert digest_to_cid(EMPTY_SHA256, "raw") == EMPTY_RAW


@given(st.binary(min_size=32, max_size=32), st.sampled_from(["raw", "dag-pb"]))
def test_digest_round_trips_through_cid_and_matches_multiformats(digest: bytes, codec: str) -> None:
    cid = digest_to_cid(digest, codec)
    assert cid_to_digest(cid) == digest
    assert parse_cid(cid).codec_name == codec
    # The hand-rolled base32 form is the one multiformats (and Kubo) print.
    assert cid == str(CID("base32", 1, codec, ("sha2-256", digest)))


def test_cidv0_and_other_bases_are_normalised_to_base32_v1() -> None:
    v0 = "QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFiwU2MDBAAokCAgT"
    parsed = parse_cid(v0)
    assert parsed.codec == DAG_PB
    assert str(parsed) == str(CID.decode(v0).set(version=1, base="base32"))
    base58 = str(CID.decode(EMPTY_RAW).set(base="base58btc"))
    assert str(parse_cid(base58)) == EMPTY_RAW


def test_binary_cid_round_trips() -> None:
    for codec in (RAW, DAG_PB):
        cid = ContentId(codec, EMPTY_SHA256)
        assert ContentId.from_bytes(bytes(cid)) == cid


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("", "not a CID"),
        ("nonsense", "not a CID"),
        # blake2b-256 over raw: valid CID, wrong hash function.
        (str(CID("base32", 1, "raw", ("blake2b-256", bytes(32)))), "only sha2-256"),
        # sha2-256 over dag-cbor: not a file codec.
        (str(CID("base32", 1, "dag-cbor", ("sha2-256", bytes(32)))), "not a file codec"),
        (str(CID("base32", 1, "raw", ("sha2-512", bytes(64)))), "only sha2-256"),
    ],
)
def test_invalid_cids_are_rejected_with_a_clear_error(value: str, match: str) -> None:
    with pytest.raises(InvalidCIDError, match=match) as info:
        parse_cid(value)
    assert info.value.exit_code == ExitCode.INVALID_INPUT


def test_bad_digests_and_codecs_are_rejected() -> None:
    with pytest.raises(InvalidCIDError, match="32 bytes"):
        digest_to_cid(bytes(31), "raw")
    with pytest.raises(InvalidCIDError, match="codec must be one of"):
        digest_to_cid(bytes(32), "dag-cbor")
    with pytest.raises(InvalidCIDError, match="only sha2-256"):
        ContentId.from_bytes(bytes([1, RAW, 0x13, 0x20]) + bytes(32))
    with pytest.raises(InvalidCIDError, match="malformed"):
        ContentId.from_bytes(bytes([1, RAW, 0x12]))
