"""Commit-reveal values: salts and the commitment the JobMarket checks at reveal.

The digest committed to is a result CID's sha2-256 digest: neurolink.content.cid.cid_to_digest.
"""

import secrets

from neurolink.protocol.errors import InvalidDigestError

DIGEST_BYTES = 32


def _bytes32(value: bytes | str, what: str) -> bytes:
    try:
        raw = bytes.fromhex(value.removeprefix("0x")) if isinstance(value, str) else bytes(value)
    except ValueError as exc:
        raise InvalidDigestError(f"{what} is not hex: {value!r}") from exc
    if len(raw) != DIGEST_BYTES:
        raise InvalidDigestError(f"{what} must be 32 bytes, got {len(raw)}")
    return raw


def new_salt() -> bytes:
    """32 random bytes; keep them until the reveal, and never reuse them."""
    return secrets.token_bytes(DIGEST_BYTES)


def commitment(
    job_id: int,
    provider: str,
    digest: bytes | str,
    salt: bytes | str,
    *,
    chain_id: int,
    market: str,
    fingerprint: bytes | str = bytes(DIGEST_BYTES),
) -> bytes:
    """JobMarket.commitmentOf: keccak256(abi.encode(chainid, market, jobId, provider, digest, fingerprint,
    salt)).

    Binding the chain and the market makes a commitment (and its reveal) worthless anywhere else;
    binding the fingerprint (zero for exact jobs) stops a provider choosing it after others revealed.
    """
    from eth_abi.abi import encode
    from eth_utils.address import to_checksum_address
    from eth_utils.crypto import keccak

    return keccak(
        encode(
            ["uint256", "address", "uint256", "address", "bytes32", "bytes32", "bytes32"],
            [
                chain_id,
                to_checksum_address(market),
                job_id,
                to_checksum_address(provider),
                _bytes32(digest, "digest"),
                _bytes32(fingerprint, "fingerprint"),
                _bytes32(salt, "salt"),
            ],
        )
    )
