"""`neurolink job ...` (the requester's side) and `neurolink coordinator keeper` (the network's upkeep)."""

import json
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from neurolink.cli import validate
from neurolink.cli.options import bundled
from neurolink.cli.output import JsonOption, emit
from neurolink.cli.output import tokens as _tokens
from neurolink.cli.wallet import AccountOption, PasswordFileOption

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount
    from web3 import Web3

    from coordinator.client import Client, JobState
    from coordinator.keeper import KeeperAction
    from neurolink.chain.deployments import Deployment
    from neurolink.config import Settings

coordinator_app = typer.Typer(help="Network services anyone can run: the keeper.", no_args_is_help=True)
job_app = typer.Typer(
    help="Submit GPU jobs from a wallet and follow them to their result.", no_args_is_help=True
)

RpcOption = typer.Option(None, "--rpc-url", help="JSON-RPC endpoint (default: the settings' rpc_url).")
NetworkOption = typer.Option(
    None, "--network", help="Network name or chain id; must match the RPC (default: the RPC's chain)."
)


@dataclass(frozen=True)
class ChainArgs:
    """The options every command here shares: where to connect, as whom, and how to print."""

    rpc_url: str | None = RpcOption
    network: str | None = NetworkOption
    account: str | None = AccountOption
    password_file: Path | None = PasswordFileOption
    as_json: bool = JsonOption

    def settings(self) -> "Settings":
        from neurolink.chain.deployments import resolve_chain_id
        from neurolink.config import load_settings

        if self.network is not None:
            resolve_chain_id(self.network)  # an unknown name is bad input, reported before connecting
        return load_settings(rpc_url=self.rpc_url)

    def connect(self, settings: "Settings | None" = None) -> tuple["Settings", "Web3", "Deployment"]:
        from neurolink.chain.deployments import for_chain
        from neurolink.chain.provider import connect

        settings = settings or self.settings()
        w3 = connect(settings.rpc_url)
        return settings, w3, for_chain(w3, settings, self.network)

    def signer(self, settings: "Settings") -> "LocalAccount":
        from neurolink.cli.wallet import unlock_account

        return unlock_account(settings, self.account, self.password_file)

    def client(self, *, needs_account: bool) -> "Client":
        """A requester client; it signs when `needs_account` or when an --account was given."""
        from coordinator.client import Client

        settings = self.settings()
        # The keystore is found and unlocked before connecting: a missing one is reported at once.
        signer = self.signer(settings) if needs_account or self.account is not None else None
        _, w3, _ = self.connect(settings)
        return Client(settings, signer, network=self.network, w3=w3)

    def read_client(self) -> "Client":
        """A client that only reads: it never unlocks a keystore."""
        from coordinator.client import Client

        settings, w3, _ = self.connect()
        return Client(settings, None, network=self.network, w3=w3)

    def emit(self, data: dict[str, Any], text: str | None = None) -> None:
        emit(data, self.as_json, text)


reading = bundled("args", ChainArgs, only=("rpc_url", "network", "as_json"))
signing = bundled("args", ChainArgs)


@coordinator_app.command()
@signing
def keeper(
    *,
    interval: float = typer.Option(1.0, min=0.05, help="Seconds between scans for due jobs."),
    once: bool = typer.Option(False, "--once", help="Settle what is due now, then exit."),
    args: ChainArgs,
) -> None:
    """Settle, fail or expire every job whose deadline passed (runs until SIGINT/SIGTERM)."""
    from coordinator.keeper import Keeper
    from neurolink.chain.tx import TxSender
    from neurolink.protocol.contracts import Contracts

    settings = args.settings()
    signer = args.signer(settings)
    _, w3, deployment = args.connect(settings)
    runner = Keeper(Contracts.bind(w3, deployment), TxSender(w3, signer))
    if once:
        actions = runner.tick()
        args.emit({"actions": [a.__dict__ for a in actions]}, f"settled {len(actions)} due jobs")
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    typer.echo(f"keeper watching JobMarket {deployment.job_market.address}", err=True)

    def show(action: "KeeperAction") -> None:
        text = json.dumps(action.__dict__) if args.as_json else f"job {action.job_id} {action.outcome}"
        typer.echo(text)

    runner.run(stop, interval, on_action=show)


# ---------------------------------------------------------------------------------------- job

InputOption = typer.Option(
    None, "--input", help="NAME=PATH: upload PATH as input NAME (overrides the spec's entry). Repeatable."
)
JobIdArgument = typer.Argument(..., min=1, help="The job id (printed by `submit`).")


