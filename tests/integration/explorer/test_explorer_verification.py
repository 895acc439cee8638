"""The explorer's rows for protocol v3 jobs say what the chain says: a tolerant job escalated to a re-run
that decides it, an exact job whose first claim fixed its class and whose unspent reserve went back, and
an escalated job whose re-run never filled; and the API's job detail shows the verification and the re-run."""

import hashlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from coordinator.explorer.models import Job, Slot
from neurolink.chain.provider import connect
from neurolink.chain.tx import TxSender
from neurolink.devnet.accounts import dev_account
from neurolink.devnet.anvil import start_anvil
from neurolink.protocol.commitment import commitment, new_salt
from neurolink.protocol.contracts import Contracts
from neurolink.protocol.deploy import deploy_protocol
from neurolink.protocol.devnet import advance_time, fund, register_provider
from neurolink.protocol.events import created_job_id
from neurolink.protocol.params import Capabilities, JobParams, VerificationMode, minimum_reserve
from neurolink.protocol.views import read_job
from node.localnet import Network
from tests.integration.explorer.explorer_bench import claimable, credited_accounts, indexer_for

pytestmark = pytest.mark.integration

E18 = 10**18
PAYMENT = 90 * E18
CLASS = hashlib.sha256(b"explorer class").digest()
FINGERPRINT = int.from_bytes(hashlib.sha256(b"fingerprint").digest(), "big")
NEAR = [(FINGERPRINT ^ (1 << i)).to_bytes(32, "big") for i in range(8)]  # within 8 bits of each other
FAR = (FINGERPRINT ^ (2**40 - 1)).to_bytes(32, "big")


@dataclass(frozen=True)
class Played:
    network: Network
    treasury: str
    tolerant: int
    exact: int
    unfilled: int
    winners: set[str]
    slashed: set[str]
    released: set[str]


def _round(
    c: Contracts, senders: list[TxSender], job_id: int, first: int, reveals: list[tuple[bytes, bytes] | None]
) -> None:
    """Slots first.. claimed by `senders`, all committed; None commits and never reveals."""
    for i, s in enumerate(senders):
        s.transact(c.market.functions.claim(job_id, first + i))
    salts = [new_salt() for _ in senders]
    opened = [r or (hashlib.sha256(b"silent").digest(), bytes(32)) for r in reveals]
    scope = {"chain_id": c.w3.eth.chain_id, "market": c.market.address}
    for s, (digest, fp), salt in zip(senders, opened, salts, strict=True):
        s.transact(
            c.market.functions.commit(
                job_id, commitment(job_id, s.address, digest, salt, fingerprint=fp, **scope)
            )
        )
    for s, reveal, salt in zip(senders, reveals, salts, strict=True):
        if reveal is not None:
            s.transact(c.market.functions.reveal(job_id, reveal[0], reveal[1], salt))


def _create(c: Contracts, requester: TxSender, *, tolerant: bool, reserve: bool) -> int:
    params = JobParams(
        spec_digest=new_salt(),
        payment=PAYMENT,
        replicas=3,
        collateral=10 * E18,
        verification=VerificationMode.TOLERANT if tolerant else VerificationMode.EXACT,
        tolerance=8 if tolerant else 0,
        reserve=minimum_reserve(PAYMENT, 3) if reserve else 0,
    )
    return created_job_id(c.market, requester.transact(c.market.functions.createJob(params.as_tuple())))


def _past(c: Contracts, deadline: int) -> None:
    advance_time(c.w3, deadline - c.w3.eth.get_block("latest")["timestamp"] + 1)


def _digest(i: int) -> bytes:
    return hashlib.sha256(f"result {i}".encode()).digest()


