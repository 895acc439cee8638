"""Helpers of the explorer tests: an indexer over a network, the rows it wrote, the chain's own view."""

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from coordinator.explorer.db import make_engine, migrate
from coordinator.explorer.indexer import Indexer
from coordinator.explorer.models import Account, Base, Credit, Event

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from node.localnet import Network

# Surrogate keys differ between two runs that store the same facts; everything else must match.
SURROGATE = {"seq", "id"}


def indexer_for(db_url: str, network: "Network", start_block: int = 0) -> tuple["Engine", Indexer]:
    engine = make_engine(db_url)
    migrate(engine)
    indexer = Indexer(
        engine,
        network.w3,
        job_market=network.market.address,
        staking=network.staking.address,
        start_block=start_block,
    )
    indexer.watcher.start()
    return engine, indexer


def rows(engine: "Engine") -> dict[str, list[tuple[Any, ...]]]:
    """Every derived and raw row, surrogate keys left out, sorted: two equal results mean equal tables."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for name, table in Base.metadata.tables.items():
            if name in {"meta", "blocks"}:
                continue
            columns = [c for c in table.columns if c.name not in SURROGATE]
            out[name] = sorted(tuple(r) for r in conn.execute(select(*columns)))
    return out


def claimable(engine: "Engine", address: str) -> int:
    """What the indexed credits and withdrawals say `address` may still withdraw from the market."""
    with engine.connect() as conn:
        credited = sum(
            int(a) for (a,) in conn.execute(select(Credit.amount).where(Credit.account == address))
        )
        withdrawn = conn.execute(select(Account.withdrawn).where(Account.address == address)).scalar()
    return credited - int(withdrawn or 0)


def credited_accounts(engine: "Engine") -> set[str]:
    with engine.connect() as conn:
        return {a for (a,) in conn.execute(select(Credit.account).distinct())}


def event_names(engine: "Engine", job_id: int) -> list[str]:
    with engine.connect() as conn:
        query = select(Event.name).where(Event.job_id == job_id).order_by(Event.block_number, Event.log_index)
        return list(conn.execute(query).scalars())
