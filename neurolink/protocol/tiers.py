"""Hardware tiers: the names a job spec uses and the uint8 levels the contracts compare."""

from neurolink.errors import ConfigError

# A provider of level L serves every job asking for a level <= L. "any" admits CPU device slots.
TIERS: dict[str, int] = {"any": 0, "consumer": 1, "datacenter": 2, "frontier": 3}


def tier_level(name: str) -> int:
    """The on-chain level of tier `name`; ConfigError lists the known names."""
    try:
        return TIERS[name]
    except KeyError:
        raise ConfigError(f"unknown GPU tier {name!r}; known tiers: {', '.join(TIERS)}") from None