@pytest.fixture(scope="module")
def played() -> Iterator[Played]:
    with start_anvil(accounts=16) as anvil:
        w3 = connect(anvil.rpc_url)
        deployer = TxSender(w3, dev_account(0))
        c = deploy_protocol(deployer, treasury=dev_account(15).address)
        requester = TxSender(w3, dev_account(1))
        fund(c, deployer, requester, 10_000 * E18)
        p = [TxSender(w3, dev_account(i)) for i in range(2, 12)]
        for s in p:
            fund(c, deployer, s, 1_000 * E18)
            register_provider(c, s, Capabilities(1, 4_096, 0, 1, device_class=CLASS), 900 * E18)

        # Tolerant: slot 2 dissents, so the job escalates; in the re-run five agree with round 1's
        # pair, one reveals a far fingerprint and one stays silent: the re-run's group of five decides.
        tolerant = _create(c, requester, tolerant=True, reserve=True)
        _round(c, p[:3], tolerant, 0, [(_digest(0), NEAR[0]), (_digest(1), NEAR[1]), (_digest(2), FAR)])
        assert read_job(c.market, tolerant).escalated
        rerun: list[tuple[bytes, bytes] | None] = [(_digest(3 + i), NEAR[2 + i]) for i in range(5)]
        _round(c, p[3:10], tolerant, 3, [*rerun, (_digest(8), FAR), None])
        _past(c, read_job(c.market, tolerant).reveal_deadline)
        requester.transact(c.market.functions.settle(tolerant))

        # Exact with a reserve, all agreeing: the first claim fixes the class, the reserve goes back.
        exact = _create(c, requester, tolerant=False, reserve=True)
        _round(c, p[:3], exact, 0, [(_digest(0), bytes(32))] * 3)

        # Exact, one dissenter, then a re-run only two providers claim: it never fills, round 1 decides.
        unfilled = _create(c, requester, tolerant=False, reserve=True)
        _round(c, p[:3], unfilled, 0, [(_digest(0), bytes(32))] * 2 + [(_digest(1), bytes(32))])
        for i, s in enumerate(p[3:5]):
            s.transact(c.market.functions.claim(unfilled, 3 + i))
        _past(c, read_job(c.market, unfilled).claim_deadline)
        requester.transact(c.market.functions.settle(unfilled))

        network = Network(c.w3, c.token, c.staking, c.market, anvil)
        yield Played(
            network,
            dev_account(15).address,
            tolerant,
            exact,
            unfilled,
            winners={s.address for s in [*p[:2], *p[3:8]]},
            slashed={s.address for s in [p[2], p[8], p[9]]},
            released={s.address for s in p[3:5]},
        )


def test_rows_of_verified_jobs_say_what_the_chain_says(played: Played, explorer_db: str) -> None:
    engine, indexer = indexer_for(explorer_db, played.network)
    indexer.poll()
    market = played.network.market
    with Session(engine) as db:
        job = db.get(Job, played.tolerant)
        assert job is not None and job.state == "settled" and job.verification == "tolerant"
        assert (job.tolerance, job.reserve) == (8, str(minimum_reserve(PAYMENT, 3)))
        chain = read_job(market, played.tolerant)
        assert job.escalated and job.rerun_slots == 7
        assert (job.rerun_claim_deadline, job.rerun_reveal_deadline) == (
            chain.claim_deadline,
            chain.reveal_deadline,
        )
        share = minimum_reserve(PAYMENT, 3) // 7
        assert (job.rerun_winners, job.rerun_reward) == (5, str(share))
        assert job.rerun_refund == str(minimum_reserve(PAYMENT, 3) - 5 * share)
        slots = {s.provider: s for s in db.scalars(select(Slot).where(Slot.job_id == played.tolerant))}
        assert {a for a, s in slots.items() if s.outcome == "paid"} == played.winners
        assert {a for a, s in slots.items() if s.outcome == "slashed"} == played.slashed
        assert {s.reward for s in slots.values() if s.slot >= 3 and s.outcome == "paid"} == {str(share)}
        assert {s.reward for s in slots.values() if s.slot < 3 and s.outcome == "paid"} == {
            job.reward_per_winner
        }
        assert slots[dev_account(2).address].fingerprint == "0x" + NEAR[0].hex()

        exact = db.get(Job, played.exact)
        assert exact is not None and exact.state == "settled" and exact.verification == "exact"
        assert exact.device_class == "0x" + CLASS.hex() and not exact.escalated
        assert exact.refund == str(minimum_reserve(PAYMENT, 3))

        unfilled = db.get(Job, played.unfilled)
        assert unfilled is not None and unfilled.state == "settled" and unfilled.rerun_unfilled
        assert unfilled.winners == 2 and unfilled.rerun_winners is None
        rows = db.scalars(select(Slot).where(Slot.job_id == played.unfilled, Slot.slot >= 3))
        assert {s.provider: s.outcome for s in rows} == dict.fromkeys(played.released, "released")
    # Every credit, the re-run's and the refunds of reserves included, adds up to what the market owes.
    accounts = credited_accounts(engine)
    assert played.treasury in accounts
    for address in accounts:
        assert claimable(engine, address) == market.functions.claimable(address).call(), address


