"""The explorer's settings: `$NEUROLINK_HOME/explorer.toml`, then NEUROLINK_EXPLORER_* env, then flags."""

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from coordinator.explorer.errors import ExplorerConfigError


class ExplorerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # SQLAlchemy URL; empty means the embedded SQLite file under NEUROLINK_HOME/explorer/.
    db_url: str = ""
    host: str = "127.0.0.1"
    port: int = Field(default=8600, ge=0, le=65535)
    # Seconds between looks at the chain head.
    poll_interval: float = Field(default=0.25, gt=0, le=60)

    def database_url(self, home: Path) -> str:
        from coordinator.explorer.db import default_url

        return self.db_url or default_url(home)


def load_explorer_settings(home: Path, **overrides: Any) -> ExplorerSettings:
    from neurolink.config import layered_values, validated

    values = layered_values(
        home / "explorer.toml", ExplorerSettings, "NEUROLINK_EXPLORER_", ExplorerConfigError, overrides
    )
    return validated(ExplorerSettings, values, ExplorerConfigError, "explorer")
