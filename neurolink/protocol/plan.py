"""The one deployment of NeuroLink as data: what is created, wired and tuned, in order.

`neurolink deploy`, the devnet, the tests (all through `neurolink.protocol.deploy`) and brownie's script
execute these steps; only the executor differs. Standard library only, so brownie's own venv (web3 7)
reads it too.
"""

from dataclasses import dataclass

TOKEN = "NeuroToken"
STAKING = "Staking"
MARKET = "JobMarket"
DEFAULT_INITIAL_SUPPLY = 1_000_000 * 10**18


@dataclass(frozen=True)
class Ref:
    """The address of a contract created by an earlier step."""

    contract: str


Arg = str | int | Ref


@dataclass(frozen=True)
class Create:
    """Deploy `contract` with constructor `args`."""

    contract: str
    args: tuple[Arg, ...]

    @property
    def label(self) -> str:
        return f"deploy {self.contract}"


@dataclass(frozen=True)
class Call:
    """Call `contract.function(*args)` as the owner; `check` names a view that must then return the
    first argument (a wiring that did not take fails the deployment)."""

    contract: str
    function: str
    args: tuple[Arg, ...]
    check: str | None = None

    @property
    def label(self) -> str:
        return f"{self.contract}.{self.function}"


Step = Create | Call


@dataclass(frozen=True)
class Tuning:
    """Owner settings of JobMarket that differ from the contract's defaults."""

    min_window: int
    max_window: int
    sortition_width: int
    min_collateral: int


# Devnets run a handful of providers and wei-sized test jobs with one-minute windows (the contract's
# floor), so deadlines pass within a demo: every provider with at least 1/255 of the stake is drawn
# for every slot, and a slot may cost 1 wei. Real deployments keep the contracts' defaults: sortition
# width 1 and a 1-token minimum collateral (docs/PROTOCOL.md).
DEVNET_TUNING = Tuning(min_window=60, max_window=7 * 24 * 3600, sortition_width=255, min_collateral=1)
DEVNET_SUPPLY = 1_000_000_000 * 10**18


def steps(
    *, owner: str, treasury: str, token: str | None, initial_supply: int, tuning: Tuning | None
) -> tuple[Step, ...]:
    """The deployment's transactions in order: a NeuroToken minted to the sender unless `token` (an
    existing ERC-20) is given, Staking and JobMarket owned by `owner` with fees to `treasury`, Staking
    wired to JobMarket, and the `tuning` if any."""
    token_arg: Arg = Ref(TOKEN) if token is None else token
    created: list[Step] = [Create(TOKEN, (initial_supply,))] if token is None else []
    created += [
        Create(STAKING, (token_arg, owner)),
        Create(MARKET, (token_arg, Ref(STAKING), owner, treasury)),
        Call(STAKING, "setJobMarket", (Ref(MARKET),), check="jobMarket"),
    ]
    if tuning is not None:
        created += [
            Call(MARKET, "setWindowBounds", (tuning.min_window, tuning.max_window)),
            Call(MARKET, "setSortitionWidth", (tuning.sortition_width,)),
            Call(MARKET, "setMinCollateral", (tuning.min_collateral,)),
        ]
    return tuple(created)
