"""After a reorganisation: where a job stands for this node, re-derived from the contract's views."""

from neurolink.protocol.views import JobPhase
from node.daemon.ledger import JobRow, Phase
from node.daemon.market import CLOSED, SlotState

# Our phases from the claim on, in the order a job passes them.
AFTER_CLAIM = (
    Phase.CLAIMED,
    Phase.COMPUTING,
    Phase.COMPUTED,
    Phase.COMMITTING,
    Phase.COMMITTED,
    Phase.REVEALING,
    Phase.REVEALED,
)
# Phases the daemon settled on from events or sends that a reorganisation may have undone.
REOPENABLE = frozenset({*AFTER_CLAIM, Phase.SETTLED, Phase.FAILED, Phase.LOST, Phase.QUEUED, Phase.CLAIMING})


def rederive(row: JobRow, chain: JobPhase, slot: SlotState | None) -> Phase | None:
    """The phase `row` should be in given the contract's phase of the job and our slot in it; None when
    the ledger's phase already agrees (or the job was never ours to re-derive).

    Results and salts are kept: a commit or reveal the reorganisation undid is sent again with the same
    salt; a claim it undid waits as CLAIMING, where the (re-followed) claim tx decides.
    """
    if row.phase not in REOPENABLE or chain is JobPhase.NONE:
        return None  # a job that no longer exists is the caller's to forget
    if chain in CLOSED:
        return None  # its JobSettled/JobFailed/... event (re-read after the fork) closes it
    if slot is None:
        if row.phase in AFTER_CLAIM or row.phase in (Phase.SETTLED, Phase.FAILED):
            return Phase.CLAIMING
        if row.phase is Phase.LOST and chain is JobPhase.CLAIMING:
            return Phase.QUEUED
        return None
    want = _with_slot(row, slot)
    return None if want is row.phase else want


def _with_slot(row: JobRow, slot: SlotState) -> Phase:
    if slot.revealed:
        return Phase.REVEALED
    if slot.committed:
        return Phase.COMMITTED
    if row.phase in (Phase.QUEUED, Phase.CLAIMING, Phase.LOST):
        return Phase.CLAIMED
    if row.digest is None:
        return row.phase if row.phase in (Phase.CLAIMED, Phase.COMPUTING) else Phase.CLAIMED
    if int(row.info.get("replicas", 1)) == 1:
        # No commit round: the reveal is what may have been undone.
        return Phase.REVEALING if row.phase in (Phase.REVEALED, Phase.SETTLED, Phase.FAILED) else row.phase
    if row.phase in (Phase.COMMITTED, Phase.REVEALING, Phase.REVEALED, Phase.SETTLED, Phase.FAILED):
        return Phase.COMMITTING if row.salt else Phase.COMPUTED
    return row.phase
