"""The explorer's indexer against real provider nodes: after a k = 3 job with a cheater, its rows say
exactly what the chain says (every stake, every claimable balance, every slash), on SQLite and on
PostgreSQL alike; and the API serves them (OpenAPI-valid, stable cursors, problem JSON for bad input)."""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from provider_bench import (
    TOKEN,
    Host,
    Network,
    NodeProcess,
    ProviderHome,
    benchmark_spec,
    create_job,
    make_provider,
    stop_all,
    wait_settled,
    wait_until,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from coordinator.explorer.models import Account, Job, Slot
from tests.integration.explorer.explorer_bench import claimable, credited_accounts, event_names, indexer_for

if TYPE_CHECKING:
    from fastapi.testclient import TestClient
    from jsonschema import Draft202012Validator
    from sqlalchemy.engine import Engine

pytestmark = pytest.mark.integration

PAYMENT = 3 * TOKEN
COLLATERAL = 5 * TOKEN


@dataclass(frozen=True)
class CheatedJob:
    job_id: int
    honest: list[ProviderHome]
    cheater: ProviderHome


@pytest.fixture(scope="module")
def cheated_job(network: Network, host: Host) -> Iterator[CheatedJob]:
    """A k = 3 job run by two honest nodes and one revealing a wrong result, settled and withdrawn."""
    trio = [make_provider(network, host, index) for index in (13, 14, 15)]
    nodes = [NodeProcess(p, "--no-workers") for p in trio[:2]]
    nodes.append(NodeProcess(trio[2], "--no-workers", "--fault", "wrong-result"))
    try:
        job_id = create_job(
            network, benchmark_spec(3, seed=314), host, payment=PAYMENT, replicas=3, collateral=COLLATERAL
        )
        wait_settled(network, job_id, 90, "the cheated job settled", process=nodes)
        market = network.market.functions
        wait_until(lambda: all(market.claimable(p.address).call() == 0 for p in trio[:2]), 30, "withdrawals")
    finally:
        stop_all(nodes)
    yield CheatedJob(job_id, trio[:2], trio[2])


def test_rows_say_what_the_chain_says(network: Network, cheated_job: CheatedJob, explorer_db: str) -> None:
    engine, indexer = indexer_for(explorer_db, network)
    indexer.poll()
    staking, market = network.staking.functions, network.market.functions
    with Session(engine) as db:
        job = db.get(Job, cheated_job.job_id)
        assert job is not None and job.state == "settled" and job.winners == 2
        slots = {s.provider: s for s in db.scalars(select(Slot).where(Slot.job_id == cheated_job.job_id))}
        assert set(slots) == {p.address for p in [*cheated_job.honest, cheated_job.cheater]}
        cheat = slots[cheated_job.cheater.address]
        assert (cheat.outcome, cheat.slashed, cheat.reward) == ("slashed", str(COLLATERAL), "0")
        for p in cheated_job.honest:
            assert (slots[p.address].outcome, slots[p.address].reward) == ("paid", job.reward_per_winner)
        assert job.burned == str(COLLATERAL)
        # Every account the chain knows of: stake as Staking stores it, claimable as JobMarket does.
        for account in db.scalars(select(Account)):
            info = staking.stakeInfoOf(account.address).call()
            assert (int(account.staked), int(account.locked), int(account.unstaking)) == tuple(info[:3])
        slashes = network.staking.events.StakeSlashed().get_logs(from_block=0)
        by_account: dict[str, int] = {}
        for log in slashes:
            by_account[log["args"]["account"]] = (
                by_account.get(log["args"]["account"], 0) + log["args"]["amount"]
            )
        indexed = {a.address: int(a.slashed) for a in db.scalars(select(Account)) if int(a.slashed)}
        assert indexed == by_account
    for address in credited_accounts(engine):
        assert claimable(engine, address) == market.claimable(address).call(), address
    names = event_names(engine, cheated_job.job_id)
    assert names[0] == "JobCreated" and names.count("JobClaimed") == 3 and "StakeSlashed" in names
    assert names.index("JobSettled") > max(i for i, n in enumerate(names) if n == "ResultRevealed")


def _client(engine: "Engine") -> "TestClient":
    from fastapi.testclient import TestClient

    from coordinator.explorer.api import create_app

    return TestClient(create_app(engine))


def _validator(doc: dict[str, Any], path: str) -> "Draft202012Validator":
    """A validator of the 200 response `path`'s GET declares in the OpenAPI document."""
    from jsonschema import Draft202012Validator

    template = next(p for p in doc["paths"] if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", p), path))
    schema = doc["paths"][template]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    return Draft202012Validator({**schema, "components": doc["components"]})


def test_api_answers_match_the_openapi_schema(
    network: Network, cheated_job: CheatedJob, explorer_db: str
) -> None:
    engine, indexer = indexer_for(explorer_db, network)
    indexer.poll()
    client = _client(engine)
    doc = client.get("/api/v1/openapi.json").json()
    job_id, cheater = cheated_job.job_id, cheated_job.cheater.address
    detail = client.get(f"/api/v1/jobs/{job_id}").json()
    cid = detail["result_cids"]["raw"]
    paths = [
        "/api/v1/health", "/api/v1/jobs", "/api/v1/jobs?state=settled&limit=2",
        f"/api/v1/jobs?provider={cheater.lower()}", f"/api/v1/jobs/{job_id}", "/api/v1/providers",
        f"/api/v1/providers/{cheater}", "/api/v1/stats", "/api/v1/prices?bucket=60",
        f"/api/v1/search?q={job_id}", f"/api/v1/search?q={cid}", f"/api/v1/search?q={cheater}",
    ]  # fmt: skip
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, (path, response.text)
        errors = list(_validator(doc, path.split("?")[0]).iter_errors(response.json()))
        assert not errors, (path, [e.message for e in errors])
    assert [s["outcome"] for s in detail["slots"] if s["provider"] == cheater] == ["slashed"]
    assert detail["state"] == "settled" and detail["timeline"][0]["name"] == "JobCreated"
    assert job_id in [j["job_id"] for j in client.get(f"/api/v1/jobs?provider={cheater}").json()["items"]]
    assert client.get(f"/api/v1/search?q={cid}").json()["hits"][0]["id"] == str(job_id)
    provider = client.get(f"/api/v1/providers/{cheater}").json()
    assert int(provider["slashed"]) >= COLLATERAL and provider["jobs_slashed"] >= 1


def test_api_pages_are_stable_under_inserts(network: Network, host: Host, explorer_db: str) -> None:
    engine, indexer = indexer_for(explorer_db, network)
    # Jobs no provider of the bench can take (64 GPUs): they stay open and disturb no other test.
    for seed in range(3):
        create_job(network, benchmark_spec(1, seed=900 + seed), host, gpu_count=64)
    indexer.poll()
    client = _client(engine)
    first = client.get("/api/v1/jobs?limit=2").json()
    for seed in range(2):
        create_job(network, benchmark_spec(1, seed=950 + seed), host, gpu_count=64)
    indexer.poll()
    seen = [j["job_id"] for j in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = client.get("/api/v1/jobs", params={"limit": 2, "cursor": cursor}).json()
        seen += [j["job_id"] for j in page["items"]]
        cursor = page["next_cursor"]
    # No job twice, none skipped: exactly the ids up to the first page's newest, newest first.
    assert seen == list(range(seen[0], 0, -1))
    newest = client.get("/api/v1/jobs?limit=1").json()["items"][0]["job_id"]
    assert newest == seen[0] + 2


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/jobs?state=bogus", 422),
        ("/api/v1/jobs?limit=0", 422),
        ("/api/v1/jobs?limit=201", 422),
        ("/api/v1/jobs?requester=0x123", 422),
        ("/api/v1/jobs?cursor=not-a-cursor", 400),
        ("/api/v1/providers?cursor=WyJqb2JzIiwgM10", 400),  # a jobs cursor handed to providers
        ("/api/v1/jobs/0", 422),
        ("/api/v1/jobs/abc", 422),
        ("/api/v1/jobs/99999999", 404),
        ("/api/v1/providers/0xnothex", 422),
        ("/api/v1/providers/0x000000000000000000000000000000000000dEaD", 404),
        ("/api/v1/prices?bucket=1", 422),
        ("/api/v1/search", 422),
        ("/api/v1/nothing", 404),
    ],
)
def test_api_bad_parameters_get_problem_json(path: str, status: int, tmp_path: Path) -> None:
    from coordinator.explorer.db import make_engine, migrate

    engine = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    migrate(engine)
    response = _client(engine).get(path)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"] and body["type"] == "about:blank"


def test_api_is_read_only(tmp_path: Path) -> None:
    from coordinator.explorer.db import make_engine, migrate

    engine = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    migrate(engine)
    client = _client(engine)
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        response = client.request(method, "/api/v1/jobs")
        assert response.status_code == 405 and response.headers["content-type"] == "application/problem+json"