def test_job_detail_shows_verification_and_rerun(played: Played, explorer_db: str) -> None:
    from fastapi.testclient import TestClient

    from coordinator.explorer.api import create_app

    engine, indexer = indexer_for(explorer_db, played.network)
    indexer.poll()
    client = TestClient(create_app(engine))
    detail = client.get(f"/api/v1/jobs/{played.tolerant}").json()
    assert detail["verification"] == "tolerant" and detail["tolerance"] == 8 and detail["escalated"]
    escalation = detail["escalation"]
    assert (escalation["first_slot"], escalation["slots"], escalation["outcome"]) == (3, 7, "paid")
    assert escalation["winners"] == 5
    assert sorted(s["round"] for s in detail["slots"]) == [1] * 3 + [2] * 7
    unfilled = client.get(f"/api/v1/jobs/{played.unfilled}").json()
    assert unfilled["escalation"]["outcome"] == "unfilled"
    exact = client.get(f"/api/v1/jobs/{played.exact}").json()
    assert exact["escalation"] is None and exact["device_class"] == "0x" + CLASS.hex()
    listed = {j["job_id"]: j for j in client.get("/api/v1/jobs").json()["items"]}
    assert listed[played.tolerant]["escalated"] and listed[played.exact]["verification"] == "exact"


@pytest.fixture
def served(played: Played, tmp_path: Path) -> Iterator[str]:
    """The explorer's API and dashboard over `played`, indexed once, on a free port (uvicorn, a thread)."""
    import uvicorn

    from coordinator.explorer.api import create_app

    engine, indexer = indexer_for(f"sqlite:///{tmp_path / 'explorer.sqlite'}", played.network)
    indexer.poll()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(create_app(engine), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the explorer did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(timeout=10)


def test_the_dashboard_shows_verification_the_rerun_and_fingerprints(
    played: Played, served: str, browser_page: tuple[object, list[str], list[str]], tmp_path: Path
) -> None:
    """In a real browser: the job page says how a job is verified, what its re-run did (paid, unfilled),
    which slots were round 2's, and the tolerant job's fingerprints; the timeline tells the new events."""
    from playwright.sync_api import Page, expect

    page, errors, _ = browser_page
    assert isinstance(page, Page)
    page.goto(f"{served}#/job/{played.tolerant}")
    expect(page.locator("#verification")).to_have_text("tolerant: fingerprints within 8 bits match")
    expect(page.locator("#escalation")).to_contain_text("slots 3\u20139: decided the job; 5 slot(s) paid")
    expect(page.locator('#slots tr[data-round="2"]')).to_have_count(7)
    expect(page.locator('#slots tr[data-round="1"]')).to_have_count(3)
    expect(page.locator("#slots thead")).to_contain_text("Fingerprint")
    expect(page.locator("#slots tbody")).to_contain_text("0x" + NEAR[0].hex()[:10])
    # NEAR ones are one bit off FINGERPRINT each (two apart), FAR 40 bits (39 from NEAR[0]); silent: none.
    apart = page.locator("#slots tbody .apart").all_inner_texts()
    assert apart == ["0", "2", "39", "2", "2", "2", "2", "2", "39", "\u2013"], apart
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("Verification tolerant (≤ 8 bits)")
    expect(timeline).to_contain_text("Round 1 disagreed: re-run by slots 3\u20139")
    expect(timeline).to_contain_text("Re-run paid: 5 slot(s)")
    expect(timeline).to_contain_text(
        "Settled: 7 winner(s), 2 of round 1 paid 44.55 each, 5 of the re-run paid from the reserve"
    )
    page.screenshot(path=str(tmp_path / "tolerant.png"), full_page=True)

    page.goto(f"{served}#/job/{played.unfilled}")
    expect(page.locator("#escalation")).to_contain_text("never filled; round 1 decided by its vote")
    expect(page.locator("#timeline")).to_contain_text("The re-run did not fill (2 claimed)")

    page.goto(f"{served}#/job/{played.exact}")
    exact = page.locator("#verification")
    expect(exact).to_contain_text("exact: digests must be equal, class 0x" + CLASS.hex()[:8])
    expect(page.locator("#escalation")).to_have_text("\u2013")
    expect(page.locator("#slots thead")).not_to_contain_text("Fingerprint")
    expect(page.locator("#timeline")).to_contain_text("The first claim fixed the device class to")
    assert not errors, errors
