// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "./utils/Test.sol";
import {Vm} from "./utils/Vm.sol";
import {NeuroToken} from "../../contracts/NeuroToken.sol";
import {Staking} from "../../contracts/Staking.sol";
import {JobMarket} from "../../contracts/JobMarket.sol";
import {IStaking} from "../../contracts/interfaces/IStaking.sol";
import {IJobMarket} from "../../contracts/interfaces/IJobMarket.sol";

/// @notice Drives the protocol with random but mostly valid actions by a few actors, and keeps the
///         ghost ledger the invariants compare against (credits seen, tokens withdrawn).
contract ProtocolHandler is Test {
    NeuroToken internal immutable token;
    Staking internal immutable staking;
    JobMarket internal immutable market;
    address internal immutable owner;

    address[] public actors; // first two request, the rest provide; everyone may stake
    uint256[] public jobIds;
    mapping(uint256 jobId => mapping(address provider => bytes32 digest)) internal committedDigest;
    mapping(uint256 jobId => mapping(address provider => bytes32 fingerprint)) internal committedFingerprint;
    mapping(address account => uint256) public ghostCredited;
    mapping(address account => uint256) public ghostWithdrawn;
    mapping(uint256 jobId => uint256) public ghostPayments;
    address public immutable treasury;
    uint256 public calls;

    constructor(NeuroToken token_, Staking staking_, JobMarket market_, address owner_, address treasury_) {
        (token, staking, market, owner, treasury) = (token_, staking_, market_, owner_, treasury_);
    }

    /// @dev Registers the providers and stakes for them once the handler holds tokens; later calls are no-ops.
    function init() external {
        if (actors.length != 0) return;
        // Two requesters and twelve providers: enough for a k = 3 job's round 1 and its 7-slot re-run.
        for (uint256 i; i < 14; ++i) {
            address a = address(uint160(0xA000 + i));
            actors.push(a);
            vm.startPrank(a);
            token.approve(address(market), type(uint256).max);
            token.approve(address(staking), type(uint256).max);
            if (i >= 2) {
                vm.stopPrank();
                token.transfer(a, 500 ether);
                vm.startPrank(a);
                staking.stake(500 ether);
                staking.register(
                    IStaking.Capabilities({
                        gpuCount: uint16(1 + i % 2), vramMb: 16_384, tier: 1, pricePerGpuSecond: 1, metadataDigest: 0,
                        deviceClass: bytes32(uint256(1 + i % 2))
                    })
                );
            }
            vm.stopPrank();
        }
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function jobCount() external view returns (uint256) {
        return jobIds.length;
    }

    /// @dev Records every rise of a claimable balance as a credit.
    modifier tracked() {
        uint256 n = actors.length;
        uint256[] memory before = new uint256[](n + 1);
        for (uint256 i; i < n; ++i) {
            before[i] = market.claimable(actors[i]);
        }
        before[n] = market.claimable(treasury);
        _;
        for (uint256 i; i <= n; ++i) {
            address a = i < n ? actors[i] : treasury;
            uint256 nowClaimable = market.claimable(a);
            if (nowClaimable > before[i]) ghostCredited[a] += nowClaimable - before[i];
        }
        ++calls;
    }

    function _actor(uint256 seed) internal view returns (address) {
        return actors[seed % actors.length];
    }

    function _provider(uint256 seed) internal view returns (address) {
        return actors[2 + seed % (actors.length - 2)];
    }

    /// @dev Mostly one of the four newest jobs, so lifecycles get completed.
    function _jobId(uint256 seed) internal view returns (uint256) {
        uint256 n = jobIds.length;
        if (n == 0) return 0;
        uint256 window = seed % 8 == 0 ? n : (n < 4 ? n : 4);
        return jobIds[n - 1 - (seed >> 8) % window];
    }

    /// @dev A slot's provider, starting at a random slot and preferring one that still has to act
    ///      (commit when `committing`, else reveal); a random provider when the job has no slots.
    function _slotProvider(uint256 jobId, uint256 seed, bool committing) internal view returns (address) {
        IJobMarket.SlotView[] memory slots = market.getSlots(jobId);
        uint256 n = slots.length;
        if (n == 0) return _provider(seed);
        for (uint256 i; i < n; ++i) {
            IJobMarket.SlotView memory slot = slots[(seed + i) % n];
            if (committing ? !slot.committed : !slot.revealed) return slot.provider;
        }
        return slots[seed % n].provider;
    }

    /// @dev A provider that holds no slot of the job yet, if there is one.
    function _newProvider(uint256 jobId, uint256 seed) internal view returns (address) {
        IJobMarket.SlotView[] memory slots = market.getSlots(jobId);
        uint256 m = actors.length - 2;
        for (uint256 i; i < m; ++i) {
            address candidate = _provider(seed + i);
            bool taken;
            for (uint256 s; s < slots.length; ++s) {
                taken = taken || slots[s].provider == candidate;
            }
            if (!taken) return candidate;
        }
        return _provider(seed);
    }

    /// @dev `mode` % 4: exact, tolerant, exact with a reserve, tolerant with a reserve (re-runs on dissent).
    function createJob(uint256 actorSeed, uint8 k, uint96 payment, uint96 collateral, uint8 gpus, uint8 mode)
        external
        tracked
    {
        address requester = actors[actorSeed % 2];
        k = uint8(bound(k, 1, 4)); // k = 2 is rejected: the handler keeps going
        bool tolerant = mode % 2 == 1;
        uint256 amount = bound(payment, 1, 1_000 ether);
        IJobMarket.JobParams memory p = IJobMarket.JobParams({
            specDigest: keccak256(abi.encode(jobIds.length)),
            payment: amount,
            replicas: k,
            quorum: 0,
            collateral: bound(collateral, 0.5 ether, 50 ether), // below 1 token is rejected
            requirements: IJobMarket.Requirements({
                gpuCount: uint16(bound(gpus, 1, 2)), vramMb: 8_192, tier: 1, maxGpuSeconds: 60
            }),
            claimWindow: 10 minutes,
            commitWindow: 10 minutes,
            revealWindow: 10 minutes,
            verification: tolerant ? IJobMarket.Verification.Tolerant : IJobMarket.Verification.Exact,
            tolerance: tolerant ? 8 : 0,
            deviceClass: bytes32(0),
            reserve: mode % 4 >= 2 ? amount * (2 * uint256(k) + 1) / k : 0 // k < 3 is rejected
        });
        token.transfer(requester, p.payment + p.reserve);
        vm.prank(requester);
        try market.createJob(p) returns (uint256 jobId) {
            jobIds.push(jobId);
            ghostPayments[jobId] = p.payment + p.reserve;
        } catch {}
    }

    function cancel(uint256 jobSeed) external tracked {
        uint256 jobId = _jobId(jobSeed);
        vm.prank(market.getJob(jobId).requester);
        try market.cancel(jobId) {} catch {}
    }

    function stake(uint256 actorSeed, uint96 amount) external tracked {
        address a = _actor(actorSeed);
        amount = uint96(bound(amount, 1, 200 ether));
        token.transfer(a, amount);
        vm.prank(a);
        staking.stake(amount);
    }

    function requestUnstake(uint256 actorSeed, uint96 amount) external tracked {
        address a = _actor(actorSeed);
        uint256 free = staking.freeStakeOf(a);
        if (free == 0) return;
        vm.prank(a);
        staking.requestUnstake(bound(amount, 1, free));
    }

    function withdrawStake(uint256 actorSeed) external tracked {
        address a = _actor(actorSeed);
        vm.prank(a);
        try staking.withdrawStake() {} catch {}
    }

    /// @dev Claims land in a later block than the job's creation; the slot is random, so draws fail
    ///      (NotEligible) as often as they succeed until eligibility widens.
    function claim(uint256 jobSeed, uint256 actorSeed, uint8 slotSeed) external tracked {
        uint256 jobId = _jobId(jobSeed);
        vm.roll(block.number + 1);
        IJobMarket.Job memory job = market.getJob(jobId);
        vm.prank(actorSeed % 16 == 0 ? _provider(actorSeed) : _newProvider(jobId, actorSeed));
        try market.claim(jobId, job.slots == 0 ? 0 : job.firstSlot + slotSeed % job.slots) {} catch {}
    }

    function abandon(uint256 jobSeed, uint256 actorSeed) external tracked {
        uint256 jobId = _jobId(jobSeed);
        vm.prank(_slotProvider(jobId, actorSeed, true));
        try market.abandon(jobId) {} catch {}
    }

    function commit(uint256 jobSeed, uint256 actorSeed, uint8 wrongSeed) external tracked {
        uint256 jobId = _jobId(jobSeed);
        _commitAs(jobId, _slotProvider(jobId, actorSeed, true), wrongSeed);
    }

    function _commitAs(uint256 jobId, address p, uint256 wrongSeed) internal {
        bool wrong = wrongSeed % 4 == 0;
        bytes32 digest = wrong ? bytes32(uint256(2)) : bytes32(uint256(1 + wrongSeed % 3 * 16));
        // Honest fingerprints differ in up to 3 low bits (within tolerance 8); a wrong one in all bits.
        bytes32 fingerprint = wrong ? bytes32(type(uint256).max) : bytes32(uint256(wrongSeed % 8));
        bytes32 c = keccak256(abi.encode(block.chainid, address(market), jobId, p, digest, fingerprint, bytes32(0)));
        vm.prank(p);
        try market.commit(jobId, c) {
            committedDigest[jobId][p] = digest;
            committedFingerprint[jobId][p] = fingerprint;
        } catch {}
    }

    function reveal(uint256 jobId_, uint256 actorSeed) external tracked {
        uint256 jobId = _jobId(jobId_);
        _revealAs(jobId, _slotProvider(jobId, actorSeed, false));
    }

    function _revealAs(uint256 jobId, address p) internal {
        bytes32 digest = committedDigest[jobId][p];
        if (digest == bytes32(0)) digest = bytes32(uint256(1)); // single replica: no commit
        vm.prank(p);
        try market.reveal(jobId, digest, committedFingerprint[jobId][p], bytes32(0)) {} catch {}
    }

    /// @dev Plays a job's current round to its end, so rounds (and re-runs) complete often: at the claim
    ///      deadline (everyone is drawn by then) providers take every free slot, then all commit (one in
    ///      four wrong) and all reveal.
    function playRound(uint256 jobSeed, uint256 seed) external tracked {
        uint256 jobId = _jobId(jobSeed);
        IJobMarket.Job memory job = market.getJob(jobId);
        if (job.status != IJobMarket.Status.Open || job.filled || block.timestamp > job.claimDeadline) return;
        vm.warp(job.claimDeadline);
        vm.roll(block.number + 1);
        uint256 end = uint256(job.firstSlot) + job.slots;
        for (uint256 slot = job.firstSlot; slot < end; ++slot) {
            for (uint256 t; t < actors.length - 2; ++t) {
                vm.prank(_provider(seed % 1e9 + t));
                try market.claim(jobId, slot) {
                    break;
                } catch {}
            }
        }
        IJobMarket.SlotView[] memory slots = market.getSlots(jobId);
        for (uint256 slot = job.firstSlot; slot < end; ++slot) {
            if (slots[slot].provider != address(0)) _commitAs(jobId, slots[slot].provider, seed >> (4 * slot));
        }
        for (uint256 slot = job.firstSlot; slot < end; ++slot) {
            if (slots[slot].provider != address(0)) _revealAs(jobId, slots[slot].provider);
        }
    }

    function settle(uint256 jobSeed, uint256 actorSeed) external tracked {
        vm.prank(_actor(actorSeed)); // the settler's tip goes to a tracked account
        try market.settle(_jobId(jobSeed)) {} catch {}
    }

    function finalJobs() external view returns (uint256 settled, uint256 failed) {
        for (uint256 i; i < jobIds.length; ++i) {
            IJobMarket.Status status = market.getJob(jobIds[i]).status;
            if (status == IJobMarket.Status.Settled) ++settled;
            if (status == IJobMarket.Status.Failed) ++failed;
        }
    }

    function withdraw(uint256 actorSeed) external tracked {
        address a = actorSeed % 9 == 8 ? treasury : _actor(actorSeed);
        uint256 balance = token.balanceOf(a);
        vm.prank(a);
        try market.withdraw() {} catch {}
        ghostWithdrawn[a] += token.balanceOf(a) - balance;
    }

    function warp(uint16 secondsAhead) external tracked {
        vm.warp(block.timestamp + bound(secondsAhead, 1, 45 minutes));
        vm.roll(block.number + 1 + secondsAhead % 300); // sometimes past blockhash's 256-block reach
    }

    function togglePause() external tracked {
        vm.startPrank(owner);
        if (market.paused()) market.unpause();
        else market.pause();
        vm.stopPrank();
    }
}

contract JobMarketInvariantTest is Test {
    NeuroToken internal token;
    Staking internal staking;
    JobMarket internal market;
    ProtocolHandler internal handler;
    address internal owner = address(0x0A11);
    address internal treasury = address(0x7EA5);

    function setUp() public {
        vm.warp(1_700_000_000);
        token = new NeuroToken(1e30);
        staking = new Staking(token, owner);
        market = new JobMarket(token, staking, owner, treasury);
        vm.startPrank(owner);
        staking.setJobMarket(address(market));
        // Twelve providers of 1/12 each: a width of 4 makes about a third of the draws succeed at first.
        market.setSortitionWidth(4);
        vm.stopPrank();
        vm.roll(1_000);
        handler = new ProtocolHandler(token, staking, market, owner, treasury);
        token.transfer(address(handler), 1e30); // the handler hands out tokens as actors need them
        handler.init();
        vm.roll(1_001); // the providers' stake predates every job
        targetContract(address(handler));
    }

    /// @dev Market balance == escrow of open jobs + everything claimable; Staking balance == all stakes.
    function invariant_conservation() public view {
        uint256 escrow;
        for (uint256 i; i < handler.jobCount(); ++i) {
            IJobMarket.Job memory job = market.getJob(handler.jobIds(i));
            if (job.status == IJobMarket.Status.Open) escrow += job.payment + job.reserve;
        }
        uint256 owed = market.claimable(treasury);
        uint256 stakes;
        for (uint256 i; i < handler.actorCount(); ++i) {
            address a = handler.actors(i);
            owed += market.claimable(a);
            IStaking.StakeInfo memory info = staking.stakeInfoOf(a);
            stakes += uint256(info.staked) + info.unstaking;
        }
        assertEq(token.balanceOf(address(market)), escrow + owed, "market balance");
        assertEq(token.balanceOf(address(staking)), stakes, "staking balance");
    }

    /// @dev Every provider's locked stake is exactly the collateral of the open-job slots it holds.
    function invariant_lockedMatchesOpenSlots() public view {
        uint256 n = handler.actorCount();
        uint256[] memory expected = new uint256[](n);
        for (uint256 j; j < handler.jobCount(); ++j) {
            uint256 jobId = handler.jobIds(j);
            IJobMarket.Job memory job = market.getJob(jobId);
            if (job.status != IJobMarket.Status.Open) continue;
            IJobMarket.SlotView[] memory slots = market.getSlots(jobId);
            for (uint256 s; s < slots.length; ++s) {
                for (uint256 i; i < n; ++i) {
                    if (handler.actors(i) == slots[s].provider) expected[i] += job.collateral;
                }
            }
        }
        for (uint256 i; i < n; ++i) {
            assertEq(staking.stakeInfoOf(handler.actors(i)).locked, expected[i], "locked");
        }
    }

    /// @dev What anyone withdrew plus what it may still withdraw is exactly what it was credited.
    function invariant_nothingWithdrawnTwice() public view {
        for (uint256 i; i <= handler.actorCount(); ++i) {
            address a = i < handler.actorCount() ? handler.actors(i) : treasury;
            assertEq(handler.ghostWithdrawn(a) + market.claimable(a), handler.ghostCredited(a), "withdrawn + owed");
        }
    }

    /// @dev Any open job past its final deadline settles when poked, even while paused.
    function invariant_dueJobsSettleWhenPoked() public {
        uint256 snapshot = vm.snapshotState();
        for (uint256 i; i < handler.jobCount(); ++i) {
            uint256 jobId = handler.jobIds(i);
            IJobMarket.Job memory job = market.getJob(jobId);
            if (job.status != IJobMarket.Status.Open || block.timestamp <= job.revealDeadline) continue;
            market.settle(jobId);
            assertTrue(market.getJob(jobId).status != IJobMarket.Status.Open, "still open after settle");
        }
        vm.revertToState(snapshot);
    }

    /// @dev Nobody profits from a slash: everything ever credited is exactly the payments of the jobs
    ///      that closed (slashed and abandoned collateral is burned, never credited).
    function invariant_creditsComeOnlyFromPayments() public view {
        uint256 paid;
        for (uint256 i; i < handler.jobCount(); ++i) {
            uint256 jobId = handler.jobIds(i);
            if (market.getJob(jobId).status != IJobMarket.Status.Open) paid += handler.ghostPayments(jobId);
        }
        uint256 credited = handler.ghostCredited(treasury);
        for (uint256 i; i < handler.actorCount(); ++i) {
            credited += handler.ghostCredited(handler.actors(i));
        }
        assertEq(credited, paid, "credits == payments of closed jobs");
    }

    /// @dev A re-run is drawn afresh: nobody holds a slot in both rounds, and its slots follow round 1's.
    function invariant_rerunSlotsAreFresh() public view {
        for (uint256 j; j < handler.jobCount(); ++j) {
            uint256 jobId = handler.jobIds(j);
            IJobMarket.Job memory job = market.getJob(jobId);
            if (!job.escalated) continue;
            assertEq(job.firstSlot, job.replicas, "re-run after round 1");
            assertEq(job.slots, 2 * uint256(job.replicas) + 1, "2k + 1 slots");
            IJobMarket.SlotView[] memory slots = market.getSlots(jobId);
            for (uint256 a; a < job.replicas; ++a) {
                for (uint256 b = job.replicas; b < slots.length; ++b) {
                    assertTrue(slots[a].provider == address(0) || slots[a].provider != slots[b].provider, "fresh");
                }
            }
        }
    }

    /// @dev Sortition's denominator is the stake of registered providers, burns included.
    function invariant_totalProviderStakeMatches() public view {
        uint256 total;
        for (uint256 i; i < handler.actorCount(); ++i) {
            address a = handler.actors(i);
            if (staking.isRegistered(a)) total += staking.stakeOf(a);
        }
        assertEq(staking.totalProviderStake(), total, "total provider stake");
    }
}
