// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IJobMarket} from "../../contracts/interfaces/IJobMarket.sol";
import {IStaking} from "../../contracts/interfaces/IStaking.sol";
import {ProtocolBase} from "./ProtocolBase.sol";

/// @notice Verification modes (device classes, fingerprint tolerance) and escalation to a re-run.
contract VerificationTest is ProtocolBase {
    uint8 internal constant TOLERANCE = 24;
    bytes32 internal constant HONEST_FP = bytes32(uint256(0xF00D) << 128 | 0xBEEF);
    bytes32 internal constant RIGHT = keccak256("right");
    bytes32 internal constant WRONG = keccak256("wrong");

    // ------------------------------------------------------------------------------------- helpers

    function _tolerantParams(uint8 k, uint256 reserve) internal pure returns (IJobMarket.JobParams memory p) {
        p = _params(k, 0);
        p.verification = IJobMarket.Verification.Tolerant;
        p.tolerance = TOLERANCE;
        p.reserve = reserve;
    }

    function _createWith(IJobMarket.JobParams memory p) internal returns (uint256 jobId) {
        vm.prank(requester);
        jobId = market.createJob(p);
        vm.roll(block.number + 1);
    }

    /// @dev `bits` low bits of the honest fingerprint flipped.
    function _near(uint256 bits) internal pure returns (bytes32) {
        return HONEST_FP ^ bytes32((uint256(1) << bits) - 1);
    }

    function _commitFp(uint256 jobId, address p, bytes32 digest, bytes32 fp) internal {
        vm.prank(p);
        market.commit(jobId, keccak256(abi.encode(block.chainid, address(market), jobId, p, digest, fp, _salt(p))));
    }

    function _revealFp(uint256 jobId, address p, bytes32 digest, bytes32 fp) internal {
        vm.prank(p);
        market.reveal(jobId, digest, fp, _salt(p));
    }

    /// @dev Providers `from`.. claim, commit and reveal (digest, fingerprint) pairs in order.
    function _play(uint256 jobId, uint256 from, bytes32[] memory digests, bytes32[] memory fps) internal {
        for (uint256 i; i < digests.length; ++i) {
            _claim(jobId, providers[from + i]);
        }
        for (uint256 i; i < digests.length; ++i) {
            _commitFp(jobId, providers[from + i], digests[i], fps[i]);
        }
        for (uint256 i; i < digests.length; ++i) {
            _revealFp(jobId, providers[from + i], digests[i], fps[i]);
        }
    }

    function _pairs(bytes32 d0, bytes32 d1, bytes32 d2) internal pure returns (bytes32[] memory out) {
        out = new bytes32[](3);
        (out[0], out[1], out[2]) = (d0, d1, d2);
    }

    function _repeat(bytes32 value, uint256 n) internal pure returns (bytes32[] memory out) {
        out = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            out[i] = value;
        }
    }

    function _reserve(uint8 k) internal pure returns (uint256) {
        return PAYMENT * (2 * uint256(k) + 1) / k;
    }

    /// @dev What whoever concludes a job is tipped from its fee (the last revealer, in `_play`).
    function _tip() internal view returns (uint256) {
        return PAYMENT * market.feeBps() / 10_000 / 2;
    }

    function _setClass(address p, bytes32 deviceClass) internal {
        IStaking.Capabilities memory caps = _caps();
        caps.deviceClass = deviceClass;
        vm.prank(p);
        staking.updateCapabilities(caps);
    }

    /// @dev Everything the market holds is owed to someone: open escrow plus claimable balances.
    function _assertConserved(uint256 jobId, address[] memory accounts) internal view {
        uint256 owed;
        for (uint256 i; i < accounts.length; ++i) {
            owed += market.claimable(accounts[i]);
        }
        owed += market.claimable(requester) + market.claimable(treasury) + market.claimable(address(this));
        IJobMarket.Job memory job = _job(jobId);
        if (job.status == IJobMarket.Status.Open) owed += job.payment + job.reserve;
        assertEq(token.balanceOf(address(market)), owed, "market balance == escrow + claimable");
    }

    // ------------------------------------------------------------------------------------ creation

    function test_createJob_revertsOnToleranceForExact() public {
        IJobMarket.JobParams memory p = _params(3, 0);
        p.tolerance = 3;
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketInvalidTolerance.selector, 3, 0));
        vm.prank(requester);
        market.createJob(p);
    }

    function test_createJob_revertsOnToleranceOutOfRange() public {
        IJobMarket.JobParams memory p = _tolerantParams(3, 0);
        p.tolerance = 65;
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketInvalidTolerance.selector, 65, 64));
        vm.prank(requester);
        market.createJob(p);
        p.tolerance = 0;
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketInvalidTolerance.selector, 0, 64));
        vm.prank(requester);
        market.createJob(p);
    }

    function test_createJob_revertsOnClassForTolerant() public {
        IJobMarket.JobParams memory p = _tolerantParams(3, 0);
        p.deviceClass = CLASS_A;
        vm.expectRevert(IJobMarket.JobMarketClassNotAllowed.selector);
        vm.prank(requester);
        market.createJob(p);
    }

    function test_createJob_revertsOnReserveWithoutRoomForRerun() public {
        IJobMarket.JobParams memory p = _params(7, 0);
        p.reserve = 1_000 ether;
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketEscalationUnavailable.selector, 7));
        vm.prank(requester);
        market.createJob(p);
    }

    function test_createJob_revertsOnShortReserve() public {
        IJobMarket.JobParams memory p = _params(3, 0);
        p.reserve = _reserve(3) - 1;
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketInvalidReserve.selector, p.reserve, _reserve(3)));
        vm.prank(requester);
        market.createJob(p);
    }

    function test_createJob_escrowsPaymentAndReserve() public {
        IJobMarket.JobParams memory p = _tolerantParams(3, _reserve(3));
        uint256 before = token.balanceOf(requester);
        vm.expectEmit();
        emit IJobMarket.JobVerificationSet(1, IJobMarket.Verification.Tolerant, TOLERANCE, bytes32(0), _reserve(3));
        vm.prank(requester);
        market.createJob(p);
        assertEq(before - token.balanceOf(requester), PAYMENT + _reserve(3), "payment + reserve pulled");
        IJobMarket.Job memory job = _job(1);
        assertEq(uint8(job.verification), uint8(IJobMarket.Verification.Tolerant), "mode");
        assertEq(job.tolerance, TOLERANCE, "tolerance");
        assertEq(job.reserve, _reserve(3), "reserve");
        assertEq(job.slots, 3, "round-1 slots");
    }

    function test_cancel_refundsPaymentAndReserve() public {
        uint256 jobId = _createWith(_tolerantParams(3, _reserve(3)));
        vm.prank(requester);
        market.cancel(jobId);
        assertEq(market.claimable(requester), PAYMENT + _reserve(3), "all back");
    }

    // ------------------------------------------------------------------------------- device classes

    function test_claim_exactJobTakesTheFirstClaimersClass() public {
        uint256 jobId = _create(3);
        vm.expectEmit();
        emit IJobMarket.JobClassFixed(jobId, CLASS_A);
        _claim(jobId, providers[0]);
        assertEq(_job(jobId).deviceClass, CLASS_A, "fixed");
        _setClass(providers[1], keccak256("class B"));
        _claimReverts(
            jobId,
            providers[1],
            abi.encodeWithSelector(
                IJobMarket.JobMarketClassMismatch.selector, jobId, providers[1], keccak256("class B"), CLASS_A
            )
        );
        _claim(jobId, providers[2]);
    }

    function test_claim_exactJobNamingAClassAdmitsOnlyIt() public {
        IJobMarket.JobParams memory p = _params(3, 0);
        p.deviceClass = keccak256("class B");
        uint256 jobId = _createWith(p);
        _claimReverts(
            jobId,
            providers[0],
            abi.encodeWithSelector(
                IJobMarket.JobMarketClassMismatch.selector, jobId, providers[0], CLASS_A, keccak256("class B")
            )
        );
        _setClass(providers[0], keccak256("class B"));
        _claim(jobId, providers[0]);
    }

    function test_claim_exactJobRevertsWithoutClass() public {
        uint256 jobId = _create(3);
        _setClass(providers[0], bytes32(0));
        _claimReverts(jobId, providers[0], abi.encodeWithSelector(IJobMarket.JobMarketNoDeviceClass.selector, providers[0]));
    }

    function test_claim_tolerantJobMixesClasses() public {
        uint256 jobId = _createWith(_tolerantParams(3, 0));
        _setClass(providers[1], keccak256("class B"));
        _setClass(providers[2], bytes32(0));
        for (uint256 i; i < 3; ++i) {
            _claim(jobId, providers[i]);
        }
        assertTrue(_job(jobId).filled, "three classes fill one tolerant job");
    }

    // --------------------------------------------------------------------------- tolerant grouping

    function test_settle_tolerantPaysFingerprintsWithinTolerance() public {
        uint256 jobId = _createWith(_tolerantParams(3, 0));
        // Three classes, three different result bytes (digests), fingerprints 0..TOLERANCE bits apart.
        _play(
            jobId,
            0,
            _pairs(keccak256("a"), keccak256("b"), keccak256("c")),
            _pairs(HONEST_FP, _near(4), _near(TOLERANCE))
        );
        IJobMarket.Job memory job = _job(jobId);
        assertEq(uint8(job.status), uint8(IJobMarket.Status.Settled), "settled");
        assertEq(market.resultOf(jobId), keccak256("a"), "the centre's result");
        uint256 reward = (PAYMENT - PAYMENT * job.feeBps / 10_000) / 3;
        for (uint256 i; i < 3; ++i) {
            assertEq(market.claimable(providers[i]), reward + (i == 2 ? _tip() : 0), "every class paid");
        }
    }

    function test_settle_tolerantBurnsAFingerprintBeyondTolerance() public {
        uint256 jobId = _createWith(_tolerantParams(3, 0));
        uint256 stakeBefore = staking.stakeOf(providers[2]);
        _play(jobId, 0, _pairs(RIGHT, RIGHT, WRONG), _pairs(HONEST_FP, _near(2), _near(TOLERANCE + 10)));
        assertEq(uint8(_job(jobId).status), uint8(IJobMarket.Status.Settled), "settled by the vote");
        assertEq(market.claimable(providers[2]), _tip(), "outlier unpaid (tipped for concluding)");
        assertEq(stakeBefore - staking.stakeOf(providers[2]), COLLATERAL, "outlier burned");
    }

    function test_settle_tolerantComparesFingerprintsNotDigests() public {
        uint256 jobId = _createWith(_tolerantParams(3, 0));
        // A copied digest with a fingerprint of unrelated bytes loses: the fingerprint is what is compared.
        _play(jobId, 0, _pairs(RIGHT, keccak256("b"), RIGHT), _pairs(HONEST_FP, _near(1), ~HONEST_FP));
        assertEq(market.claimable(providers[2]), _tip(), "copied digest unpaid (tipped for concluding)");
        assertTrue(market.claimable(providers[1]) > 0, "other bytes, same result, paid");
    }

    function test_reveal_revertsOnAFingerprintItDidNotCommit() public {
        uint256 jobId = _createWith(_tolerantParams(3, 0));
        for (uint256 i; i < 3; ++i) {
            _claim(jobId, providers[i]);
            _commitFp(jobId, providers[i], RIGHT, HONEST_FP);
        }
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarket.JobMarketCommitmentMismatch.selector, jobId, providers[0])
        );
        _revealFp(jobId, providers[0], RIGHT, _near(1));
    }

    /// @dev The grouping rule against a reference written independently: bit-by-bit popcount, the largest
    ///      group centred on one reveal (first on ties), quorum floor(k/2) + 1.
    function testFuzz_settle_tolerantGroupingMatchesReference(uint256 seed, uint8 tolerance) public {
        tolerance = uint8(bound(tolerance, 1, 64));
        IJobMarket.JobParams memory p = _tolerantParams(5, 0);
        p.tolerance = tolerance;
        uint256 jobId = _createWith(p);
        bytes32[] memory fps = new bytes32[](5);
        bytes32[] memory digests = new bytes32[](5);
        for (uint256 i; i < 5; ++i) {
            // Flip a seeded number of low bits (0..79) of a seeded base out of three: near and far pairs.
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            bytes32 base = bytes32(uint256(keccak256(abi.encode(seed, r % 3))));
            fps[i] = base ^ bytes32((uint256(1) << ((r >> 8) % 80)) - 1);
            digests[i] = keccak256(abi.encode(i));
        }
        (uint256 centre, uint256 members) = _referenceGroup(fps, tolerance);
        _play(jobId, 0, digests, fps);
        IJobMarket.Job memory job = _job(jobId);
        if (members < 3) {
            assertEq(uint8(job.status), uint8(IJobMarket.Status.Failed), "no quorum");
            return;
        }
        assertEq(uint8(job.status), uint8(IJobMarket.Status.Settled), "settled");
        assertEq(market.resultOf(jobId), digests[centre], "centre");
        for (uint256 i; i < 5; ++i) {
            bool member = _bits(fps[i] ^ fps[centre]) <= tolerance;
            uint256 paid = market.claimable(providers[i]) - (i == 4 ? _tip() : 0);
            assertTrue((paid > 0) == member, "paid iff within tolerance of the centre");
        }
    }

    function _referenceGroup(bytes32[] memory fps, uint256 tolerance)
        internal
        pure
        returns (uint256 centre, uint256 members)
    {
        for (uint256 i; i < fps.length; ++i) {
            uint256 count;
            for (uint256 j; j < fps.length; ++j) {
                if (_bits(fps[i] ^ fps[j]) <= tolerance) ++count;
            }
            if (count > members) (centre, members) = (i, count);
        }
    }

    function _bits(bytes32 x) internal pure returns (uint256 n) {
        for (uint256 b; b < 256; ++b) {
            if (uint256(x) >> b & 1 == 1) ++n;
        }
    }

    function test_settle_hammingCountsAllBits() public {
        // Fingerprints that differ in every bit are 256 apart (the popcount's largest value).
        uint256 jobId = _createWith(_tolerantParams(3, 0));
        _play(jobId, 0, _pairs(RIGHT, RIGHT, RIGHT), _pairs(HONEST_FP, HONEST_FP, ~HONEST_FP));
        assertEq(market.claimable(providers[2]), _tip(), "complement is not within tolerance");
    }

    // ---------------------------------------------------------------------------------- escalation

    function _escalatedJob(bytes32[] memory digests, bytes32[] memory fps) internal returns (uint256 jobId) {
        jobId = _createWith(_tolerantParams(3, _reserve(3)));
        _play(jobId, 0, digests, fps);
    }

    function test_reveal_disagreementEscalatesToAFreshRerun() public {
        uint256 jobId = _createWith(_tolerantParams(3, _reserve(3)));
        for (uint256 i; i < 3; ++i) {
            _claim(jobId, providers[i]);
            _commitFp(jobId, providers[i], i == 2 ? WRONG : RIGHT, i == 2 ? ~HONEST_FP : HONEST_FP);
        }
        _revealFp(jobId, providers[0], RIGHT, HONEST_FP);
        _revealFp(jobId, providers[1], RIGHT, HONEST_FP);
        vm.expectEmit();
        emit IJobMarket.JobEscalated(
            jobId, 3, 7, uint40(block.timestamp + WINDOW), uint40(block.timestamp + 2 * WINDOW), uint40(block.timestamp + 3 * WINDOW)
        );
        _revealFp(jobId, providers[2], WRONG, ~HONEST_FP);
        IJobMarket.Job memory job = _job(jobId);
        assertEq(uint8(job.status), uint8(IJobMarket.Status.Open), "not settled");
        assertTrue(job.escalated, "escalated");
        assertEq(job.firstSlot, 3, "re-run after round 1");
        assertEq(job.slots, 7, "2k + 1");
        assertEq(job.claimed, 0, "re-run counts afresh");
        assertEq(uint8(market.phaseOf(jobId)), uint8(IJobMarket.Phase.Claiming), "claiming");
        // Round-1 providers cannot sit on the re-run, and round-1 slots are no longer claimable.
        vm.roll(block.number + 1);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketAlreadyClaimedBy.selector, jobId, providers[0]));
        vm.prank(providers[0]);
        market.claim(jobId, 3);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketInvalidSlot.selector, jobId, 0));
        vm.prank(providers[5]);
        market.claim(jobId, 0);
    }

    function test_settle_rerunDecidesAndBurnsTheLiar() public {
        uint256 jobId = _escalatedJob(_pairs(RIGHT, RIGHT, WRONG), _pairs(HONEST_FP, _near(3), ~HONEST_FP));
        vm.roll(block.number + 1);
        uint256 liarStake = staking.stakeOf(providers[2]);
        _play(jobId, 3, _repeat(RIGHT, 7), _repeat(_near(1), 7));
        IJobMarket.Job memory job = _job(jobId);
        assertEq(uint8(job.status), uint8(IJobMarket.Status.Settled), "settled by the re-run");
        uint256 pool = PAYMENT - PAYMENT * job.feeBps / 10_000;
        assertEq(market.claimable(providers[0]), pool / 2, "round-1 honest share the payment");
        assertEq(market.claimable(providers[1]), pool / 2, "round-1 honest share the payment");
        assertEq(market.claimable(providers[2]), 0, "liar unpaid");
        assertEq(liarStake - staking.stakeOf(providers[2]), COLLATERAL, "liar burned");
        for (uint256 i = 3; i < 10; ++i) {
            assertEq(market.claimable(providers[i]), _reserve(3) / 7 + (i == 9 ? _tip() : 0), "re-run paid");
            assertEq(staking.freeStakeOf(providers[i]), staking.stakeOf(providers[i]), "re-run unlocked");
        }
        assertEq(market.claimable(requester), _reserve(3) - 7 * (_reserve(3) / 7), "reserve dust back");
        _assertConserved(jobId, providers);
    }

    function test_settle_rerunOverturnsAColludingMajority() public {
        // Two colluders agree on a wrong result in round 1; the honest one dissents; the re-run sides with it.
        uint256 jobId = _escalatedJob(_pairs(WRONG, WRONG, RIGHT), _pairs(~HONEST_FP, ~HONEST_FP, HONEST_FP));
        vm.roll(block.number + 1);
        bytes32[] memory fps = _repeat(HONEST_FP, 7);
        bytes32[] memory digests = _repeat(RIGHT, 7);
        (fps[0], digests[0]) = (~HONEST_FP, WRONG); // a third colluder drawn into the re-run
        (fps[1], digests[1]) = (~HONEST_FP, WRONG);
        (fps[2], digests[2]) = (~HONEST_FP, WRONG);
        _play(jobId, 3, digests, fps);
        IJobMarket.Job memory job = _job(jobId);
        assertEq(uint8(job.status), uint8(IJobMarket.Status.Settled), "settled");
        assertEq(market.resultOf(jobId), RIGHT, "the honest result");
        uint256 pool = PAYMENT - PAYMENT * job.feeBps / 10_000;
        assertEq(market.claimable(providers[2]), pool, "the dissenter gets the whole round-1 pool");
        for (uint256 i; i < 6; ++i) {
            if (i == 2) continue;
            assertEq(market.claimable(providers[i]), 0, "colluders unpaid");
            assertEq(staking.stakeOf(providers[i]), PROVIDER_STAKE - COLLATERAL, "colluders burned");
        }
        _assertConserved(jobId, providers);
    }

    function test_cancel_revertsDuringRerun() public {
        uint256 jobId = _escalatedJob(_pairs(RIGHT, RIGHT, WRONG), _pairs(HONEST_FP, HONEST_FP, ~HONEST_FP));
        // The re-run has no claims yet, but round 1's collateral is locked: found by the invariant handler.
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketAlreadyClaimed.selector, jobId, 3));
        vm.prank(requester);
        market.cancel(jobId);
    }

    function test_settle_unfilledRerunFallsBackToTheVoteAndRefundsTheReserve() public {
        uint256 jobId = _escalatedJob(_pairs(RIGHT, RIGHT, WRONG), _pairs(HONEST_FP, HONEST_FP, ~HONEST_FP));
        vm.roll(block.number + 1);
        _claim(jobId, providers[3]);
        _claim(jobId, providers[4]);
        vm.warp(block.timestamp + WINDOW + 1);
        vm.expectEmit();
        emit IJobMarket.RerunUnfilled(jobId, 2);
        market.settle(jobId);
        IJobMarket.Job memory job = _job(jobId);
        assertEq(uint8(job.status), uint8(IJobMarket.Status.Settled), "round 1's vote");
        assertEq(market.claimable(requester), _reserve(3), "reserve back");
        assertEq(market.claimable(providers[2]), 0, "liar unpaid");
        assertEq(staking.stakeOf(providers[2]), PROVIDER_STAKE - COLLATERAL, "liar burned");
        assertEq(staking.freeStakeOf(providers[3]), PROVIDER_STAKE, "re-run claimer released unslashed");
        _assertConserved(jobId, providers);
    }

    function test_settle_rerunWithoutQuorumPaysEveryRevealer() public {
        uint256 jobId = _escalatedJob(_pairs(RIGHT, RIGHT, WRONG), _pairs(HONEST_FP, HONEST_FP, ~HONEST_FP));
        vm.roll(block.number + 1);
        // Re-run: 3 agree with round 1's majority, 3 with the dissent, 1 silent; quorum 4 is missed.
        uint256 escalatedAt = block.timestamp;
        for (uint256 i = 3; i < 10; ++i) {
            _claim(jobId, providers[i]);
        }
        for (uint256 i = 3; i < 9; ++i) {
            _commitFp(jobId, providers[i], i < 6 ? RIGHT : WRONG, i < 6 ? HONEST_FP : ~HONEST_FP);
        }
        vm.warp(escalatedAt + 2 * WINDOW + 1);
        for (uint256 i = 3; i < 9; ++i) {
            _revealFp(jobId, providers[i], i < 6 ? RIGHT : WRONG, i < 6 ? HONEST_FP : ~HONEST_FP);
        }
        IJobMarket.Job memory job = _job(jobId);
        assertEq(uint8(job.status), uint8(IJobMarket.Status.Failed), "no quorum");
        uint256 share = (PAYMENT - PAYMENT * job.feeBps / 10_000) / 3;
        assertEq(market.claimable(providers[0]), share, "round-1 revealer share");
        assertEq(market.claimable(providers[2]), share, "round-1 revealer share");
        assertEq(market.claimable(providers[3]), _reserve(3) / 7, "re-run revealer share");
        assertEq(staking.stakeOf(providers[9]), PROVIDER_STAKE - COLLATERAL, "silent re-run slot burned");
        _assertConserved(jobId, providers);
    }

    function test_settle_silentSlotWithAQuorumDoesNotEscalate() public {
        uint256 jobId = _createWith(_tolerantParams(3, _reserve(3)));
        for (uint256 i; i < 3; ++i) {
            _claim(jobId, providers[i]);
            _commitFp(jobId, providers[i], RIGHT, HONEST_FP);
        }
        _revealFp(jobId, providers[0], RIGHT, HONEST_FP);
        _revealFp(jobId, providers[1], RIGHT, HONEST_FP);
        vm.warp(block.timestamp + 3 * WINDOW + 1);
        market.settle(jobId);
        IJobMarket.Job memory job = _job(jobId);
        assertEq(uint8(job.status), uint8(IJobMarket.Status.Settled), "two agreeing reveals settle");
        assertTrue(!job.escalated, "silence is not dissent");
        assertEq(market.claimable(requester), _reserve(3), "reserve back");
    }

    function test_settle_exactDisagreementEscalatesToo() public {
        IJobMarket.JobParams memory p = _params(3, 0);
        p.reserve = _reserve(3);
        uint256 jobId = _createWith(p);
        for (uint256 i; i < 3; ++i) {
            _claim(jobId, providers[i]);
            _commit(jobId, providers[i], i == 0 ? WRONG : RIGHT);
        }
        _reveal(jobId, providers[0], WRONG);
        _reveal(jobId, providers[1], RIGHT);
        _reveal(jobId, providers[2], RIGHT);
        assertTrue(_job(jobId).escalated, "one wrong digest escalates an exact job");
        // The re-run stays within the class round 1 fixed.
        vm.roll(block.number + 1);
        _setClass(providers[3], keccak256("class B"));
        _claimReverts(
            jobId,
            providers[3],
            abi.encodeWithSelector(
                IJobMarket.JobMarketClassMismatch.selector, jobId, providers[3], keccak256("class B"), CLASS_A
            )
        );
    }
}
