"""Finds the Solidity compiler: $NEUROLINK_SOLC, a native solc, py-solc-x's, else the solc-js shim."""

import os
import shutil
import subprocess
from functools import cache
from pathlib import Path

from neurolink.errors import CompilerError

SHIM = Path(__file__).with_name("solc")
SOLC_VERSION = "0.8.37"


def _is_native(binary: str) -> bool:
    try:
        out = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except OSError:
        return False
    return SOLC_VERSION in out and "Emscripten" not in out


@cache
def solc_binary() -> Path:
    """The compiler to use; a native solc of the pinned version wins over the slower solc-js."""
    override = os.environ.get("NEUROLINK_SOLC")
    if override:
        return Path(override)
    on_path = shutil.which("solc")
    if on_path and _is_native(on_path):
        return Path(on_path)
    try:
        import solcx

        installed = solcx.install.get_executable(SOLC_VERSION)
        return Path(installed)
    except Exception:
        pass
    if shutil.which("node") is None:
        raise CompilerError("no solc found and Node.js is missing for the solc-js shim")
    return SHIM
