// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ProtocolBase} from "./ProtocolBase.sol";
import {JobMarket} from "../../contracts/JobMarket.sol";
import {NeuroToken} from "../../contracts/NeuroToken.sol";
import {IJobMarket} from "../../contracts/interfaces/IJobMarket.sol";
import {IStaking} from "../../contracts/interfaces/IStaking.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

contract JobMarketTest is ProtocolBase {
    bytes32 internal constant RIGHT = bytes32(uint256(0xA));
    bytes32 internal constant WRONG = bytes32(uint256(0xB));

    uint256 internal constant FEE = PAYMENT / 100; // default 100 bps

    // ------------------------------------------------------------------------------ constructor

    function test_constructor_revertsOnZeroAddresses() public {
        vm.expectRevert(IJobMarket.JobMarketZeroAddress.selector);
        new JobMarket(IERC20(address(0)), staking, owner, treasury);
        vm.expectRevert(IJobMarket.JobMarketZeroAddress.selector);
        new JobMarket(token, IStaking(address(0)), owner, treasury);
        vm.expectRevert(IJobMarket.JobMarketZeroAddress.selector);
        new JobMarket(token, staking, owner, address(0));
    }

    // -------------------------------------------------------------------------------- createJob

    function test_createJob_escrowsPaymentAndStoresJob() public {
        IJobMarket.JobParams memory p = _params(3, 0);
        uint40 t = uint40(block.timestamp);
        vm.expectEmit();
        emit IJobMarket.JobCreated(
            1,
            requester,
            p.specDigest,
            PAYMENT,
            3,
            2,
            COLLATERAL,
            p.requirements,
            100,
            t + WINDOW,
            t + 2 * WINDOW,
            t + 3 * WINDOW
        );
        vm.prank(requester);
        uint256 jobId = market.createJob(p);
        assertEq(jobId, 1, "first id");
        assertEq(market.nextJobId(), 2, "next id");
        assertEq(token.balanceOf(address(market)), PAYMENT, "escrow");
        IJobMarket.Job memory job = _job(jobId);
        assertEq(job.requester, requester, "requester");
        assertEq(job.payment, PAYMENT, "payment");
        assertEq(job.collateral, COLLATERAL, "collateral");
        assertEq(job.replicas, 3, "k");
        assertEq(job.quorum, 2, "default quorum");
        assertEq(uint256(job.status), uint256(IJobMarket.Status.Open), "status");
        assertEq(job.requirements.gpuCount, 1, "gpus");
        assertEq(job.requirements.vramMb, 16_384, "vram");
        assertEq(job.requirements.tier, 1, "tier");
        assertEq(job.requirements.maxGpuSeconds, 3_600, "gpu seconds");
        assertEq(job.feeBps, 100, "fee snapshot");
        assertEq(job.specDigest, p.specDigest, "spec");
        assertEq(job.revealDeadline, t + 3 * WINDOW, "reveal deadline");
        assertEq(job.createdBlock, block.number, "seed block");
        assertEq(job.feeRecipient, treasury, "fee recipient");
        assertTrue(!job.filled, "not filled");
        assertEq(uint256(market.phaseOf(jobId)), uint256(IJobMarket.Phase.Claiming), "phase");
    }

    function test_createJob_acceptsExplicitQuorum() public {
        vm.prank(requester);
        uint256 jobId = market.createJob(_params(5, 4));
        assertEq(_job(jobId).quorum, 4, "quorum");
    }

    function test_createJob_revertsOnZeroSpecDigest() public {
        IJobMarket.JobParams memory p = _params(1, 0);
        p.specDigest = bytes32(0);
        vm.expectRevert(IJobMarket.JobMarketZeroSpecDigest.selector);
        vm.prank(requester);
        market.createJob(p);
    }

    function test_createJob_revertsOnInvalidPayment() public {
        IJobMarket.JobParams memory p = _params(1, 0);
        p.payment = 0;
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketInvalidPayment.selector, 0));
        vm.prank(requester);
        market.createJob(p);
        p.payment = uint256(type(uint96).max) + 1;
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketInvalidPayment.selector, p.payment));
        vm.prank(requester);
        market.createJob(p);
    }

    function test_createJob_revertsOnInvalidCollateral() public {
        IJobMarket.JobParams memory p = _params(1, 0);
        p.collateral = uint256(type(uint96).max) + 1;
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketInvalidCollateral.selector, p.collateral, 1 ether));
        vm.prank(requester);
        market.createJob(p);
        // No free squatting: a slot costs at least the minimum collateral.
        p.collateral = 0;
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketInvalidCollateral.selector, 0, 1 ether));
        vm.prank(requester);
        market.createJob(p);
    }

    function test_createJob_revertsOnInvalidReplicas() public {
        vm.startPrank(requester);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketInvalidReplicas.selector, 0));
        market.createJob(_params(0, 0));
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketInvalidReplicas.selector, 17));
        market.createJob(_params(17, 0));
        // Two replicas: one deviator always forces NoQuorum, and nobody can tell which one lied.
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketInvalidReplicas.selector, 2));
        market.createJob(_params(2, 0));
        vm.stopPrank();
    }

    function test_createJob_revertsOnInvalidQuorum() public {
        vm.startPrank(requester);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketInvalidQuorum.selector, 2, 4));
        market.createJob(_params(4, 2));
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketInvalidQuorum.selector, 4, 3));
        market.createJob(_params(3, 4));
        // q = k: one puppet would force NoQuorum (bounded to k - 1 for k >= 3).
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketInvalidQuorum.selector, 3, 3));
        market.createJob(_params(3, 3));
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketInvalidQuorum.selector, 5, 5));
        market.createJob(_params(5, 5));
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketInvalidQuorum.selector, 2, 1));
        market.createJob(_params(1, 2));
        vm.stopPrank();
    }

    function test_createJob_revertsOnInvalidWindow() public {
        IJobMarket.JobParams memory p = _params(1, 0);
        p.commitWindow = 4 minutes;
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarket.JobMarketInvalidWindow.selector, 4 minutes, 5 minutes, 7 days)
        );
        vm.prank(requester);
        market.createJob(p);
        p.commitWindow = WINDOW;
        p.revealWindow = 7 days + 1;
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarket.JobMarketInvalidWindow.selector, 7 days + 1, 5 minutes, 7 days)
        );
        vm.prank(requester);
        market.createJob(p);
    }

    function test_createJob_revertsWhenPaused() public {
        vm.prank(owner);
        market.pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(requester);
        market.createJob(_params(1, 0));
    }

    /// @dev createJob packs the record with shifts: every field must read back exactly, at its widest.
    function testFuzz_createJob_storesEveryFieldExactly(
        uint96 payment,
        uint96 collateral,
        uint8 kSeed,
        uint8 qSeed,
        IJobMarket.Requirements memory req,
        uint32 claimWindow,
        uint32 commitWindow,
        uint32 revealWindow
    ) public {
        NeuroToken big = new NeuroToken(type(uint128).max);
        JobMarket m = new JobMarket(big, staking, owner, treasury);
        big.approve(address(m), type(uint256).max);
        uint8 k = uint8(bound(kSeed, 1, 15));
        if (k == 2) k = 16;
        IJobMarket.JobParams memory p = IJobMarket.JobParams({
            specDigest: keccak256(abi.encode(payment, collateral)),
            payment: bound(payment, 1, type(uint96).max),
            replicas: k,
            quorum: k == 1 ? 1 : uint8(bound(qSeed, k / 2 + 1, k - 1)),
            collateral: bound(collateral, 1 ether, type(uint96).max),
            requirements: req,
            claimWindow: uint32(bound(claimWindow, 5 minutes, 7 days)),
            commitWindow: uint32(bound(commitWindow, 5 minutes, 7 days)),
            revealWindow: uint32(bound(revealWindow, 5 minutes, 7 days)),
            verification: IJobMarket.Verification.Exact,
            tolerance: 0,
            deviceClass: bytes32(0),
            reserve: 0
        });
        uint256 jobId = m.createJob(p);
        IJobMarket.Job memory job = m.getJob(jobId);
        assertEq(job.requester, address(this), "requester");
        assertEq(job.specDigest, p.specDigest, "spec");
        assertEq(job.payment, p.payment, "payment");
        assertEq(job.collateral, p.collateral, "collateral");
        assertEq(job.replicas, k, "k");
        assertEq(job.quorum, p.quorum, "q");
        assertEq(uint256(job.status), uint256(IJobMarket.Status.Open), "status");
        assertEq(job.claimed + job.committed + job.revealed, 0, "counters");
        assertEq(job.feeBps, 100, "fee");
        assertEq(job.requirements.gpuCount, req.gpuCount, "gpus");
        assertEq(job.requirements.vramMb, req.vramMb, "vram");
        assertEq(job.requirements.tier, req.tier, "tier");
        assertEq(job.requirements.maxGpuSeconds, req.maxGpuSeconds, "gpu seconds");
        assertEq(job.claimDeadline, block.timestamp + p.claimWindow, "claim deadline");
        assertEq(job.commitDeadline, job.claimDeadline + p.commitWindow, "commit deadline");
        assertEq(job.revealDeadline, job.commitDeadline + p.revealWindow, "reveal deadline");
        assertEq(m.getSlots(jobId).length, k, "k free slots");
        assertEq(m.getSlots(jobId)[k - 1].provider, address(0), "free");
        assertEq(job.createdBlock, block.number, "seed block");
        assertEq(m.nextJobId(), jobId + 1, "next id");
    }

    function test_createJob_revertsWithoutAllowance() public {
        vm.prank(requester);
        token.approve(address(market), 0);
        vm.expectRevert();
        vm.prank(requester);
        market.createJob(_params(1, 0));
    }

    // --------------------------------------------------------------------- createJobWithPermit

    function _permitSig(uint256 key, uint256 value, uint256 deadline)
        internal
        view
        returns (uint8 v, bytes32 r, bytes32 s)
    {
        address holder = vm.addr(key);
        bytes32 typeHash =
            keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");
        bytes32 structHash =
            keccak256(abi.encode(typeHash, holder, address(market), value, token.nonces(holder), deadline));
        return vm.sign(key, keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash)));
    }

    function test_createJobWithPermit_escrowsWithoutApproval() public {
        uint256 key = 0xC0FFEE;
        address holder = vm.addr(key);
        token.transfer(holder, PAYMENT);
        (uint8 v, bytes32 r, bytes32 s) = _permitSig(key, PAYMENT, block.timestamp);
        vm.prank(holder);
        uint256 jobId = market.createJobWithPermit(_params(1, 0), block.timestamp, v, r, s);
        assertEq(_job(jobId).requester, holder, "requester");
        assertEq(token.balanceOf(holder), 0, "paid");
        assertEq(token.balanceOf(address(market)), PAYMENT, "escrow");
    }

    function test_createJobWithPermit_survivesFrontRunPermit() public {
        uint256 key = 0xC0FFEE;
        address holder = vm.addr(key);
        token.transfer(holder, PAYMENT);
        (uint8 v, bytes32 r, bytes32 s) = _permitSig(key, PAYMENT, block.timestamp);
        token.permit(holder, address(market), PAYMENT, block.timestamp, v, r, s); // someone else submits it
        vm.prank(holder);
        market.createJobWithPermit(_params(1, 0), block.timestamp, v, r, s);
        assertEq(token.balanceOf(address(market)), PAYMENT, "escrow");
    }

    function test_createJobWithPermit_revertsWithBadSignatureAndNoAllowance() public {
        uint256 key = 0xC0FFEE;
        address holder = vm.addr(key);
        token.transfer(holder, PAYMENT);
        (uint8 v, bytes32 r, bytes32 s) = _permitSig(key, PAYMENT - 1, block.timestamp);
        vm.expectRevert();
        vm.prank(holder);
        market.createJobWithPermit(_params(1, 0), block.timestamp, v, r, s);
    }

    // ----------------------------------------------------------------------------------- cancel

    function test_cancel_refundsRequester() public {
        uint256 jobId = _create(3);
        vm.expectEmit();
        emit IJobMarket.JobCancelled(jobId);
        vm.prank(requester);
        market.cancel(jobId);
        assertEq(market.claimable(requester), PAYMENT, "refund");
        assertEq(uint256(market.phaseOf(jobId)), uint256(IJobMarket.Phase.Cancelled), "phase");
    }

    function test_cancel_revertsForOthers() public {
        uint256 jobId = _create(3);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketNotRequester.selector, jobId, providers[0]));
        vm.prank(providers[0]);
        market.cancel(jobId);
    }

    function test_cancel_revertsAfterClaim() public {
        uint256 jobId = _create(3);
        _claim(jobId, providers[0]);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketAlreadyClaimed.selector, jobId, 1));
        vm.prank(requester);
        market.cancel(jobId);
    }

    function test_cancel_revertsOnUnknownJob() public {
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketUnknownJob.selector, 42));
        vm.prank(requester);
        market.cancel(42);
    }

    function test_cancel_revertsTheSecondTime() public {
        uint256 jobId = _create(3);
        vm.startPrank(requester);
        market.cancel(jobId);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarket.JobMarketJobClosed.selector, jobId, IJobMarket.Status.Cancelled)
        );
        market.cancel(jobId);
        vm.stopPrank();
    }

    // ------------------------------------------------------------------------------------ claim

    function test_claim_locksCollateralAndTakesSlot() public {
        uint256 jobId = _create(3);
        vm.expectEmit();
        emit IJobMarket.JobClaimed(jobId, providers[0], 0);
        _claim(jobId, providers[0]);
        _claim(jobId, providers[1]);
        assertEq(staking.freeStakeOf(providers[0]), PROVIDER_STAKE - COLLATERAL, "locked");
        IJobMarket.SlotView[] memory slots = market.getSlots(jobId);
        assertEq(slots.length, 3, "slots");
        assertEq(slots[2].provider, address(0), "slot 2 free");
        assertEq(slots[1].provider, providers[1], "slot 1");
        assertEq(_job(jobId).claimed, 2, "claimed");
    }

    function test_claim_revertsAfterClaimDeadline() public {
        uint256 jobId = _create(3);
        uint256 deadline = block.timestamp + WINDOW;
        vm.warp(deadline + 1);
        _claimReverts(
            jobId, providers[0], abi.encodeWithSelector(IJobMarket.JobMarketClaimClosed.selector, jobId, deadline)
        );
    }

    function test_claim_revertsWhenSlotTaken() public {
        uint256 jobId = _claimedJob(3);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketSlotTaken.selector, jobId, 1));
        vm.prank(providers[5]);
        market.claim(jobId, 1);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketInvalidSlot.selector, jobId, 3));
        vm.prank(providers[5]);
        market.claim(jobId, 3);
    }

    function test_claim_revertsOnSecondSlot() public {
        uint256 jobId = _create(3);
        _claim(jobId, providers[0]);
        _claimReverts(
            jobId,
            providers[0],
            abi.encodeWithSelector(IJobMarket.JobMarketAlreadyClaimedBy.selector, jobId, providers[0])
        );
    }

    function test_claim_revertsOnSecondSlotBeyondTheFirst() public {
        uint256 jobId = _create(4);
        _claim(jobId, providers[0]);
        _claim(jobId, providers[1]);
        _claim(jobId, providers[2]);
        _claimReverts(
            jobId,
            providers[2],
            abi.encodeWithSelector(IJobMarket.JobMarketAlreadyClaimedBy.selector, jobId, providers[2])
        );
    }

    function test_claim_revertsOnSecondSlotBeyondTheRecord() public {
        uint256 jobId = _create(16);
        for (uint256 i; i < 9; ++i) {
            _claim(jobId, providers[i]);
        }
        _claimReverts(
            jobId,
            providers[6],
            abi.encodeWithSelector(IJobMarket.JobMarketAlreadyClaimedBy.selector, jobId, providers[6])
        );
        _claimReverts(
            jobId,
            providers[1],
            abi.encodeWithSelector(IJobMarket.JobMarketAlreadyClaimedBy.selector, jobId, providers[1])
        );
    }

    /// @dev Providers are stored as ids (the first four slots in the record, the rest beside it):
    ///      every slot must map back to its provider, in any job and claim order.
    function test_claim_keepsEveryProviderInClaimOrder() public {
        uint256 first = _create(16);
        uint256 second = _create(16);
        for (uint256 i; i < 16; ++i) {
            _claim(first, providers[i]);
            _claim(second, providers[15 - i]); // ids were handed out in the first job's order
        }
        IJobMarket.SlotView[] memory a = market.getSlots(first);
        IJobMarket.SlotView[] memory b = market.getSlots(second);
        assertEq(a.length, 16, "slots");
        for (uint256 i; i < 16; ++i) {
            assertEq(a[i].provider, providers[i], "first job");
            assertEq(b[i].provider, providers[15 - i], "second job");
        }
        // The last slot, kept outside the record, commits and reveals like slot 0.
        _commit(second, providers[0], RIGHT);
        vm.warp(_job(second).commitDeadline + 1);
        _reveal(second, providers[0], RIGHT);
        assertEq(market.getSlots(second)[15].digest, RIGHT, "digest in slot 15");
    }

    function test_claim_revertsForRequester() public {
        _fundProvider(requester, 100 ether);
        uint256 jobId = _create(3);
        _claimReverts(
            jobId, requester, abi.encodeWithSelector(IJobMarket.JobMarketRequesterCannotClaim.selector, jobId)
        );
    }

    function test_claim_revertsWhenPaused() public {
        uint256 jobId = _create(3);
        vm.prank(owner);
        market.pause();
        _claimReverts(jobId, providers[0], abi.encodeWithSelector(Pausable.EnforcedPause.selector));
    }

    function test_claim_revertsForIneligibleProvider() public {
        uint256 jobId = _create(3);
        address stranger = address(0x5757);
        _claimReverts(
            jobId, stranger, abi.encodeWithSelector(IJobMarket.JobMarketNotEligible.selector, jobId, 0, stranger)
        );

        IJobMarket.JobParams memory p = _params(1, 0);
        p.requirements.tier = 3;
        vm.prank(requester);
        uint256 bigJob = market.createJob(p);
        vm.roll(_job(bigJob).createdBlock + 1);
        _claimReverts(
            bigJob, providers[0], abi.encodeWithSelector(IStaking.StakingCapabilityMismatch.selector, providers[0])
        );

        p = _params(1, 0);
        p.collateral = PROVIDER_STAKE + 1;
        vm.prank(requester);
        uint256 richJob = market.createJob(p);
        vm.roll(_job(richJob).createdBlock + 1); // via-IR may reuse an earlier block.number read
        _claimReverts(
            richJob,
            providers[0],
            abi.encodeWithSelector(
                IStaking.StakingInsufficientFreeStake.selector, providers[0], PROVIDER_STAKE, PROVIDER_STAKE + 1
            )
        );
    }

    // ----------------------------------------------------------------------------------- commit

    function test_commit_storesCommitment() public {
        uint256 jobId = _claimedJob(3);
        vm.expectEmit();
        emit IJobMarket.ResultCommitted(jobId, providers[1], _commitment(jobId, providers[1], RIGHT));
        _commit(jobId, providers[1], RIGHT);
        IJobMarket.SlotView[] memory slots = market.getSlots(jobId);
        assertTrue(slots[1].committed && !slots[0].committed, "committed flags");
        assertEq(slots[1].commitment, _commitment(jobId, providers[1], RIGHT), "commitment");
        assertEq(_job(jobId).committed, 1, "count");
        assertEq(uint256(market.phaseOf(jobId)), uint256(IJobMarket.Phase.Committing), "phase");
    }

    function test_commit_revertsForSingleReplica() public {
        uint256 jobId = _claimedJob(1);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketCommitNotRequired.selector, jobId));
        _commit(jobId, providers[0], RIGHT);
    }

    function test_commit_revertsOnZeroCommitment() public {
        uint256 jobId = _claimedJob(3);
        vm.expectRevert(IJobMarket.JobMarketZeroHash.selector);
        vm.prank(providers[0]);
        market.commit(jobId, bytes32(0));
    }

    function test_commit_revertsAfterCommitDeadline() public {
        uint256 jobId = _claimedJob(3);
        uint256 deadline = _job(jobId).commitDeadline;
        vm.warp(deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketCommitClosed.selector, jobId, deadline));
        _commit(jobId, providers[0], RIGHT);
    }

    function test_commit_revertsForUnassigned() public {
        uint256 jobId = _claimedJob(3);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketNotAssigned.selector, jobId, providers[5]));
        _commit(jobId, providers[5], RIGHT);
    }

    function test_commit_revertsTheSecondTime() public {
        uint256 jobId = _claimedJob(3);
        _commit(jobId, providers[0], RIGHT);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketAlreadyCommitted.selector, jobId, providers[0]));
        _commit(jobId, providers[0], WRONG);
    }

    function test_commit_continuesWhilePaused() public {
        uint256 jobId = _claimedJob(3);
        vm.prank(owner);
        market.pause();
        _commit(jobId, providers[0], RIGHT);
        assertEq(_job(jobId).committed, 1, "committed while paused");
    }

    // ----------------------------------------------------------------------------------- reveal

    function test_reveal_singleReplicaSettlesDirectly() public {
        uint256 jobId = _claimedJob(1);
        vm.expectEmit();
        emit IJobMarket.ResultRevealed(jobId, providers[0], RIGHT, bytes32(0));
        vm.expectEmit();
        emit IJobMarket.JobSettled(jobId, RIGHT, 1, PAYMENT - FEE, 0, providers[0], FEE / 2);
        vm.prank(providers[0]);
        market.reveal(jobId, RIGHT, bytes32(0), bytes32(0));
        assertEq(market.resultOf(jobId), RIGHT, "result");
        assertEq(market.claimable(providers[0]), PAYMENT - FEE + FEE / 2, "reward plus settlement tip");
        assertEq(market.claimable(treasury), FEE - FEE / 2, "fee less the tip");
        assertEq(staking.freeStakeOf(providers[0]), PROVIDER_STAKE, "collateral back");
    }

    function test_reveal_revertsBeforeAllCommitted() public {
        uint256 jobId = _claimedJob(3);
        _commit(jobId, providers[0], RIGHT);
        _commit(jobId, providers[1], RIGHT);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketRevealNotOpen.selector, jobId));
        _reveal(jobId, providers[0], RIGHT);
    }

    function test_reveal_opensAfterCommitDeadline() public {
        uint256 jobId = _claimedJob(3);
        _commit(jobId, providers[0], RIGHT);
        _commit(jobId, providers[1], RIGHT);
        vm.warp(_job(jobId).commitDeadline + 1);
        assertEq(uint256(market.phaseOf(jobId)), uint256(IJobMarket.Phase.Revealing), "revealing");
        _reveal(jobId, providers[0], RIGHT);
        _reveal(jobId, providers[1], RIGHT); // the last possible reveal settles
        assertEq(uint256(_job(jobId).status), uint256(IJobMarket.Status.Settled), "settled");
        assertEq(staking.stakeOf(providers[2]), PROVIDER_STAKE - COLLATERAL, "silent slashed");
        assertEq(token.balanceOf(staking.BURN_ADDRESS()), COLLATERAL, "and burned");
        uint256 pool = PAYMENT - FEE; // the slash is no bonus
        assertEq(market.claimable(providers[0]), pool / 2, "winner share");
    }

    function test_reveal_opensWhenUnderfilledJobCommitted() public {
        uint256 jobId = _create(3);
        _claim(jobId, providers[0]);
        _claim(jobId, providers[1]);
        _commit(jobId, providers[0], RIGHT);
        _commit(jobId, providers[1], RIGHT);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketRevealNotOpen.selector, jobId));
        _reveal(jobId, providers[0], RIGHT);
        vm.warp(_job(jobId).claimDeadline + 1);
        // A job that never filled does not run with fewer slots: it fails with every token back.
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketRevealNotOpen.selector, jobId));
        _reveal(jobId, providers[0], RIGHT);
        market.settle(jobId);
        assertEq(market.claimable(requester), PAYMENT, "refund");
        assertEq(staking.freeStakeOf(providers[0]), PROVIDER_STAKE, "collateral back");
    }

    function test_reveal_revertsOnMismatch() public {
        uint256 jobId = _claimedJob(3);
        _commit(jobId, providers[0], RIGHT);
        _commit(jobId, providers[1], RIGHT);
        _commit(jobId, providers[2], RIGHT);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketCommitmentMismatch.selector, jobId, providers[0]));
        _reveal(jobId, providers[0], WRONG);
    }

    function test_reveal_revertsOnCopiedCommitment() public {
        uint256 jobId = _claimedJob(3);
        _commit(jobId, providers[0], RIGHT);
        // providers[1] copies providers[0]'s commitment: it is bound to providers[0]'s address.
        bytes32 copied = _commitment(jobId, providers[0], RIGHT);
        vm.prank(providers[1]);
        market.commit(jobId, copied);
        _commit(jobId, providers[2], RIGHT);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketCommitmentMismatch.selector, jobId, providers[1]));
        vm.prank(providers[1]);
        market.reveal(jobId, RIGHT, bytes32(0), _salt(providers[0]));
    }

    function test_reveal_revertsWhenNotCommitted() public {
        uint256 jobId = _claimedJob(3);
        _commit(jobId, providers[0], RIGHT);
        vm.warp(_job(jobId).commitDeadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketNotCommitted.selector, jobId, providers[1]));
        _reveal(jobId, providers[1], RIGHT);
    }

    function test_reveal_revertsTheSecondTime() public {
        uint256 jobId = _claimedJob(3);
        _commit(jobId, providers[0], RIGHT);
        _commit(jobId, providers[1], RIGHT);
        _commit(jobId, providers[2], RIGHT);
        _reveal(jobId, providers[0], RIGHT);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketAlreadyRevealed.selector, jobId, providers[0]));
        _reveal(jobId, providers[0], RIGHT);
    }

    function test_reveal_revertsOnZeroDigest() public {
        uint256 jobId = _claimedJob(1);
        vm.expectRevert(IJobMarket.JobMarketZeroHash.selector);
        vm.prank(providers[0]);
        market.reveal(jobId, bytes32(0), bytes32(0), bytes32(0));
    }

    function test_reveal_revertsAfterRevealDeadline() public {
        uint256 jobId = _claimedJob(1);
        uint256 deadline = _job(jobId).revealDeadline;
        vm.warp(deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketRevealClosed.selector, jobId, deadline));
        _reveal(jobId, providers[0], RIGHT);
    }

    function test_reveal_revertsForUnassigned() public {
        uint256 jobId = _claimedJob(1);
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketNotAssigned.selector, jobId, providers[3]));
        _reveal(jobId, providers[3], RIGHT);
    }

    // ----------------------------------------------------------------------------------- settle

    function _runK3(bytes32 d0, bytes32 d1, bool thirdReveals) internal returns (uint256 jobId) {
        jobId = _claimedJob(3);
        _commit(jobId, providers[0], d0);
        _commit(jobId, providers[1], d1);
        _commit(jobId, providers[2], RIGHT);
        _reveal(jobId, providers[0], d0);
        _reveal(jobId, providers[1], d1);
        if (thirdReveals) _reveal(jobId, providers[2], RIGHT);
    }

    function test_settle_failsWithoutQuorumAndSlashesOnlySilent() public {
        uint256 jobId = _claimedJob(4); // quorum 3
        for (uint256 i; i < 4; ++i) {
            _commit(jobId, providers[i], i == 3 ? WRONG : RIGHT);
        }
        _reveal(jobId, providers[0], RIGHT);
        _reveal(jobId, providers[1], RIGHT);
        _reveal(jobId, providers[3], WRONG);
        // providers[2] stays silent; after the reveal deadline anyone settles.
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarket.JobMarketNotSettleable.selector, jobId, IJobMarket.Phase.Revealing)
        );
        market.settle(jobId);
        vm.warp(_job(jobId).revealDeadline + 1);
        market.settle(jobId);
        // Only two reveals agree but quorum is 3: no quorum; the three revealers are paid their 1/4
        // share, the silent slot is burned, the requester gets the rest.
        uint256 share = (PAYMENT - FEE) / 4;
        assertEq(uint256(_job(jobId).status), uint256(IJobMarket.Status.Failed), "failed");
        assertEq(market.claimable(requester), PAYMENT - FEE - 3 * share, "refund of the silent share");
        assertEq(market.claimable(providers[3]), share, "revealer paid");
        assertEq(market.claimable(treasury) + market.claimable(address(this)), FEE, "fee incl. tip");
        assertEq(token.balanceOf(staking.BURN_ADDRESS()), COLLATERAL, "silent collateral burned");
        assertEq(staking.freeStakeOf(providers[3]), PROVIDER_STAKE, "revealers keep collateral");
        assertEq(staking.stakeOf(providers[2]), PROVIDER_STAKE - COLLATERAL, "silent slashed");
    }

    function test_settle_honestWrongSilent() public {
        uint256 jobId = _claimedJob(3);
        _commit(jobId, providers[0], RIGHT);
        _commit(jobId, providers[1], WRONG);
        _commit(jobId, providers[2], RIGHT);
        _reveal(jobId, providers[0], RIGHT);
        _reveal(jobId, providers[1], WRONG);
        _reveal(jobId, providers[2], RIGHT); // completes the round: settles
        uint256 pool = PAYMENT - FEE;
        assertEq(market.claimable(providers[0]), pool / 2, "winner 0");
        assertEq(market.claimable(providers[2]), pool / 2 + FEE / 2, "winner 2, who settled, tipped");
        assertEq(market.claimable(providers[1]), 0, "loser");
        assertEq(market.claimable(treasury), FEE - FEE / 2 + pool % 2, "fee less tip, and dust");
        assertEq(token.balanceOf(staking.BURN_ADDRESS()), COLLATERAL, "wrong collateral burned");
        assertEq(staking.stakeOf(providers[1]), PROVIDER_STAKE - COLLATERAL, "wrong slashed");
        assertEq(market.resultOf(jobId), RIGHT, "result");
        assertEq(uint256(market.phaseOf(jobId)), uint256(IJobMarket.Phase.Settled), "phase");
    }

    function test_settle_expiresUnclaimedJob() public {
        uint256 jobId = _create(3);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarket.JobMarketNotSettleable.selector, jobId, IJobMarket.Phase.Claiming)
        );
        market.settle(jobId);
        vm.warp(_job(jobId).claimDeadline + 1);
        vm.expectEmit();
        emit IJobMarket.JobExpired(jobId);
        market.settle(jobId);
        assertEq(market.claimable(requester), PAYMENT, "refund");
        assertEq(uint256(market.phaseOf(jobId)), uint256(IJobMarket.Phase.Expired), "phase");
    }

    function test_settle_failsUnderClaimedJobWithoutSlashing() public {
        uint256 jobId = _create(3);
        _claim(jobId, providers[0]);
        vm.warp(_job(jobId).claimDeadline + 1);
        assertEq(uint256(market.phaseOf(jobId)), uint256(IJobMarket.Phase.Settleable), "phase");
        vm.expectEmit();
        emit IJobMarket.JobFailed(jobId, IJobMarket.FailReason.UnderClaimed, 0, 0, PAYMENT);
        market.settle(jobId);
        assertEq(market.claimable(requester), PAYMENT, "refund");
        assertEq(staking.freeStakeOf(providers[0]), PROVIDER_STAKE, "collateral back");
    }

    function test_settle_partlyFilledJobFailsWithEveryTokenBack() public {
        uint256 jobId = _create(5); // quorum 3; four claims reach it, but the job never fills
        for (uint256 i; i < 4; ++i) {
            _claim(jobId, providers[i]);
        }
        _commit(jobId, providers[0], RIGHT);
        vm.warp(_job(jobId).claimDeadline + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarket.JobMarketClaimClosed.selector, jobId, _job(jobId).claimDeadline)
        );
        _commit(jobId, providers[1], RIGHT);
        vm.expectEmit();
        emit IJobMarket.JobFailed(jobId, IJobMarket.FailReason.UnderClaimed, 0, 0, PAYMENT);
        market.settle(jobId);
        for (uint256 i; i < 4; ++i) {
            assertEq(staking.freeStakeOf(providers[i]), PROVIDER_STAKE, "collateral back");
        }
        assertEq(market.claimable(requester), PAYMENT, "refund");
        assertEq(token.balanceOf(staking.BURN_ADDRESS()), 0, "nothing burned");
    }

    function test_settle_failsWhenNobodyCommits() public {
        uint256 jobId = _claimedJob(3);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarket.JobMarketNotSettleable.selector, jobId, IJobMarket.Phase.Committing)
        );
        market.settle(jobId);
        vm.warp(_job(jobId).commitDeadline + 1); // nothing can be revealed: settleable at once
        vm.expectEmit();
        emit IJobMarket.JobFailed(jobId, IJobMarket.FailReason.NoQuorum, 3 * COLLATERAL, 0, PAYMENT);
        market.settle(jobId);
        assertEq(token.balanceOf(staking.BURN_ADDRESS()), 3 * COLLATERAL, "all burned");
        assertEq(market.claimable(treasury), 0, "no fee for nothing delivered");
        assertEq(market.claimable(requester), PAYMENT, "refund");
    }

    function test_settle_revertsOnSettledJob() public {
        uint256 jobId = _runK3(RIGHT, RIGHT, true);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarket.JobMarketJobClosed.selector, jobId, IJobMarket.Status.Settled)
        );
        market.settle(jobId);
    }

    function test_settle_revertsOnUnknownJob() public {
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketUnknownJob.selector, 7));
        market.settle(7);
    }

    function test_settle_singleReplicaSilentIsSlashed() public {
        uint256 jobId = _claimedJob(1);
        vm.warp(_job(jobId).revealDeadline + 1);
        market.settle(jobId);
        assertEq(market.claimable(requester), PAYMENT, "refund");
        assertEq(staking.stakeOf(providers[0]), PROVIDER_STAKE - COLLATERAL, "slashed");
    }

    function test_settle_worksWhilePaused() public {
        uint256 jobId = _claimedJob(3);
        vm.prank(owner);
        market.pause();
        vm.warp(_job(jobId).revealDeadline + 1);
        market.settle(jobId);
        vm.prank(requester);
        market.withdraw();
        assertEq(token.balanceOf(requester), 1_000_000 ether, "refund withdrawn while paused");
    }

    // --------------------------------------------------------------------------------- withdraw

    function test_withdraw_paysClaimable() public {
        _runK3(RIGHT, RIGHT, true);
        uint256 before = token.balanceOf(providers[0]);
        uint256 amount = market.claimable(providers[0]);
        assertEq(amount, (PAYMENT - FEE) / 3, "share");
        vm.expectEmit();
        emit IJobMarket.Withdrawn(providers[0], amount);
        vm.prank(providers[0]);
        market.withdraw();
        assertEq(token.balanceOf(providers[0]), before + amount, "paid");
        assertEq(market.claimable(providers[0]), 0, "cleared");
    }

    function test_withdraw_revertsWhenNothingToWithdraw() public {
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketNothingToWithdraw.selector, providers[0]));
        vm.prank(providers[0]);
        market.withdraw();
    }

    function test_withdraw_revertsTheSecondTime() public {
        _runK3(RIGHT, RIGHT, true);
        vm.startPrank(providers[1]);
        market.withdraw();
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketNothingToWithdraw.selector, providers[1]));
        market.withdraw();
        vm.stopPrank();
    }

    // ------------------------------------------------------------------------------------ owner

    function test_pause_revertsForNonOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, requester));
        vm.prank(requester);
        market.pause();
    }

    function test_unpause_reopensJobs() public {
        vm.startPrank(owner);
        market.pause();
        market.unpause();
        vm.stopPrank();
        assertEq(_create(1), 1, "created after unpause");
    }

    function test_unpause_revertsForNonOwner() public {
        vm.prank(owner);
        market.pause();
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, requester));
        vm.prank(requester);
        market.unpause();
    }

    function test_setFeeBps_appliesToNewJobsOnly() public {
        uint256 oldJob = _claimedJob(1);
        vm.expectEmit();
        emit IJobMarket.FeeUpdated(100, 1_000);
        vm.prank(owner);
        market.setFeeBps(1_000);
        assertEq(_job(_create(1)).feeBps, 1_000, "new job");
        assertEq(_job(oldJob).feeBps, 100, "old job keeps its fee");
    }

    function test_setFeeBps_revertsAboveBound() public {
        vm.expectRevert(abi.encodeWithSelector(IJobMarket.JobMarketParameterOutOfBounds.selector, 1_001, 0, 1_000));
        vm.prank(owner);
        market.setFeeBps(1_001);
    }

    function test_setFeeBps_revertsForNonOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, requester));
        vm.prank(requester);
        market.setFeeBps(1);
    }

    function test_setWindowBounds_updatesWithinBounds() public {
        vm.expectEmit();
        emit IJobMarket.WindowBoundsUpdated(1 minutes, 30 days);
        vm.prank(owner);
        market.setWindowBounds(1 minutes, 30 days);
        assertEq(market.minWindow(), 1 minutes, "min");
        assertEq(market.maxWindow(), 30 days, "max");
    }

    function test_setWindowBounds_revertsOutOfBounds() public {
        vm.startPrank(owner);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarket.JobMarketParameterOutOfBounds.selector, 59, 1 minutes, 1 hours)
        );
        market.setWindowBounds(59, 1 hours);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarket.JobMarketParameterOutOfBounds.selector, 2 hours, 1 minutes, 1 hours)
        );
        market.setWindowBounds(2 hours, 1 hours);
        vm.expectRevert(
            abi.encodeWithSelector(IJobMarket.JobMarketParameterOutOfBounds.selector, 30 days + 1, 1 hours, 30 days)
        );
        market.setWindowBounds(1 hours, 30 days + 1);
        vm.stopPrank();
    }

    function test_setTreasury_redirectsFees() public {
        address newTreasury = address(0x7EA6);
        vm.expectEmit();
        emit IJobMarket.TreasuryUpdated(treasury, newTreasury);
        vm.prank(owner);
        market.setTreasury(newTreasury);
        uint256 jobId = _claimedJob(1);
        _reveal(jobId, providers[0], RIGHT);
        assertEq(market.claimable(newTreasury), FEE - FEE / 2, "fee (less the tip) to new treasury");
    }

    /// @dev Attack: the owner re-points the treasury under jobs in flight. The fee recipient is fixed
    ///      per job at creation, so an in-flight job still pays the old one.
    function test_setTreasury_leavesJobsInFlightAlone() public {
        uint256 jobId = _claimedJob(1);
        vm.prank(owner);
        market.setTreasury(address(0x7EA6));
        assertEq(_job(jobId).feeRecipient, treasury, "recipient fixed at creation");
        _reveal(jobId, providers[0], RIGHT);
        assertEq(market.claimable(treasury), FEE - FEE / 2, "old treasury paid");
        assertEq(market.claimable(address(0x7EA6)), 0, "new one not");
    }

    function test_renounceOwnership_isDisabled() public {
        vm.startPrank(owner);
        market.pause();
        vm.expectRevert(IJobMarket.JobMarketRenounceDisabled.selector);
        market.renounceOwnership();
        market.unpause(); // a paused market can always be reopened
        vm.stopPrank();
        assertEq(market.owner(), owner, "owner kept");
    }

    function test_setTreasury_revertsOnZero() public {
        vm.expectRevert(IJobMarket.JobMarketZeroAddress.selector);
        vm.prank(owner);
        market.setTreasury(address(0));
    }

    // ------------------------------------------------------------------------------------ views

    function test_getSlots_showsDigestsAfterReveal() public {
        uint256 jobId = _runK3(RIGHT, WRONG, true);
        IJobMarket.SlotView[] memory slots = market.getSlots(jobId);
        assertEq(slots.length, 3, "slots");
        assertTrue(slots[1].revealed && slots[1].committed, "flags");
        assertEq(slots[1].digest, WRONG, "digest");
        assertEq(slots[1].commitment, bytes32(0), "commitment replaced by digest");
    }

    function test_getSlots_singleReplicaHasNoCommitment() public {
        uint256 jobId = _claimedJob(1);
        IJobMarket.SlotView[] memory slots = market.getSlots(jobId);
        assertTrue(!slots[0].committed && !slots[0].revealed, "nothing yet");
        _reveal(jobId, providers[0], RIGHT);
        slots = market.getSlots(jobId);
        assertTrue(slots[0].committed && slots[0].revealed, "revealed counts as committed");
        assertEq(slots[0].commitment, bytes32(0), "no commitment");
        assertEq(slots[0].digest, RIGHT, "digest");
        assertEq(slots[0].provider, providers[0], "provider");
    }

    function test_resultOf_isZeroUntilSettled() public {
        uint256 jobId = _claimedJob(3);
        assertEq(market.resultOf(jobId), bytes32(0), "no result yet");
    }

    function test_phaseOf_unknownJobIsNone() public view {
        assertEq(uint256(market.phaseOf(99)), uint256(IJobMarket.Phase.None), "none");
    }
}
