"""Node and client configuration: a TOML file under NEUROLINK_HOME, overridden by NEUROLINK_* env."""

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from neurolink.errors import ConfigError, NeuroLinkError

ENV_PREFIX = "NEUROLINK_"
M = TypeVar("M", bound=BaseModel)


def default_home() -> Path:
    """Where keystores, ledgers, the local content store and config live."""
    return Path(os.environ.get("NEUROLINK_HOME", Path.home() / ".neurolink")).expanduser()


class Settings(BaseModel):
    """Everything a node or client reads from its environment; embedded defaults need no setup."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    home: Path = Field(default_factory=default_home)
    rpc_url: str = "http://127.0.0.1:8545"
    # "sqlite" is the embedded broker under `home`; otherwise redis://, amqp://, sqla+sqlite://.
    broker_url: str = "sqlite"
    result_backend: str = "sqlite"
    # Worker queues are `<queue_prefix>.dev<i>`; a distinct prefix lets nodes share one broker.
    queue_prefix: str = Field(default="neurolink", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    # CPU "device slots" started when the machine has no GPU.
    cpu_slots: int = Field(default=2, ge=1, le=256)
    # "local" is the embedded content store under `home`; otherwise a Kubo RPC URL.
    content_url: str = "local"
    # Trustless gateways (`neurolink content serve`, Kubo's gateway) read from, in order, when a block
    # is not in the store above; blocks fetched are checked against their CID and kept.
    # Kept as one comma-separated string (a TOML list is joined), so it passes through env to children.
    content_gateways: str = ""
    # Largest object the content store accepts or hands back, in bytes (default 8 GiB).
    content_max_size: int = Field(default=8 * 1024**3, gt=0)
    # Blocks a node's watcher stays behind the head; "auto": the chain's `safe` block where the RPC has
    # the tag, else the chain's default (neurolink.chain.finality), which is 0 only on devnets.
    confirmations: Annotated[int, Field(ge=0, le=1024)] | Literal["auto"] = "auto"
    # Job processes run in bubblewrap: "auto" when it is installed, "required" refuses to run
    # without it, "off" never (devnets only: `node run` refuses public chains unsandboxed).
    sandbox: Literal["auto", "required", "off"] = "auto"
    log_json: bool = False
    # Where device reservations live: "auto" is the broker's Redis when the broker is Redis, else the
    # embedded SQLite file under `home` (one host); "sqlite", or a redis:// or postgresql:// URL shared
    # by every host of the provider.
    device_registry: str = "auto"
    # This host in the registry (default: its hostname), and the address other hosts reach its job
    # ranks on (a rank 0 here listens there for the ranks of a job spanning hosts).
    host_label: str = Field(default="", pattern=r"^[A-Za-z0-9_.-]{0,64}$")
    host_address: str = "127.0.0.1"
    # The network interface ranks of a job spanning hosts talk on (gloo/NCCL socket interface), e.g.
    # "eth0"; empty: what the job's hostname resolves to, which a sandboxed job cannot resolve.
    rank_interface: str = Field(default="", pattern=r"^[A-Za-z0-9_.@-]{0,32}$")
    # A device whose worker has not beaten for this long is dead: its devices are freed and the job
    # attempt holding it fails (workers beat every fifth of it).
    worker_dead_after_s: float = Field(default=10.0, gt=0, le=3600)
    # Start a worker's job sandbox (torch imported) before its first job, so a 1-rank job starts at once;
    # ranks of multi-rank jobs start sandboxes of their own, so workers running only those may skip it.
    warm_zygote: bool = True

    @field_validator("content_gateways", mode="before")
    @classmethod
    def _gateway_list(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            value = ",".join(str(v) for v in value)
        if isinstance(value, str):
            for url in (part.strip() for part in value.split(",") if part.strip()):
                if not url.startswith(("http://", "https://")) or "," in url:
                    raise ValueError(f"a content gateway is an http(s) URL, got {url!r}")
        return value

    @property
    def gateway_urls(self) -> tuple[str, ...]:
        """The content gateways, in the order they are tried."""
        return tuple(part.strip() for part in self.content_gateways.split(",") if part.strip())

    @property
    def host(self) -> str:
        """This host's label in the device registry."""
        import socket

        return self.host_label or socket.gethostname()

    @property
    def content_dir(self) -> Path:
        return self.home / "content"

    @property
    def keystore_dir(self) -> Path:
        return self.home / "keystore"

    @property
    def deployments_dir(self) -> Path:
        return self.home / "deployments"


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Settings from `path` (default $NEUROLINK_HOME/config.toml), env, then explicit overrides."""
    home = Path(overrides["home"]) if "home" in overrides else default_home()
    values = layered_values(
        path or home / "config.toml", Settings, ENV_PREFIX, ConfigError, overrides, base={"home": home}
    )
    _devnet_defaults(home, values)
    return validated(Settings, values, ConfigError, "config")


def _devnet_defaults(home: Path, values: dict[str, Any]) -> None:
    """What nothing else set comes from the devnet `home` started, else the one this user last started:
    its RPC URL (whatever its --port) and, for a node reading that devnet, its content gateway."""
    from neurolink import devnet_record as record

    run = record.current(home)
    if run is None:
        return
    values.setdefault("rpc_url", run.get("rpc_url"))
    if values["rpc_url"] == run.get("rpc_url") and run.get("content_gateway"):
        values.setdefault("content_gateways", [run["content_gateway"]])


def layered_values(
    path: Path,
    model: type[BaseModel],
    env_prefix: str,
    error: type[NeuroLinkError],
    overrides: dict[str, Any],
    *,
    base: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`base`, then the TOML file at `path` if there is one, then `<env_prefix><FIELD>` env, then `overrides`.

    An override of None means "not given" (an unset CLI flag) and leaves the value below it. Env never
    replaces a `base` value (NEUROLINK_HOME already chose the home, and with it this file).
    """
    values = dict(base or {})
    if path.exists():
        try:
            values.update(tomllib.loads(path.read_text()))
        except OSError as exc:
            raise error(f"{path}: cannot read: {exc.strerror}") from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise error(f"{path}: not valid TOML: {exc}") from exc
    for name in model.model_fields:
        env = os.environ.get(env_prefix + name.upper())
        if env is not None and name not in (base or {}):
            values[name] = env
    values.update({k: v for k, v in overrides.items() if v is not None})
    return values


def validated(model: type[M], values: dict[str, Any], error: type[NeuroLinkError], what: str) -> M:
    """`model(**values)`, its first validation error raised as `error` naming the field of `what`."""
    try:
        return model(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise error(f"{what} {where}: {first['msg']}") from exc
