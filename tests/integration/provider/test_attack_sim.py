"""scripts/attack_sim.py's core (node.attacks) on the session's anvil: two of issue 11's attacks played
against three honest nodes, with the signs of the measured payoffs (docs/PROTOCOL.md, "Attacks played
against nodes"). The whole set runs in `scripts/attack_sim.py`; it takes minutes."""

import pytest
from provider_bench import Host, Network, deploy_network

from neurolink.devnet.anvil import Anvil
from node.attacks import play_all

pytestmark = pytest.mark.integration


def test_forced_noquorum_and_a_poisoned_job_do_not_pay(anvil: Anvil, host: Host) -> None:
    # Its own contracts: the attacks change the sortition width and count every stake in the draw.
    network: Network = deploy_network(anvil)
    forced, poisoned = play_all(network, host, ["forced-noquorum", "poisoned-job"])

    # Two puppets of three slots, two different junk digests: no quorum, and the honest revealer is
    # paid its share anyway, so the requester pays for the honest result (fee plus one share).
    assert forced.job_result == "failed: no quorum" and forced.attacker_slots == 2
    assert forced.attacker_profit < 0 and forced.honest_loss == 0 and not forced.pays
    # A job no node can compute settles as the canonical error record: every node paid, none slashed.
    assert poisoned.job_result == "settled" and poisoned.attacker_slots == 0
    assert poisoned.attacker_profit < 0 and poisoned.honest_loss == 0 and not poisoned.pays
