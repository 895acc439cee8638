"""The read-only REST API, its live event stream and the dashboard, as one FastAPI application."""

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from coordinator.explorer import queries, schemas
from coordinator.explorer.indexer import get_meta

STATIC = Path(__file__).with_name("static")
# uPlot comes from npm (package.json pins it); the page loads it from this server, never a CDN.
VENDOR = Path(__file__).resolve().parents[2] / "node_modules" / "uplot" / "dist"
VENDOR_FILES = {"uplot.js": "uPlot.iife.min.js", "uplot.css": "uPlot.min.css"}
PROBLEM = "application/problem+json"
ADDRESS = r"^0x[0-9a-fA-F]{40}$"
STREAM_POLL_S = 0.25
STREAM_KEEPALIVE_S = 15.0

PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": schemas.Problem, "content": {PROBLEM: {}}, "description": text}
    for status, text in ((400, "Bad request"), (404, "Not found"), (422, "Invalid parameter"))
}


def _problem(request: Request, status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail,
            "instance": request.url.path, **extra}  # fmt: skip
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def _checksum(address: str) -> str:
    from eth_utils.address import to_checksum_address

    return str(to_checksum_address(address))


def _session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


Db = Annotated[Session, Depends(_session)]
Address = Annotated[str, PathParam(pattern=ADDRESS, description="A 0x-prefixed account address.")]
Limit = Annotated[int, Query(ge=1, le=200, description="Items per page.")]
Cursor = Annotated[str | None, Query(max_length=200, description="`next_cursor` of the previous page.")]


