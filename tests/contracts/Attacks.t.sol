// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ProtocolBase} from "./ProtocolBase.sol";
import {JobMarket} from "../../contracts/JobMarket.sol";
import {IJobMarket} from "../../contracts/interfaces/IJobMarket.sol";

/// @notice Creates a job and claims a slot of it in one transaction (the atomic create-and-claim).
contract AtomicClaimer {
    function createAndClaim(JobMarket market, IJobMarket.JobParams memory p, address puppet) external {
        uint256 jobId = market.createJob(p);
        // The requester's own claim is refused; a puppet's would need the seed, which does not exist yet.
        puppet;
        market.claim(jobId, 0);
    }
}

/// @notice Every attack of issue 11 as a regression test: each passes only when the attack fails.
///         The draw uses the deployment's width of 1 unless a test says otherwise.
contract AttacksTest is ProtocolBase {
    bytes32 internal constant RIGHT = bytes32(uint256(0xA));
    bytes32 internal constant JUNK = bytes32(uint256(0xB));
    /// @dev sha2-256 digest of the CID of a canonical error record (neurolink/protocol/errors_record).
    bytes32 internal constant ERROR_RESULT = bytes32(uint256(0xE));
    uint256 internal constant FEE = PAYMENT / 100;

    function setUp() public override {
        super.setUp();
        _width(1); // the deployment default; lifecycle tests below widen it explicitly
    }

    function _width(uint8 w) internal {
        vm.prank(owner);
        market.setSortitionWidth(w);
    }

    /// @dev Slots of `jobId` that `who` is drawn for now.
    function _drawn(uint256 jobId, address who) internal view returns (uint256 count) {
        uint256 k = _job(jobId).replicas;
        for (uint256 s; s < k; ++s) {
            if (market.isEligible(jobId, s, who)) ++count;
        }
    }

    /// @dev Try every free slot for each address; return how many were taken.
    function _grab(uint256 jobId, address[] memory addrs) internal returns (uint256 taken) {
        uint256 k = _job(jobId).replicas;
        for (uint256 a; a < addrs.length; ++a) {
            for (uint256 s; s < k; ++s) {
                vm.prank(addrs[a]);
                try market.claim(jobId, s) {
                    ++taken;
                    break;
                } catch {}
            }
        }
    }

    // ------------------------------------------------------------------- quorum capture

    function test_attack_atomicCreateAndClaim_reverts() public {
        AtomicClaimer attacker = new AtomicClaimer();
        token.transfer(address(attacker), PAYMENT);
        vm.prank(address(attacker));
        token.approve(address(market), type(uint256).max);
        // Even a registered, staked attacker contract cannot claim in the creation transaction.
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketSeedNotReady.selector, 1, block.number));
        attacker.createAndClaim(market, _params(3, 0), providers[0]);
    }

    function test_attack_claimInCreationBlock_reverts() public {
        vm.prank(requester);
        uint256 jobId = market.createJob(_params(3, 0));
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketSeedNotReady.selector, jobId, block.number));
        vm.prank(providers[0]);
        market.claim(jobId, 0);
    }

    /// @dev Puppets staked in the creation block (when the requester could know the seed) weigh nothing,
    ///      even with a width that makes every matured provider eligible.
    function test_attack_puppetsStakedAtCreation_areNeverDrawn() public {
        _width(255);
        address[] memory puppets = new address[](2);
        puppets[0] = address(0xBAD1);
        puppets[1] = address(0xBAD2);
        vm.prank(requester);
        uint256 jobId = market.createJob(_params(3, 0));
        _fundProvider(puppets[0], PROVIDER_STAKE);
        _fundProvider(puppets[1], PROVIDER_STAKE);
        vm.roll(block.number + 1);
        assertEq(_grab(jobId, puppets), 0, "no slot for fresh stake");
    }

    /// @dev The puppet quorum: a requester with two matured puppets (2 of 18 shares, f = 0.11) tries to
    ///      take two slots of each of 60 k = 3 jobs right after creation. The draw gives it the slots it is
    ///      drawn for, about f per slot, and a quorum (2 slots) in about 3f² of the jobs; first-come
    ///      capture gave it 100 %.
    function test_attack_puppetQuorum_capturesOnlyWhatTheDrawGives() public {
        address[] memory puppets = new address[](2);
        puppets[0] = address(0xBAD1);
        puppets[1] = address(0xBAD2);
        _fundProvider(puppets[0], PROVIDER_STAKE);
        _fundProvider(puppets[1], PROVIDER_STAKE);
        vm.roll(block.number + 1);
        uint256 captured;
        uint256 slots;
        for (uint256 j; j < 60; ++j) {
            uint256 jobId = _create(3);
            uint256 taken = _grab(jobId, puppets);
            slots += taken;
            if (taken >= 2) ++captured;
            vm.roll(block.number + 1);
        }
        // Expected 180 * 2/18 = 20 slots and 60 * 3 * (1/9)^2 ~ 2.2 captured jobs.
        assertLe(slots, 36, "slots about f per slot");
        assertLe(captured, 6, "quorum captured in a few jobs, not all");
    }

    /// @dev The all-slots bot: 10 % of the stake split over eight addresses, claiming every slot of
    ///      40 k = 3 jobs in the block after creation. It never takes all three.
    function test_attack_allSlotsBot_neverTakesEverySlot() public {
        address[] memory bots = new address[](8);
        for (uint256 i; i < 8; ++i) {
            bots[i] = address(uint160(0xB070 + i));
            _fundProvider(bots[i], 222 ether); // 8 x 222 of ~17,776 = 10 %
        }
        vm.roll(block.number + 1);
        uint256 full;
        uint256 slots;
        for (uint256 j; j < 40; ++j) {
            uint256 jobId = _create(3);
            uint256 taken = _grab(jobId, bots);
            slots += taken;
            if (taken == 3) ++full;
            vm.roll(block.number + 1);
        }
        assertEq(full, 0, "never all slots");
        assertLe(slots, 24, "about f of the 120 slots");
    }

    /// @dev Splitting stake over many addresses is drawn for a slot no more often than holding it in one.
    function test_attack_splittingStake_gainsNothing() public {
        address whole = address(0x5101);
        _fundProvider(whole, 800 ether);
        address[] memory parts = new address[](8);
        for (uint256 i; i < 8; ++i) {
            parts[i] = address(uint160(0x5200 + i));
            _fundProvider(parts[i], 100 ether);
        }
        vm.roll(block.number + 1);
        uint256 wholeDrawn;
        uint256 splitDrawn;
        for (uint256 j; j < 80; ++j) {
            uint256 jobId = _create(3);
            for (uint256 s; s < 3; ++s) {
                if (market.isEligible(jobId, s, whole)) ++wholeDrawn;
                bool any;
                for (uint256 i; i < 8; ++i) {
                    any = any || market.isEligible(jobId, s, parts[i]);
                }
                if (any) ++splitDrawn;
            }
        }
        // Both are ~ 240 * 800 / 16,800 ~ 11.4; the split one is a union of eight smaller draws (<=).
        assertLe(splitDrawn, wholeDrawn + 8, "split no better than whole");
        assertLe(wholeDrawn, 30, "whole drawn about f per slot");
    }

    function test_attack_requesterCannotHoldASlotOfItsOwnJob() public {
        _fundProvider(requester, PROVIDER_STAKE);
        _width(255);
        vm.roll(block.number + 1);
        uint256 jobId = _create(3);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketRequesterCannotClaim.selector, jobId));
        vm.prank(requester);
        market.claim(jobId, 0);
    }

    /// @dev Liveness: a slot nobody is drawn for at first becomes claimable as eligibility doubles over
    ///      the claim window; at its end every provider with 1/16 of the stake is eligible for every slot.
    function test_liveness_eligibilityWidensOverTheClaimWindow() public {
        uint256 jobId = _create(3);
        uint256 early;
        for (uint256 i; i < NUM_PROVIDERS; ++i) {
            early += _drawn(jobId, providers[i]);
        }
        vm.warp(_job(jobId).claimDeadline);
        uint256 late;
        for (uint256 i; i < NUM_PROVIDERS; ++i) {
            late += _drawn(jobId, providers[i]);
        }
        assertLe(early, 12, "about one eligible provider per slot at first");
        assertEq(late, 3 * NUM_PROVIDERS, "everyone eligible at the end");
    }

    /// @dev Liveness: a job that does not fill fails with every token back, nobody slashed.
    function test_liveness_unfilledJobReturnsEveryToken() public {
        _width(255);
        uint256 jobId = _create(3);
        _claim(jobId, providers[0]);
        vm.warp(_job(jobId).claimDeadline + 1);
        market.settle(jobId);
        assertEq(market.claimable(requester), PAYMENT, "payment back");
        assertEq(staking.freeStakeOf(providers[0]), PROVIDER_STAKE, "collateral back");
    }

    /// @dev The seed survives blockhash's 256-block horizon: claims keep working (on a later seed).
    function test_liveness_claimsWorkPast256Blocks() public {
        _width(255);
        uint256 jobId = _create(3);
        vm.roll(block.number + 600);
        assertTrue(market.seedOf(jobId) != bytes32(0), "seed");
        _claim(jobId, providers[0]);
        assertEq(_job(jobId).claimed, 1, "claimed");
    }

    // ------------------------------------------------------------------------ no free results

    /// @dev Forced NoQuorum with k - q + 1 puppets: the honest revealer is paid its full share and
    ///      keeps its collateral, so the requester's side pays for the honest result it sees.
    function test_attack_forcedNoQuorum_paysTheHonestRevealer() public {
        _width(255);
        uint256 jobId = _create(3); // q = 2: two puppets force NoQuorum
        address honest = providers[0];
        address puppetA = providers[1];
        address puppetB = providers[2];
        _claim(jobId, honest);
        _claim(jobId, puppetA);
        _claim(jobId, puppetB);
        _commit(jobId, honest, RIGHT);
        _commit(jobId, puppetA, JUNK);
        _commit(jobId, puppetB, bytes32(uint256(0xC)));
        _reveal(jobId, honest, RIGHT);
        _reveal(jobId, puppetA, JUNK);
        _reveal(jobId, puppetB, bytes32(uint256(0xC)));
        assertEq(uint256(_job(jobId).status), uint256(IJobMarket.Status.Failed), "no quorum");
        uint256 share = (PAYMENT - FEE) / 3;
        assertEq(market.claimable(honest), share, "honest paid its share");
        assertEq(staking.freeStakeOf(honest), PROVIDER_STAKE, "honest collateral intact");
        uint256 attackerBack = market.claimable(requester) + market.claimable(puppetA) + market.claimable(puppetB);
        assertLe(attackerBack + share, PAYMENT, "attacker paid the honest share");
        assertGe(PAYMENT - attackerBack, share, "forcing NoQuorum cost the honest result's price");
    }

    /// @dev q = k is no longer accepted, so one puppet cannot force NoQuorum (k = 3 and k = 5).
    function test_attack_quorumEqualsReplicas_isRejected() public {
        vm.startPrank(requester);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketInvalidQuorum.selector, 5, 5));
        market.createJob(_params(5, 5));
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketInvalidQuorum.selector, 3, 3));
        market.createJob(_params(3, 3));
        vm.stopPrank();
    }

    /// @dev One deviator in a full k = 3 job cannot block it: the honest majority wins and the
    ///      deviator's collateral is burned (nobody receives it).
    function test_attack_oneDeviator_isOutvotedAndBurned() public {
        _width(255);
        uint256 jobId = _create(3);
        for (uint256 i; i < 3; ++i) {
            _claim(jobId, providers[i]);
            _commit(jobId, providers[i], i == 2 ? JUNK : RIGHT);
        }
        for (uint256 i; i < 3; ++i) {
            _reveal(jobId, providers[i], i == 2 ? JUNK : RIGHT);
        }
        assertEq(market.resultOf(jobId), RIGHT, "honest result wins");
        assertEq(token.balanceOf(staking.BURN_ADDRESS()), COLLATERAL, "deviator burned");
        assertEq(market.claimable(providers[0]), (PAYMENT - FEE) / 2, "winner gets no slash bonus");
        assertEq(market.claimable(requester), 0, "requester pays");
    }

    /// @dev The one-deviator partial fill: with n < k slots the job never opens reveals; it fails with
    ///      every token back at the claim deadline, so no digest goes public and nobody is slashed.
    function test_attack_partialFillDeviator_cannotBlockForFree() public {
        _width(255);
        uint256 jobId = _create(3);
        _claim(jobId, providers[0]);
        _claim(jobId, providers[1]);
        _commit(jobId, providers[0], RIGHT);
        _commit(jobId, providers[1], JUNK);
        vm.warp(_job(jobId).commitDeadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketRevealNotOpen.selector, jobId));
        _reveal(jobId, providers[0], RIGHT);
        market.settle(jobId);
        assertEq(market.claimable(requester), PAYMENT, "refund");
        assertEq(staking.freeStakeOf(providers[0]), PROVIDER_STAKE, "honest whole");
        assertEq(market.getSlots(jobId)[0].digest, bytes32(0), "no digest public");
    }

    // --------------------------------------------------------------------------------- copying

    /// @dev A commitment is bound to chain, market and job: one copied from another job does not open.
    function test_attack_copiedCommitmentFromAnotherJob_doesNotOpen() public {
        _width(255);
        uint256 first = _create(3);
        uint256 second = _create(3);
        _claim(first, providers[0]);
        _claim(second, providers[1]);
        bytes32 fromFirst = _commitment(first, providers[1], RIGHT);
        vm.prank(providers[1]);
        market.commit(second, fromFirst);
        _claim(second, providers[2]);
        _claim(second, providers[3]);
        _commit(second, providers[2], RIGHT);
        _commit(second, providers[3], RIGHT);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketCommitmentMismatch.selector, second, providers[1]));
        _reveal(second, providers[1], RIGHT);
    }

    function test_commitmentOf_bindsChainAndMarket() public {
        bytes32 here = market.commitmentOf(1, providers[0], RIGHT, bytes32(0), bytes32(0));
        JobMarket other = new JobMarket(token, staking, owner, treasury);
        assertTrue(other.commitmentOf(1, providers[0], RIGHT, bytes32(0), bytes32(0)) != here, "other market");
        vm.chainId(1);
        assertTrue(market.commitmentOf(1, providers[0], RIGHT, bytes32(0), bytes32(0)) != here, "other chain");
    }

    // --------------------------------------------------------------------- failures are results

    /// @dev A poisoned job (an input no honest provider can compute) settles as an error result: every
    ///      provider reveals the canonical error record's digest, all are paid, nobody is slashed.
    function test_attack_poisonedJob_settlesAsErrorResult() public {
        _width(255);
        uint256 jobId = _create(3);
        for (uint256 i; i < 3; ++i) {
            _claim(jobId, providers[i]);
            _commit(jobId, providers[i], ERROR_RESULT);
        }
        for (uint256 i; i < 3; ++i) {
            _reveal(jobId, providers[i], ERROR_RESULT);
        }
        assertEq(market.resultOf(jobId), ERROR_RESULT, "requester receives the error");
        for (uint256 i; i < 3; ++i) {
            assertGe(market.claimable(providers[i]), (PAYMENT - FEE) / 3, "paid");
            assertEq(staking.stakeOf(providers[i]), PROVIDER_STAKE, "not slashed");
        }
        assertEq(token.balanceOf(staking.BURN_ADDRESS()), 0, "nothing burned");
    }

    /// @dev A machine failure gives the slot back: collateral minus 10 % (burned), the slot re-opens to
    ///      the draw, and the job still fills and settles.
    function test_abandon_returnsCollateralLessPenaltyAndReopensSlot() public {
        _width(255);
        uint256 jobId = _create(3);
        for (uint256 i; i < 3; ++i) {
            _claim(jobId, providers[i]);
        }
        uint8 slot = uint8(_freeEligibleSlotOf(jobId, providers[1]));
        vm.expectEmit();
        emit IJobMarket.JobAbandoned(jobId, providers[1], slot, COLLATERAL / 10);
        vm.prank(providers[1]);
        market.abandon(jobId);
        assertEq(staking.stakeOf(providers[1]), PROVIDER_STAKE - COLLATERAL / 10, "penalty");
        assertEq(staking.freeStakeOf(providers[1]), PROVIDER_STAKE - COLLATERAL / 10, "rest unlocked");
        assertEq(token.balanceOf(staking.BURN_ADDRESS()), COLLATERAL / 10, "penalty burned");
        vm.warp(_job(jobId).claimDeadline + 1); // re-opened slots stay claimable after the claim window
        _claim(jobId, providers[5]);
        for (uint256 i; i < 3; ++i) {
            address p = i == 1 ? providers[5] : providers[i];
            _commit(jobId, p, RIGHT);
        }
        for (uint256 i; i < 3; ++i) {
            _reveal(jobId, i == 1 ? providers[5] : providers[i], RIGHT);
        }
        assertEq(market.resultOf(jobId), RIGHT, "settled");
    }

    function test_abandon_revertsAfterCommit() public {
        _width(255);
        uint256 jobId = _create(3);
        _claim(jobId, providers[0]);
        _commit(jobId, providers[0], RIGHT);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketAlreadyCommitted.selector, jobId, providers[0]));
        vm.prank(providers[0]);
        market.abandon(jobId);
    }

    function _freeEligibleSlotOf(uint256 jobId, address p) internal view returns (uint256) {
        IJobMarket.SlotView[] memory slots = market.getSlots(jobId);
        for (uint256 i; i < slots.length; ++i) {
            if (slots[i].provider == p) return i;
        }
        return type(uint256).max;
    }

    // ------------------------------------------------------------------------------ small ones

    function test_timestamps_pastUint32() public {
        vm.warp(uint256(type(uint32).max) + 10);
        uint256 jobId = _create(1);
        assertEq(_job(jobId).claimDeadline, uint256(type(uint32).max) + 10 + WINDOW, "no wrap in 2106");
    }

    function test_settlement_tipsTheLastRevealer() public {
        _width(255);
        uint256 jobId = _create(3);
        for (uint256 i; i < 3; ++i) {
            _claim(jobId, providers[i]);
            _commit(jobId, providers[i], RIGHT);
        }
        _reveal(jobId, providers[0], RIGHT);
        _reveal(jobId, providers[1], RIGHT);
        _reveal(jobId, providers[2], RIGHT); // pays the settlement's gas
        assertEq(market.claimable(providers[2]), market.claimable(providers[0]) + FEE / 2, "tipped");
    }
}
