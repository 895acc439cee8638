"""Crash injection for recovery tests: NEUROLINK_CRASH_AT=<point> makes the daemon die like kill -9 there."""

import logging
import os

CRASH_ENV = "NEUROLINK_CRASH_AT"
# Where a crash can be injected; each sits where a real crash would hurt most.
POINTS = (
    "after-claim-sent",  # claim broadcast, receipt not seen, ledger still says claiming
    "after-claim",  # claim mined and recorded, compute not started
    "during-compute",  # job handed to the workers
    "after-commit-sent",  # commit broadcast, ledger still says committing
    "after-reveal-sent",  # reveal broadcast, ledger still says revealing
    "before-withdraw",  # earnings claimable, withdraw not sent
)

log = logging.getLogger(__name__)


def crash_point(point: str) -> None:
    """Exit at once with status 137 (what kill -9 gives) if $NEUROLINK_CRASH_AT names `point`."""
    if os.environ.get(CRASH_ENV) == point:
        log.warning("injected crash", extra={"point": point})
        for handler in logging.getLogger().handlers:
            handler.flush()
        os._exit(137)
