"""Where `devnet up` leaves word of the running devnet, so later commands from any home find it.

Outside `neurolink.devnet` because the config and the deployments reader consult it, and the devnet
package itself builds on both.
"""

import json
import os
from pathlib import Path
from typing import Any

RUN_FILE = "devnet.json"


def run_file(home: Path) -> Path:
    """The devnet's own record of what it started, in the home that ran `devnet up`."""
    return home / "devnet" / RUN_FILE


def pointer_file() -> Path:
    """One file per user naming the devnet last started, for homes other than the one that started it."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "neurolink" / "devnet.json"


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def current(home: Path) -> dict[str, Any] | None:
    """The devnet this home started, else the one the user last started (if it still runs from there)."""
    own = _read(run_file(home))
    if own is not None:
        return own
    pointer = _read(pointer_file())
    if pointer is None or not isinstance(pointer.get("home"), str):
        return None
    return _read(run_file(Path(pointer["home"])))


def publish(home: Path) -> None:
    """Point the user's devnet pointer at `home`'s devnet."""
    path = pointer_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"home": str(home.resolve())}))
    tmp.replace(path)


def withdraw(home: Path) -> None:
    """Remove the pointer if it points at `home`'s devnet (another home's devnet keeps its pointer)."""
    pointer = _read(pointer_file())
    if pointer is not None and pointer.get("home") == str(home.resolve()):
        pointer_file().unlink(missing_ok=True)