def create_app(engine: Engine) -> FastAPI:
    """The API over `engine`'s database (written by an Indexer in this process or another)."""
    sessions = sessionmaker(engine)
    app = FastAPI(
        title="NeuroLink explorer",
        version="1",
        description="Jobs, providers and prices of a NeuroLink network, read from its contracts' events.",
        openapi_url="/api/v1/openapi.json",
        # The interactive docs pages load scripts from a CDN; the schema itself is served above.
        docs_url=None,
        redoc_url=None,
    )

    app.state.sessions = sessions

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        titles = {404: "Not Found", 405: "Method Not Allowed", 400: "Bad Request", 503: "Unavailable"}
        return _problem(request, exc.status_code, titles.get(exc.status_code, "Error"), str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        where = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors)
        return _problem(request, 422, "Invalid parameter", f"invalid {where}", errors=errors)

    @app.exception_handler(queries.BadCursorError)
    async def _cursor(request: Request, exc: queries.BadCursorError) -> JSONResponse:
        return _problem(request, 400, "Bad cursor", str(exc))

    @app.exception_handler(queries.NotFoundError)
    async def _missing(request: Request, exc: queries.NotFoundError) -> JSONResponse:
        return _problem(request, 404, "Not Found", str(exc))

    @app.get("/api/v1/health", response_model=schemas.Health, tags=["meta"])
    def health(db: Db) -> schemas.Health:
        """Where the indexer stands."""
        cursor, head = get_meta(db, "cursor"), get_meta(db, "head")
        chain, polled = get_meta(db, "chain_id"), get_meta(db, "polled_at")
        return schemas.Health(
            status="ok",
            chain_id=None if chain is None else int(chain),
            indexed_block=None if cursor is None else int(cursor),
            head=None if head is None else int(head),
            lag_blocks=None if cursor is None or head is None else int(head) - int(cursor),
            reorgs=int(get_meta(db, "reorgs") or 0),
            polled_at=None if polled is None else float(polled),
        )

    @app.get("/api/v1/jobs", response_model=schemas.JobPage, responses=PROBLEM_RESPONSES, tags=["jobs"])
    def jobs(
        db: Db,
        *,
        state: schemas.JobState | None = None,
        requester: Annotated[str | None, Query(pattern=ADDRESS)] = None,
        provider: Annotated[str | None, Query(pattern=ADDRESS)] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> schemas.JobPage:
        """Jobs, newest first, filtered by state, requester or a provider that claimed a slot."""
        return queries.jobs_page(
            db,
            state=state,
            requester=None if requester is None else _checksum(requester),
            provider=None if provider is None else _checksum(provider),
            limit=limit,
            cursor=cursor,
        )

    @app.get(
        "/api/v1/jobs/{job_id}", response_model=schemas.JobDetail, responses=PROBLEM_RESPONSES, tags=["jobs"]
    )
    def job(db: Db, job_id: Annotated[int, PathParam(ge=1, le=2**64)]) -> schemas.JobDetail:
        """One job: its terms, slots, credits, result CID and every event from creation to the end."""
        return queries.job_detail(db, job_id)

    @app.get(
        "/api/v1/providers",
        response_model=schemas.ProviderPage,
        responses=PROBLEM_RESPONSES,
        tags=["providers"],
    )
    def providers(db: Db, limit: Limit = 50, cursor: Cursor = None) -> schemas.ProviderPage:
        """Registered providers by address, with stake, earnings and slashes."""
        return queries.providers_page(db, limit=limit, cursor=cursor)

    @app.get(
        "/api/v1/providers/{address}",
        response_model=schemas.ProviderDetail,
        responses=PROBLEM_RESPONSES,
        tags=["providers"],
    )
    def provider(db: Db, address: Address) -> schemas.ProviderDetail:
        """One provider (or any staking account): stake, hardware, job history, credits."""
        return queries.provider_detail(db, _checksum(address))

    @app.get("/api/v1/stats", response_model=schemas.Stats, tags=["network"])
    def stats(db: Db) -> schemas.Stats:
        """Jobs per state, settled per hour, median submit-to-settled time, stake and slashes."""
        return queries.stats(db)

    @app.get("/api/v1/prices", response_model=schemas.Prices, responses=PROBLEM_RESPONSES, tags=["network"])
    def prices(
        db: Db,
        bucket: Annotated[int, Query(ge=60, le=7 * 86_400, description="Bucket width in seconds.")] = 3600,
        since: Annotated[
            int | None, Query(ge=0, description="Only jobs created at or after (unix s).")
        ] = None,
    ) -> schemas.Prices:
        """Quote inputs over time: jobs created, GPU-seconds asked, price per GPU-second, open jobs."""
        return queries.prices(db, bucket=bucket, since=since)

    @app.get(
        "/api/v1/search", response_model=schemas.SearchResult, responses=PROBLEM_RESPONSES, tags=["network"]
    )
    def search(db: Db, q: Annotated[str, Query(min_length=1, max_length=120)]) -> schemas.SearchResult:
        """Find a job by id, an account by address, or jobs by spec or result CID."""
        return queries.search(db, q)

    @app.get(
        "/api/v1/stream",
        tags=["network"],
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}},
    )
    async def stream(request: Request) -> StreamingResponse:
        """Server-Sent Events: `chain` for each newly indexed event (id = its seq), `reorg` on a rewind."""
        last_id = request.headers.get("last-event-id", "")

        def start() -> tuple[int, int]:
            with sessions() as s:
                seq = int(last_id) if last_id.isdigit() else queries.last_seq(s)
                return seq, int(get_meta(s, "reorgs") or 0)

        def poll(after: int) -> tuple[list[dict[str, Any]], int]:
            with sessions() as s:
                return queries.new_events(s, after), int(get_meta(s, "reorgs") or 0)

        async def events() -> AsyncIterator[str]:
            seq, reorgs = await run_in_threadpool(start)
            yield f"retry: 1000\nevent: hello\ndata: {json.dumps({'seq': seq})}\n\n"
            idle = 0.0
            while not await request.is_disconnected():
                batch, now_reorgs = await run_in_threadpool(poll, seq)
                if now_reorgs != reorgs:
                    reorgs = now_reorgs
                    yield f"event: reorg\ndata: {json.dumps({'reorgs': reorgs})}\n\n"
                for item in batch:
                    seq = item["seq"]
                    yield f"id: {seq}\nevent: chain\ndata: {json.dumps(item)}\n\n"
                idle = 0.0 if batch else idle + STREAM_POLL_S
                if idle >= STREAM_KEEPALIVE_S:
                    idle = 0.0
                    yield ": keep-alive\n\n"
                await asyncio.sleep(STREAM_POLL_S)

        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(events(), media_type="text/event-stream", headers=headers)

    @app.api_route(
        "/api/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
    )
    def unknown(request: Request, rest: str) -> Response:
        if request.method != "GET":
            return _problem(request, 405, "Method Not Allowed", "the explorer API is read-only")
        return _problem(request, 404, "Not Found", f"no API route /api/{rest}")

    @app.get("/vendor/{name}", include_in_schema=False)
    def vendor(request: Request, name: str) -> Response:
        source = VENDOR_FILES.get(name)
        if source is None:
            return _problem(request, 404, "Not Found", f"no vendored asset {name}")
        path = VENDOR / source
        if not path.exists():
            return _problem(request, 503, "Unavailable", f"{path} is missing: run `npm ci` in the project")
        return FileResponse(path, headers={"Cache-Control": "max-age=3600"})

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
