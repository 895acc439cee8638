"""The node ledger: identity binding, deduplicated events, salts written once, uint256 sums, tx journal."""

from pathlib import Path

import pytest

from neurolink.chain.watcher import EventRow
from node.daemon.errors import LedgerError
from node.daemon.ledger import Ledger, Phase, TxRow, TxStatus


def _event(tx: str, index: int, block: int, job: int = 1) -> EventRow:
    return EventRow(tx, index, block, f"0x{block:064x}", "JobCreated", job, {"jobId": job, "payment": 2**200})


def test_identity_binding_refuses_another_chain_or_account(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite")
    ledger.bind(chain_id="31337", job_market="0xaa", account="0xbb")
    ledger.bind(chain_id="31337", job_market="0xaa", account="0xbb")
    with pytest.raises(LedgerError, match="account=0xbb"):
        Ledger(tmp_path / "l.sqlite").bind(chain_id="31337", job_market="0xaa", account="0xcc")


def test_events_are_stored_once_and_survive_a_reopen(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite")
    assert ledger.record_scan([_event("0x1", 0, 5), _event("0x1", 1, 5)], 5) == 2
    assert ledger.record_scan([_event("0x1", 1, 5), _event("0x2", 0, 6, job=2)], 6) == 1
    reopened = Ledger(tmp_path / "l.sqlite")
    assert reopened.cursor() == 6
    pending = reopened.pending_events()
    assert [(e.tx_hash, e.log_index) for e in pending] == [("0x1", 0), ("0x1", 1), ("0x2", 0)]
    assert pending[0].args["payment"] == 2**200, "uint256 values round-trip exactly"
    reopened.mark_handled(pending[0])
    assert len(reopened.pending_events()) == 2
    assert reopened.drop_events_after(5) == [2], "the dropped events' job ids"
    assert [e.job_id for e in reopened.events()] == [1, 1]
    assert reopened.cursor() == 5, "the cursor goes back to the fork"


def test_block_hashes_are_kept_for_a_window_and_dropped_above_a_fork(tmp_path: Path) -> None:
    from node.daemon.ledger import BLOCK_WINDOW

    ledger = Ledger(tmp_path / "l.sqlite")
    for number in range(BLOCK_WINDOW + 10):
        ledger.remember_block(number, f"0x{number:064x}")
    kept = ledger.known_blocks()
    assert len(kept) == BLOCK_WINDOW and kept[0] == (BLOCK_WINDOW + 9, f"0x{BLOCK_WINDOW + 9:064x}")
    ledger.drop_events_after(100)
    assert ledger.known_blocks()[0][0] == 100


def test_the_salt_is_written_once(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite")
    assert ledger.add_job(7, Phase.COMPUTED, {"replicas": 3})
    assert not ledger.add_job(7, Phase.QUEUED, {}), "a known job is never reset"
    first = ledger.save_salt(7, "0x" + "11" * 32)
    again = Ledger(tmp_path / "l.sqlite").save_salt(7, "0x" + "22" * 32)
    assert first == again == "0x" + "11" * 32, "a retried commit reuses the stored salt"
    job = ledger.job(7)
    assert job is not None and job.phase is Phase.COMMITTING
    with pytest.raises(LedgerError):
        ledger.save_salt(8, "0x" + "33" * 32)


def test_totals_and_counts_use_exact_integers(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite")
    for job_id in (1, 2, 3):
        ledger.add_job(job_id, Phase.QUEUED, {})
    ledger.update_job(1, Phase.SETTLED, earned=2**100)
    ledger.update_job(2, Phase.SETTLED, earned=2**100 + 1, slashed=5)
    assert ledger.totals() == {"earned": 2**101 + 1, "slashed": 5}
    assert ledger.counts_by_phase() == {"settled": 2, "queued": 1}
    assert [j.job_id for j in ledger.jobs(active_only=True)] == [3]
    with pytest.raises(LedgerError, match="unknown job fields"):
        ledger.update_job(3, note="x")


def test_transaction_journal(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite")
    for tx_hash, fee in (("0xa", 10), ("0xb", 12)):
        ledger.journal_tx(TxRow(tx_hash, 4, "commit", 9, "02ff", TxStatus.PENDING, fee, 1, 0.0))
    ledger.set_tx_status("0xb", TxStatus.MINED)
    ledger.set_tx_status("0xa", TxStatus.REPLACED)
    assert [t.status for t in ledger.txs(nonce=4)] == [TxStatus.REPLACED, TxStatus.MINED]
    assert [t.tx_hash for t in ledger.job_txs(9, "commit")] == ["0xa", "0xb"]
    assert ledger.txs(status=TxStatus.PENDING) == []


def test_release_returns_a_quarantined_job_to_its_phase_and_rereads_its_events(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite")
    ledger.add_job(
        1, Phase.QUARANTINED, {"replicas": 1, "quarantined_from": "computed"}, "step failed 5 times"
    )
    ledger.record_scan([_event("0x1", 0, 5, job=1), _event("0x2", 0, 6, job=2)], 6)
    for event in ledger.pending_events():
        ledger.mark_handled(event)

    assert ledger.release(1) is Phase.COMPUTED
    row = ledger.job(1)
    assert row is not None and row.phase is Phase.COMPUTED and row.reason == ""
    assert row.info == {"replicas": 1}, "the note of where it came from goes with the quarantine"
    assert [e.job_id for e in ledger.pending_events()] == [1], "its events only are read again"


def test_release_forgets_a_job_quarantined_before_it_had_a_phase(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite")
    ledger.add_job(3, Phase.QUARANTINED, {}, "event JobCreated failed 5 times")
    ledger.record_scan([_event("0x3", 0, 7, job=3)], 7)
    ledger.mark_handled(ledger.pending_events()[0])

    assert ledger.release(3) is None
    assert ledger.job(3) is None
    assert [e.job_id for e in ledger.pending_events()] == [3], "its JobCreated is considered afresh"


def test_release_refuses_a_job_that_is_not_quarantined_or_not_known(tmp_path: Path) -> None:
    from node.daemon.errors import JobNotQuarantinedError, UnknownJobError

    ledger = Ledger(tmp_path / "l.sqlite")
    ledger.add_job(1, Phase.COMPUTING, {})
    with pytest.raises(JobNotQuarantinedError, match="job 1 is computing"):
        ledger.release(1)
    with pytest.raises(UnknownJobError, match="job 2 is not in the ledger"):
        ledger.release(2)
    row = ledger.job(1)
    assert row is not None and row.phase is Phase.COMPUTING, "a refused release changes nothing"
