"""Content layer: files by CID, embedded or on a Kubo daemon, with identical CIDs and verified reads."""

from neurolink.content.cid import ContentId, cid_to_digest, digest_to_cid, parse_cid
from neurolink.content.errors import (
    ContentError,
    ContentNotFoundError,
    ContentTooLargeError,
    ContentUnavailableError,
    IntegrityError,
    InvalidCIDError,
    UnsupportedContentError,
)
from neurolink.content.factory import open_store
from neurolink.content.importer import hash_stream
from neurolink.content.kubo import KuboStore
from neurolink.content.local import LocalStore
from neurolink.content.store import ContentStore

__all__ = [
    "ContentError",
    "ContentId",
    "ContentNotFoundError",
    "ContentStore",
    "ContentTooLargeError",
    "ContentUnavailableError",
    "IntegrityError",
    "InvalidCIDError",
    "KuboStore",
    "LocalStore",
    "UnsupportedContentError",
    "cid_to_digest",
    "digest_to_cid",
    "hash_stream",
    "open_store",
    "parse_cid",
]
