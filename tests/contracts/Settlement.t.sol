// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ProtocolBase} from "./ProtocolBase.sol";
import {IJobMarket} from "../../contracts/interfaces/IJobMarket.sol";

/// @notice Fuzzed settlement: random k, quorum, payment, collateral and per-slot behaviour, checked
///         against an independent reference of the payout rules in docs/PROTOCOL.md.
contract SettlementFuzzTest is ProtocolBase {
    uint256 internal constant SILENT = 0; // claims, never commits
    uint256 internal constant COMMIT_ONLY = 1; // commits, never reveals
    // 2, 3, 4: reveals digest 1, 2 or 3.

    struct Outcome {
        bool settled;
        uint256 winningDigest;
        uint256 winners;
        uint256 reward; // per winner
        uint256 share; // per revealer when no quorum
        uint256 tip;
        uint256 toTreasury;
        uint256 refund;
        uint256 burned;
    }

    function _digest(uint256 action) internal pure returns (bytes32) {
        return bytes32(action - 1);
    }

    /// @dev The v2 payout rules (docs/PROTOCOL.md), written independently of the contract.
    function _expected(uint256[] memory actions, uint256 q, uint256 payment, uint256 collateral)
        internal
        pure
        returns (Outcome memory o)
    {
        uint256 k = actions.length;
        uint256[5] memory votes;
        uint256 revealers;
        for (uint256 i; i < k; ++i) {
            if (actions[i] >= 2) {
                ++votes[actions[i]];
                ++revealers;
            }
        }
        for (uint256 d = 2; d <= 4; ++d) {
            if (votes[d] >= q) (o.settled, o.winningDigest, o.winners) = (true, d, votes[d]);
        }
        uint256 fee = payment * 100 / 10_000;
        if (o.settled) {
            o.tip = fee / 2;
            uint256 pool = payment - fee;
            o.reward = pool / o.winners;
            o.toTreasury = fee - o.tip + pool - o.reward * o.winners;
            o.burned = (k - o.winners) * collateral;
        } else if (revealers == 0) {
            o.refund = payment;
            o.burned = k * collateral;
        } else {
            o.tip = fee / 2;
            o.share = (payment - fee) / k;
            o.refund = payment - fee - o.share * revealers;
            o.toTreasury = fee - o.tip;
            o.burned = (k - revealers) * collateral;
        }
    }

    function testFuzz_settle_matchesReference(
        uint256 seed,
        uint8 kSeed,
        uint8 qSeed,
        uint96 paymentSeed,
        uint96 collateralSeed
    ) public {
        uint8 k = uint8(bound(kSeed, 1, 16));
        if (k == 2) k = 3;
        uint8 q = k == 1 ? 1 : uint8(bound(qSeed, k / 2 + 1, k - 1));
        uint256 payment = bound(paymentSeed, 1, 5e25);
        uint256 collateral = bound(collateralSeed, 1 ether, PROVIDER_STAKE);
        uint256[] memory actions = new uint256[](k);
        for (uint256 i; i < k; ++i) {
            uint256 a = uint256(keccak256(abi.encode(seed, i))) % 5;
            actions[i] = k == 1 && a == COMMIT_ONLY ? SILENT : a; // k = 1 has no commit round
        }

        IJobMarket.JobParams memory p = _params(k, q);
        p.payment = payment;
        p.collateral = collateral;
        token.transfer(requester, payment);
        vm.prank(requester);
        uint256 jobId = market.createJob(p);
        vm.roll(block.number + 1);
        for (uint256 i; i < k; ++i) {
            _claim(jobId, providers[i]);
        }
        if (k > 1) {
            for (uint256 i; i < k; ++i) {
                if (actions[i] != SILENT) _commit(jobId, providers[i], _digest(actions[i] < 2 ? 2 : actions[i]));
            }
            vm.warp(_job(jobId).commitDeadline + 1);
        }
        address settler = address(this);
        for (uint256 i; i < k; ++i) {
            if (actions[i] >= 2) {
                _reveal(jobId, providers[i], _digest(actions[i]));
                if (_job(jobId).status != IJobMarket.Status.Open && settler == address(this)) settler = providers[i];
            }
        }
        if (_job(jobId).status == IJobMarket.Status.Open) {
            vm.warp(_job(jobId).revealDeadline + 1);
            market.settle(jobId);
        }

        Outcome memory o = _expected(actions, q, payment, collateral);
        IJobMarket.Job memory job = _job(jobId);
        assertEq(
            uint256(job.status), uint256(o.settled ? IJobMarket.Status.Settled : IJobMarket.Status.Failed), "status"
        );
        assertEq(market.claimable(treasury), o.toTreasury, "treasury");
        assertEq(market.claimable(requester), o.refund, "requester");
        assertEq(token.balanceOf(staking.BURN_ADDRESS()), o.burned, "burned");
        if (o.settled) assertEq(market.resultOf(jobId), _digest(o.winningDigest), "result");
        uint256 credited = o.toTreasury + o.refund;
        for (uint256 i; i < k; ++i) {
            address pr = providers[i];
            bool revealed = actions[i] >= 2;
            bool wins = o.settled && actions[i] == o.winningDigest;
            bool slashed = o.settled ? !wins : !revealed;
            uint256 pay = wins ? o.reward : (!o.settled && revealed ? o.share : 0);
            assertEq(market.claimable(pr), pay + (pr == settler ? o.tip : 0), "provider pay");
            assertEq(staking.stakeOf(pr), slashed ? PROVIDER_STAKE - collateral : PROVIDER_STAKE, "stake");
            assertEq(staking.freeStakeOf(pr), staking.stakeOf(pr), "nothing stays locked");
            credited += market.claimable(pr);
        }
        if (settler == address(this)) credited += market.claimable(address(this));
        assertEq(credited, payment, "exactly the payment is credited: slashes are no one's income");
        assertEq(token.balanceOf(address(market)), credited, "market holds exactly what it owes");
    }
}