def _inputs(pairs: list[str] | None) -> dict[str, Path]:
    from neurolink.errors import ConfigError

    inputs = {}
    for pair in pairs or []:
        name, sep, path = pair.partition("=")
        if not sep or not name or not path:
            raise ConfigError(f"--input takes NAME=PATH, got {pair!r}")
        inputs[name] = Path(path)
    return inputs


def _wei(tokens: str | None) -> int | None:
    """A token amount as typed ("2.5") in the token's smallest unit (18 decimals)."""
    if tokens is None:
        return None
    return validate.scaled(validate.decimal_amount(tokens), 18)


def _describe(status: "JobState") -> str:
    r = status.record
    return (
        f"job {status.job_id}: {status.phase.name.lower()}  claimed {r.claimed}/{r.replicas}  "
        f"committed {r.committed}  revealed {r.revealed}  payment {_tokens(r.payment)}"
        + (f"  result {status.result_digest}" if status.result_digest else "")
    )


@job_app.command(name="quote")
@reading
def quote_cmd(
    spec: Path = typer.Argument(..., exists=True, dir_okay=False, help="Job spec JSON file."),
    *,
    inputs: list[str] = InputOption,
    args: ChainArgs,
) -> None:
    """Price SPEC: BasePrice x (1 + Demand) x (1 + Capability) x Seasonal, each factor shown."""
    from neurolink.specfile import read_spec

    draft = read_spec(spec, _inputs(inputs))
    client = args.client(needs_account=False)
    job_spec = draft.upload(client.store)
    q = client.quote(job_spec)
    market = client.market()
    data = {**q.as_dict(), "open_jobs": market.open_jobs, "free_providers": market.free_providers}
    args.emit(
        data,
        f"base price   {_tokens(q.base_price)}\n"
        f"demand       x (1 + {float(q.demand_factor):.3f})   {market.open_jobs} open jobs, "
        f"{market.free_providers} free providers\n"
        f"capability   x (1 + {float(q.capability_factor):.3f})   tier {job_spec.requirements.tier!r}\n"
        f"seasonal     x {float(q.seasonal_adjustment):.3f}\n"
        f"price        {_tokens(q.price)}",
    )


@job_app.command()
@signing
def submit(
    spec: Path = typer.Argument(..., exists=True, dir_okay=False, help="Job spec JSON file."),
    *,
    inputs: list[str] = InputOption,
    payment: str = typer.Option(
        None, callback=validate.amount, help="Tokens to escrow (default: the quote)."
    ),
    collateral: str = typer.Option(
        None,
        callback=validate.amount,
        help="Tokens each provider locks (default: payment / replicas, at least the market minimum).",
    ),
    window: int = typer.Option(None, min=1, help="Seconds for each of claim, commit, reveal."),
    quorum: int = typer.Option(0, min=0, help="Matching results needed (0: a strict majority)."),
    approve: bool = typer.Option(False, "--approve", help="approve + createJob instead of a permit."),
    vet: bool = typer.Option(True, "--vet/--no-vet", help="Refuse inputs a provider would refuse (exit 3)."),
    recheck: bool = typer.Option(
        False, "--recheck", help="A fresh random seed (job nonce): no earlier job's result answers this one."
    ),
    args: ChainArgs,
) -> None:
    """Upload SPEC's inputs and the spec, escrow the payment and create the job; prints its id."""
    from coordinator.client import SubmitOptions
    from neurolink.specfile import read_spec

    # Arguments first: a typo is reported before any connection, password prompt or upload.
    files = _inputs(inputs)
    options = SubmitOptions(
        payment=_wei(payment),
        collateral=_wei(collateral),
        window=window,
        quorum=quorum,
        permit=False if approve else None,
        recheck=recheck,
    )
    draft = read_spec(spec, files)
    if vet:
        draft.vet()
    client = args.client(needs_account=True)
    job_spec = draft.upload(client.store)
    job = client.submit(job_spec, options)
    how = "permit" if job.used_permit else "approve"
    reserve = f" + {_tokens(job.reserve)} re-run reserve" if job.reserve else ""
    args.emit(
        job.as_dict(),
        f"job {job.job_id} created ({_tokens(job.payment)}{reserve} escrowed by {how}, {job.verification}"
        f" verification, spec {job.spec_cid})",
    )


