// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "./utils/Test.sol";
import {NeuroToken} from "../../contracts/NeuroToken.sol";
import {Staking} from "../../contracts/Staking.sol";
import {JobMarket} from "../../contracts/JobMarket.sol";
import {IStaking} from "../../contracts/interfaces/IStaking.sol";
import {IJobMarket} from "../../contracts/interfaces/IJobMarket.sol";

/// @notice Deploys token, Staking and JobMarket and funds a requester and registered, staked providers.
abstract contract ProtocolBase is Test {
    NeuroToken internal token;
    Staking internal staking;
    JobMarket internal market;

    address internal owner = address(0x0A11);
    address internal treasury = address(0x7EA5);
    address internal requester = address(0xBEEF);
    address[] internal providers;

    uint256 internal constant PAYMENT = 90 ether;
    uint256 internal constant COLLATERAL = 10 ether;
    uint256 internal constant PROVIDER_STAKE = 1_000 ether;
    uint32 internal constant WINDOW = 1 hours;
    uint256 internal constant NUM_PROVIDERS = 16;
    bytes32 internal constant CLASS_A = keccak256("class A");

    function setUp() public virtual {
        vm.chainId(31_337);
        vm.warp(1_700_000_000);
        token = new NeuroToken(100_000_000 ether);
        staking = new Staking(token, owner);
        market = new JobMarket(token, staking, owner, treasury);
        vm.startPrank(owner);
        staking.setJobMarket(address(market));
        // Every provider holds 1/16 of the stake: a width of 255 makes all of them eligible for every
        // slot, so these tests exercise the job lifecycle; Sortition.t.sol tests the draw itself.
        market.setSortitionWidth(255);
        vm.stopPrank();
        vm.roll(100);

        token.transfer(requester, 1_000_000 ether);
        vm.prank(requester);
        token.approve(address(market), type(uint256).max);
        for (uint256 i; i < NUM_PROVIDERS; ++i) {
            address p = address(uint160(0x1000 + i));
            providers.push(p);
            _fundProvider(p, PROVIDER_STAKE);
        }
        vm.roll(101); // stake counts for jobs created after the block it was added in
    }

    function _caps() internal pure returns (IStaking.Capabilities memory) {
        return IStaking.Capabilities({
            gpuCount: 2, vramMb: 24_576, tier: 2, pricePerGpuSecond: 1e12, metadataDigest: keccak256("meta"),
            deviceClass: CLASS_A
        });
    }

    function _fundProvider(address p, uint256 amount) internal {
        token.transfer(p, amount);
        vm.startPrank(p);
        token.approve(address(staking), type(uint256).max);
        staking.register(_caps());
        staking.stake(amount);
        vm.stopPrank();
    }

    function _params(uint8 k, uint8 q) internal pure returns (IJobMarket.JobParams memory) {
        return IJobMarket.JobParams({
            specDigest: keccak256("spec"), // sha256 would be a precompile call and eat vm.prank
            payment: PAYMENT,
            replicas: k,
            quorum: q,
            collateral: COLLATERAL,
            requirements: IJobMarket.Requirements({gpuCount: 1, vramMb: 16_384, tier: 1, maxGpuSeconds: 3_600}),
            claimWindow: WINDOW,
            commitWindow: WINDOW,
            revealWindow: WINDOW,
            verification: IJobMarket.Verification.Exact,
            tolerance: 0,
            deviceClass: bytes32(0),
            reserve: 0
        });
    }

    function _create(uint8 k) internal returns (uint256 jobId) {
        vm.prank(requester);
        jobId = market.createJob(_params(k, 0));
        // Claims start in the block after creation (the seed is the creation block's hash).
        vm.roll(block.number + 1);
    }

    function _commitment(uint256 jobId, address p, bytes32 digest) internal view returns (bytes32) {
        return keccak256(abi.encode(block.chainid, address(market), jobId, p, digest, bytes32(0), _salt(p)));
    }

    function _salt(address p) internal pure returns (bytes32) {
        return keccak256(abi.encode("salt", p));
    }

    /// @dev Claim the first free slot `p` is drawn for (reverts NotEligible on slot 0 if none).
    function _claim(uint256 jobId, address p) internal {
        uint256 slot = _freeEligibleSlot(jobId, p);
        vm.prank(p);
        market.claim(jobId, slot);
    }

    /// @dev `_claim` expecting `err`: the slot is looked up first, so expectRevert meets the claim itself.
    function _claimReverts(uint256 jobId, address p, bytes memory err) internal {
        uint256 slot = _freeEligibleSlot(jobId, p);
        vm.expectRevert(err);
        vm.prank(p);
        market.claim(jobId, slot);
    }

    function _freeEligibleSlot(uint256 jobId, address p) internal view returns (uint256) {
        IJobMarket.SlotView[] memory slots = market.getSlots(jobId);
        for (uint256 i; i < slots.length; ++i) {
            if (slots[i].provider == address(0) && market.isEligible(jobId, i, p)) return i;
        }
        for (uint256 i; i < slots.length; ++i) {
            if (slots[i].provider == address(0)) return i;
        }
        return 0;
    }

    function _commit(uint256 jobId, address p, bytes32 digest) internal {
        vm.prank(p);
        market.commit(jobId, _commitment(jobId, p, digest));
    }

    function _reveal(uint256 jobId, address p, bytes32 digest) internal {
        vm.prank(p);
        market.reveal(jobId, digest, bytes32(0), _salt(p));
    }

    /// @dev Create a k-replica job and have the first k providers claim it.
    function _claimedJob(uint8 k) internal returns (uint256 jobId) {
        jobId = _create(k);
        for (uint256 i; i < k; ++i) {
            _claim(jobId, providers[i]);
        }
    }

    function _job(uint256 jobId) internal view returns (IJobMarket.Job memory) {
        return market.getJob(jobId);
    }
}
