"""Typer callbacks that check arguments at parse time, so bad input fails (exit 3) before any connection."""

import re
from decimal import Decimal, InvalidOperation
from pathlib import Path

from neurolink.errors import InvalidArgumentError

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


def address(value: str | None) -> str | None:
    """`value` as a checksummed address; None stays None (the option was left out)."""
    if value is None:
        return None
    if not _ADDRESS.match(value):
        raise InvalidArgumentError(f"not an address (0x and 40 hex digits): {value!r}")
    from eth_utils.address import is_checksum_address, to_checksum_address

    # An address in mixed case carries a checksum: a typo in it must not send funds elsewhere.
    if value != value.lower() and value[2:] != value[2:].upper() and not is_checksum_address(value):
        raise InvalidArgumentError(f"address {value} fails its EIP-55 checksum (a typo?)")
    return str(to_checksum_address(value))


def cid(value: str) -> str:
    """A CID the content layer accepts, checked before a store is opened (or created) for it."""
    from neurolink.content import parse_cid

    parse_cid(value)
    return value


def password_file(value: Path | None) -> Path | None:
    """A password file that can be read and whose first line is not empty."""
    if value is None:
        return None
    try:
        text = value.read_text()
    except OSError as exc:
        raise InvalidArgumentError(f"cannot read password file {value}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InvalidArgumentError(f"password file {value} is not text") from None
    if not text.splitlines() or not text.splitlines()[0]:
        raise InvalidArgumentError(f"password file {value}: the first line (the password) is empty")
    return value


def decimal_amount(text: str, *, allow_zero: bool = False) -> Decimal:
    """A non-negative decimal as typed ("2.5"); positive unless `allow_zero`."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InvalidArgumentError(f"not an amount: {text!r} (a decimal number, e.g. 100 or 2.5)") from None
    if not value.is_finite() or value < 0 or (value == 0 and not allow_zero):
        raise InvalidArgumentError(f"amount must be {'' if allow_zero else 'positive and '}finite: {text}")
    return value


def amount(text: str | None) -> str | None:
    """A typer callback: `text` must be a positive decimal amount (kept as typed)."""
    if text is not None:
        decimal_amount(text)
    return text


def scaled(value: Decimal, decimals: int) -> int:
    """`value` in units of 10**-decimals; refuses finer amounts rather than rounding them away."""
    units = value.scaleb(decimals)
    if units != units.to_integral_value():
        raise InvalidArgumentError(f"amount {value} is finer than {decimals} decimals")
    return int(units)