@job_app.command()
def schema() -> None:
    """Print the JSON Schema of a job spec (docs/JOBSPEC.md explains each field)."""
    from neurolink.spec import JobSpec

    typer.echo(json.dumps(JobSpec.model_json_schema(), indent=2))


@job_app.command()
@reading
def status(job_id: int = JobIdArgument, *, args: ChainArgs) -> None:
    """Show where a job stands: phase, slots, deadlines, result digest."""
    current = args.client(needs_account=False).status(job_id)
    args.emit(current.as_dict(), _describe(current))


@job_app.command()
@signing
def wait(
    job_id: int = JobIdArgument,
    *,
    timeout: float = typer.Option(600.0, min=0.1, help="Seconds to wait before giving up (exit 8)."),
    args: ChainArgs,
) -> None:
    """Follow a job through its phases until it closes; with --account, settle it once due."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    client = args.client(needs_account=False)
    steps = ("claiming", "committing", "revealing", "settleable")
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        disable=args.as_json,
        transient=False,
    ) as bar:
        task = bar.add_task(f"job {job_id}", total=len(steps) + 1)

        def show(current: "JobState") -> None:
            phase = current.phase.name.lower()
            done = steps.index(phase) if phase in steps else len(steps) + 1
            bar.update(task, completed=done, description=_describe(current))

        final = client.wait(
            job_id, timeout=timeout, on_change=show, settle_when_due=client.account is not None
        )
    args.emit(final.as_dict(), _describe(final))


@job_app.command()
@reading
def result(
    job_id: int = JobIdArgument,
    *,
    out: Path = typer.Option(
        Path("."), "-o", "--out", file_okay=False, help="Folder to write the result to."
    ),
    args: ChainArgs,
) -> None:
    """Download a settled job's result by CID, verify it against the on-chain digest (tolerant jobs: and
    against its provider's fingerprint, else another member's result), and write its metrics (verified
    figures, timeline, throughput floors) beside it."""
    fetched = args.client(needs_account=False).result(job_id, out)
    figures = [f"  {key}: {value}" for key, value in fetched.figures.items()]
    lines = [f"{fetched.path} ({fetched.size} bytes, {fetched.cid}, digest verified)", *figures]
    args.emit(fetched.as_dict(), "\n".join([*lines, *_timeline(fetched.metrics_path, fetched.metrics)]))


def _timeline(path: Path | None, metrics: dict[str, Any]) -> list[str]:
    from neurolink.cli.output import when

    if "settled_at" not in metrics:
        return [f"metrics: {path} (no timeline: the RPC returned no logs for this job)"]
    lines = [
        f"metrics: {path}",
        f"  created {when(metrics['created_at'])}, settled {when(metrics['settled_at'])}"
        f" ({metrics['submit_to_settled_s']} s)",
    ]
    for p in metrics["providers"]:
        span = f"claim to commit {p['claim_to_commit_s']} s" if "claim_to_commit_s" in p else "no commitment"
        floor = f", at least {p['tflops_at_least']} TFLOP/s" if "tflops_at_least" in p else ""
        lines.append(f"  {p['address']}: {span}{floor}")
    return lines


@job_app.command()
@signing
def cancel(job_id: int = JobIdArgument, *, args: ChainArgs) -> None:
    """Cancel a job nobody claimed yet and withdraw the refund."""
    refunded = args.client(needs_account=True).cancel(job_id)
    args.emit(
        {"job_id": job_id, "refunded": str(refunded)}, f"job {job_id} cancelled, {_tokens(refunded)} back"
    )


@job_app.command()
@signing
def withdraw(*, args: ChainArgs) -> None:
    """Pull every refund JobMarket owes this account (expired, failed or cancelled jobs)."""
    amount = args.client(needs_account=True).withdraw()
    args.emit({"withdrawn": str(amount)}, f"withdrew {_tokens(amount)}")


@job_app.command(name="list")
@bundled("args", ChainArgs, only=("rpc_url", "network", "account", "as_json"))
def list_cmd(
    *,
    requester: str = typer.Option(
        None, callback=validate.address, help="Whose jobs (default: the --account, else the only keystore)."
    ),
    args: ChainArgs,
) -> None:
    """List a requester's jobs, oldest first (reads only: no password)."""
    from neurolink.accounts.keystore import Keystore
    from neurolink.config import load_settings

    who = requester or args.account or Keystore(load_settings().keystore_dir).find(None).address
    jobs = args.read_client().list(who)
    args.emit({"jobs": [j.as_dict() for j in jobs]}, "\n".join(_describe(j) for j in jobs) or "no jobs")
