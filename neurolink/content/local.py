"""LocalStore: the embedded content store, a directory of blocks keyed by digest, no daemon needed."""

import os
import threading
from pathlib import Path
from typing import BinaryIO

from neurolink.content.cid import ContentId, parse_cid
from neurolink.content.errors import ContentNotFoundError
from neurolink.content.importer import Progress, import_stream
from neurolink.content.store import DEFAULT_MAX_SIZE, ContentStore


class LocalStore(ContentStore):
    """Blocks as files under `root/blocks/<2 hex>/<sha2-256 hex>`, pins as markers under `root/pins`.

    Keyed by digest alone, as Kubo's blockstore is keyed by multihash, so a raw and a dag-pb CID
    of one digest name one block. Writes go through a temporary file and a rename, so a crash
    leaves no half-written block under a real name; reads re-hash every block regardless.
    """

    def __init__(self, root: str | os.PathLike[str], *, max_size: int = DEFAULT_MAX_SIZE) -> None:
        super().__init__(max_size=max_size)
        self.root = Path(root)
        self._blocks = self.root / "blocks"
        self._pins = self.root / "pins"
        self._blocks.mkdir(parents=True, exist_ok=True)
        self._pins.mkdir(exist_ok=True)

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"

    def block_path(self, cid: str | ContentId) -> Path:
        """Where the block of `cid` lives on disk (whether or not it is there)."""
        digest = parse_cid(cid).digest.hex()
        return self._blocks / digest[:2] / digest

    def _put(self, stream: BinaryIO, progress: Progress | None) -> ContentId:
        root = import_stream(stream, self._write_block, max_size=self.max_size, progress=progress)
        (self._pins / str(root)).touch()
        return root

    def _write_block(self, cid: ContentId, block: bytes) -> None:
        path = self.block_path(cid)
        # Rewriting a block that differs from its content (damaged on disk) heals it.
        if path.exists() and path.read_bytes() == block:
            return
        path.parent.mkdir(exist_ok=True)
        temporary = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        temporary.write_bytes(block)
        os.replace(temporary, path)

    def put_block(self, cid: ContentId, block: bytes) -> None:
        """Keep one block fetched elsewhere, after checking it against its CID."""
        from neurolink.content.errors import IntegrityError

        if not cid.verify(block):
            raise IntegrityError(f"block {cid} does not hash to its CID; not stored")
        self._write_block(cid, block)

    def _get_block(self, cid: ContentId) -> bytes:
        try:
            return self.block_path(cid).read_bytes()
        except FileNotFoundError:
            raise ContentNotFoundError(f"{cid} is not in the local store at {self.root}") from None

    def has(self, cid: str | ContentId) -> bool:
        return self.block_path(cid).exists()

    def pin(self, cid: str | ContentId) -> None:
        parsed = parse_cid(cid)
        # Reading every block verifies the whole DAG is here and intact before it is marked kept.
        for _ in self.iter_bytes(parsed):
            pass
        (self._pins / str(parsed)).touch()

    def is_pinned(self, cid: str | ContentId) -> bool:
        """Whether `cid` was stored or pinned here."""
        return (self._pins / str(parse_cid(cid))).exists()
