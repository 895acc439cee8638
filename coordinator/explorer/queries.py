"""Read-only queries behind the API: pages with keyset cursors, details, network statistics, prices."""

import base64
import binascii
import bisect
import json
import statistics
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coordinator.explorer import schemas
from coordinator.explorer.errors import ExplorerError
from coordinator.explorer.indexer import get_meta
from coordinator.explorer.models import Account, Credit, Event, Job, Slot
from coordinator.explorer.projection import JOB_STATES
from neurolink.errors import ExitCode

HOUR = 3600


class BadCursorError(ExplorerError):
    """A pagination cursor that this API did not hand out."""

    exit_code = ExitCode.INVALID_INPUT


class NotFoundError(ExplorerError):
    """No job or account by that key."""

    exit_code = ExitCode.NOT_FOUND


def encode_cursor(kind: str, key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps([kind, key]).encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str) -> Any:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        found, key = json.loads(raw)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise BadCursorError(f"cursor {cursor!r} is not one this API handed out") from exc
    if found != kind:
        raise BadCursorError(f"cursor {cursor!r} belongs to another list ({found})")
    return key


def _summary(job: Job) -> schemas.JobSummary:
    return schemas.JobSummary.model_validate(
        {name: getattr(job, name) for name in schemas.JobSummary.model_fields}
    )


def jobs_page(
    db: Session,
    *,
    state: str | None,
    requester: str | None,
    provider: str | None,
    limit: int,
    cursor: str | None,
) -> schemas.JobPage:
    """Newest first; a cursor is the last id seen, so jobs created meanwhile never shift a page."""
    query = select(Job).order_by(Job.job_id.desc()).limit(limit + 1)
    if state is not None:
        query = query.where(Job.state == state)
    if requester is not None:
        query = query.where(Job.requester == requester)
    if provider is not None:
        query = query.where(Job.job_id.in_(select(Slot.job_id).where(Slot.provider == provider)))
    if cursor is not None:
        before = decode_cursor("jobs", cursor)
        if not isinstance(before, int):
            raise BadCursorError(f"cursor {cursor!r} is not one this API handed out")
        query = query.where(Job.job_id < before)
    rows = list(db.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return schemas.JobPage(
        items=[_summary(j) for j in rows],
        next_cursor=encode_cursor("jobs", rows[-1].job_id) if more else None,
    )


def _cids(digest: str | None) -> schemas.Cids | None:
    from neurolink.content.cid import digest_to_cid

    if digest is None or int(digest, 16) == 0:
        return None
    raw = bytes.fromhex(digest.removeprefix("0x"))
    return schemas.Cids(raw=digest_to_cid(raw, "raw"), dag_pb=digest_to_cid(raw, "dag-pb"))


def _credit(c: Credit) -> schemas.CreditOut:
    return schemas.CreditOut.model_validate(
        {name: getattr(c, name) for name in schemas.CreditOut.model_fields}
    )


def _escalation(job: Job) -> schemas.Escalation | None:
    if not job.escalated:
        return None
    outcome = "unfilled" if job.rerun_unfilled else "paid" if job.rerun_winners is not None else "running"
    return schemas.Escalation(
        escalated_at=job.escalated_at or 0,
        first_slot=job.replicas,
        slots=job.rerun_slots or 0,
        claim_deadline=job.rerun_claim_deadline or 0,
        commit_deadline=job.rerun_commit_deadline or 0,
        reveal_deadline=job.rerun_reveal_deadline or 0,
        outcome=outcome,
        winners=job.rerun_winners,
        reward_per_winner=job.rerun_reward,
        refund=job.rerun_refund,
    )


def job_detail(db: Session, job_id: int) -> schemas.JobDetail:
    job = db.get(Job, job_id)
    if job is None:
        raise NotFoundError(f"no job {job_id} is indexed")
    slots = db.scalars(select(Slot).where(Slot.job_id == job_id).order_by(Slot.id))
    credits = db.scalars(select(Credit).where(Credit.job_id == job_id).order_by(Credit.id))
    events = db.scalars(
        select(Event).where(Event.job_id == job_id).order_by(Event.block_number, Event.log_index)
    )
    base = {name: getattr(job, name) for name in schemas.JobDetail.model_fields if hasattr(job, name)}
    return schemas.JobDetail.model_validate(
        {
            **base,
            "escalation": _escalation(job),
            "spec_cids": _cids(job.spec_digest),
            "result_cids": _cids(job.winning_digest),
            "slots": [
                {
                    **{name: getattr(s, name) for name in schemas.SlotOut.model_fields if hasattr(s, name)},
                    "round": 2 if s.slot >= job.replicas else 1,
                }
                for s in slots
            ],
            "credits": [_credit(c) for c in credits],
            "timeline": [
                {
                    "seq": e.seq,
                    "name": e.name,
                    "block_number": e.block_number,
                    "block_time": e.block_time,
                    "tx_hash": e.tx_hash,
                    "log_index": e.log_index,
                    "account": e.account,
                    "args": json.loads(e.args),
                }
                for e in events
            ],
        }
    )


def _provider_stats(db: Session, addresses: list[str]) -> dict[str, dict[str, Any]]:
    """Jobs, paid and slashed slots, and credited earnings per address (aggregated in Python: exact wei)."""
    stats: dict[str, dict[str, Any]] = {
        a: {"jobs": 0, "jobs_paid": 0, "jobs_slashed": 0, "earned": 0} for a in addresses
    }
    if not addresses:
        return stats
    rows = db.execute(
        select(Slot.provider, Slot.outcome, func.count())
        .where(Slot.provider.in_(addresses))
        .group_by(Slot.provider, Slot.outcome)
    )
    for provider, outcome, count in rows:
        stats[provider]["jobs"] += count
        if outcome == "paid":
            stats[provider]["jobs_paid"] += count
        elif outcome == "slashed":
            stats[provider]["jobs_slashed"] += count
    earned = db.execute(
        select(Credit.account, Credit.amount).where(
            Credit.account.in_(addresses), Credit.kind.in_(("reward", "tip"))
        )
    )
    for account, amount in earned:
        stats[account]["earned"] += int(amount)
    return stats


def _provider(row: Account, stats: dict[str, Any]) -> dict[str, Any]:
    data = {name: getattr(row, name) for name in schemas.ProviderSummary.model_fields if hasattr(row, name)}
    return {**data, **stats, "earned": str(stats["earned"])}


def providers_page(db: Session, *, limit: int, cursor: str | None) -> schemas.ProviderPage:
    """Registered providers by address; the cursor is the last address seen."""
    query = select(Account).where(Account.registered.is_(True)).order_by(Account.address).limit(limit + 1)
    if cursor is not None:
        after = decode_cursor("providers", cursor)
        if not isinstance(after, str):
            raise BadCursorError(f"cursor {cursor!r} is not one this API handed out")
        query = query.where(Account.address > after)
    rows = list(db.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    stats = _provider_stats(db, [r.address for r in rows])
    return schemas.ProviderPage(
        items=[schemas.ProviderSummary.model_validate(_provider(r, stats[r.address])) for r in rows],
        next_cursor=encode_cursor("providers", rows[-1].address) if more else None,
    )


def provider_detail(db: Session, address: str) -> schemas.ProviderDetail:
    row = db.get(Account, address)
    if row is None:
        raise NotFoundError(f"no account {address} has staked or registered")
    stats = _provider_stats(db, [address])[address]
    history = db.execute(
        select(Slot, Job.state)
        .join(Job, Job.job_id == Slot.job_id)
        .where(Slot.provider == address)
        .order_by(Slot.job_id.desc(), Slot.id.desc())
        .limit(200)
    )
    credits = list(db.scalars(select(Credit).where(Credit.account == address).order_by(Credit.id.desc())))
    credited = sum(int(c.amount) for c in credits)
    return schemas.ProviderDetail.model_validate(
        {
            **_provider(row, stats),
            "registered_at": row.registered_at,
            "metadata_digest": row.metadata_digest,
            "device_class": row.device_class,
            "claimable": str(credited - int(row.withdrawn)),
            "history": [
                {
                    "job_id": s.job_id,
                    "slot": s.slot,
                    "state": state,
                    "claimed_at": s.claimed_at,
                    "outcome": s.outcome,
                    "reward": s.reward,
                    "slashed": s.slashed,
                }
                for s, state in history
            ],
            "credits": [_credit(c) for c in credits[:200]],
        }
    )


def stats(db: Session, *, now: int | None = None) -> schemas.Stats:
    by_state = dict.fromkeys(JOB_STATES, 0)
    for state, count in db.execute(select(Job.state, func.count()).group_by(Job.state)):
        by_state[state] = count
    settled = list(db.execute(select(Job.created_at, Job.concluded_at).where(Job.state == "settled")))
    per_hour: dict[int, int] = {}
    for _, concluded in settled:
        per_hour[concluded // HOUR * HOUR] = per_hour.get(concluded // HOUR * HOUR, 0) + 1
    durations = [c - s for s, c in settled]
    accounts = list(db.execute(select(Account.staked, Account.slashed, Account.registered)))
    paid = db.scalars(select(Credit.amount).where(Credit.kind == "reward"))
    return schemas.Stats(
        jobs_total=sum(by_state.values()),
        jobs_by_state=by_state,
        settled_per_hour=[schemas.HourCount(hour=h, count=n) for h, n in sorted(per_hour.items())[-48:]],
        median_submit_to_settled_s=float(statistics.median(durations)) if durations else None,
        providers=sum(1 for a in accounts if a.registered),
        total_staked=str(sum(int(a.staked) for a in accounts)),
        total_slashed=str(sum(int(a.slashed) for a in accounts)),
        total_paid=str(sum(int(p) for p in paid)),
        indexed_block=_int(get_meta(db, "cursor")),
        head=_int(get_meta(db, "head")),
    )


def prices(db: Session, *, bucket: int, since: int | None) -> schemas.Prices:
    """Per bucket of creation time: jobs, GPU-seconds asked, payment and its price per GPU-second."""
    query = select(
        Job.created_at, Job.concluded_at, Job.payment, Job.replicas, Job.gpu_count, Job.max_gpu_seconds
    ).order_by(Job.created_at)
    if since is not None:
        query = query.where(Job.created_at >= since)
    rows = list(db.execute(query))
    buckets: dict[int, list[Any]] = {}
    for row in rows:
        buckets.setdefault(row.created_at // bucket * bucket, []).append(row)
    created = [r.created_at for r in rows]
    concluded = sorted(r.concluded_at for r in rows if r.concluded_at is not None)
    points = []
    for start, members in sorted(buckets.items()):
        end = start + bucket
        unit = [
            int(r.payment) // (r.replicas * max(r.gpu_count, 1) * r.max_gpu_seconds)
            for r in members
            if r.max_gpu_seconds > 0
        ]
        created_by_end = bisect.bisect_left(created, end)
        done_by_end = bisect.bisect_left(concluded, end)
        points.append(
            schemas.PricePoint(
                start=start,
                jobs=len(members),
                gpu_seconds=sum(r.replicas * r.gpu_count * r.max_gpu_seconds for r in members),
                payment=str(sum(int(r.payment) for r in members)),
                price_median=str(int(statistics.median(unit))) if unit else None,
                price_min=str(min(unit)) if unit else None,
                price_max=str(max(unit)) if unit else None,
                open_jobs=created_by_end - done_by_end,
            )
        )
    return schemas.Prices(bucket_seconds=bucket, points=points)


def search(db: Session, query: str) -> schemas.SearchResult:
    """A job id, an address (provider or any indexed account) or a CID (spec or result of a job)."""
    text = query.strip()
    hits: list[schemas.SearchHit] = []
    if text.isdigit() and db.get(Job, int(text)) is not None:
        hits.append(schemas.SearchHit(kind="job", id=text, url=f"#/job/{text}", why="job id"))
    elif text.lower().startswith("0x") and len(text) == 42:
        from eth_utils.address import is_hex_address, to_checksum_address

        if is_hex_address(text):
            address = to_checksum_address(text)
            account = db.get(Account, address)
            if account is not None:
                kind = "provider" if account.registered else "account"
                hits.append(
                    schemas.SearchHit(kind=kind, id=address, url=f"#/provider/{address}", why="address")
                )
            for job_id in db.scalars(
                select(Job.job_id).where(Job.requester == address).order_by(Job.job_id.desc()).limit(20)
            ):
                hits.append(
                    schemas.SearchHit(kind="job", id=str(job_id), url=f"#/job/{job_id}", why="requester")
                )
    else:
        from neurolink.content.cid import cid_to_digest
        from neurolink.content.errors import ContentError

        try:
            digest = "0x" + cid_to_digest(text).hex()
        except (ContentError, ValueError):
            return schemas.SearchResult(query=query, hits=[])
        for job_id, why in [
            *((j, "result CID") for j in db.scalars(select(Job.job_id).where(Job.winning_digest == digest))),
            *((j, "spec CID") for j in db.scalars(select(Job.job_id).where(Job.spec_digest == digest))),
        ]:
            hits.append(schemas.SearchHit(kind="job", id=str(job_id), url=f"#/job/{job_id}", why=why))
    return schemas.SearchResult(query=query, hits=hits)


def new_events(db: Session, after: int, limit: int = 200) -> list[dict[str, Any]]:
    """Events stored after `after` (a `seq`), oldest first: what the live stream sends."""
    rows = db.execute(
        select(Event.seq, Event.name, Event.job_id, Event.account, Event.block_number)
        .where(Event.seq > after)
        .order_by(Event.seq)
        .limit(limit)
    )
    return [
        {
            "seq": r.seq,
            "name": r.name,
            "job_id": r.job_id,
            "account": r.account,
            "block_number": r.block_number,
        }
        for r in rows
    ]


def last_seq(db: Session) -> int:
    return int(db.scalar(select(func.max(Event.seq))) or 0)


def _int(value: str | None) -> int | None:
    return None if value is None else int(value)
