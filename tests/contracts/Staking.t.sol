// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "./utils/Test.sol";
import {NeuroToken} from "../../contracts/NeuroToken.sol";
import {Staking} from "../../contracts/Staking.sol";
import {IStaking} from "../../contracts/interfaces/IStaking.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @notice Stands in for the JobMarket in `setJobMarket`'s token and staking check, then forwards
///         lock/release/forfeit calls from the test.
contract MarketStub {
    IERC20 public immutable token;
    IStaking public immutable staking;

    constructor(IERC20 token_, IStaking staking_, address) {
        token = token_;
        staking = staking_;
    }
}

/// @notice Staking on its own: the test pranks as the stub market for the JobMarket-only calls.
contract StakingTest is Test {
    MarketStub internal market;
    NeuroToken internal token;
    Staking internal staking;
    address internal owner = address(0x0A11);
    address internal alice = address(0xA11CE);
    address internal bob = address(0xB0B);

    uint256 internal constant JOB = 7;

    /// @dev setJobMarket checks that the market pays in this token and locks stake here.
    function setUp() public {
        vm.warp(1_700_000_000);
        token = new NeuroToken(1_000_000 ether);
        staking = new Staking(token, owner);
        // Minimum stake 1 token here; its own test covers the deployment default.
        vm.startPrank(owner);
        staking.setMinProviderStake(1 ether);
        market = new MarketStub(token, staking, address(this));
        staking.setJobMarket(address(market));
        vm.stopPrank();
        token.transfer(alice, 1_000 ether);
        token.transfer(bob, 1_000 ether);
        vm.prank(alice);
        token.approve(address(staking), type(uint256).max);
        vm.prank(bob);
        token.approve(address(staking), type(uint256).max);
    }

    function _caps(uint16 gpus) internal pure returns (IStaking.Capabilities memory) {
        return IStaking.Capabilities({
            gpuCount: gpus, vramMb: 81_920, tier: 3, pricePerGpuSecond: 5e12, metadataDigest: bytes32(uint256(7)),
            deviceClass: keccak256("class")
        });
    }

    function _registerAndStake(address who, uint256 amount) internal {
        vm.startPrank(who);
        staking.register(_caps(4));
        staking.stake(amount);
        vm.stopPrank();
    }

    function test_constructor_revertsOnZeroToken() public {
        vm.expectRevert(IStaking.StakingZeroToken.selector);
        new Staking(IERC20(address(0)), owner);
    }

    function test_register_storesCapabilities() public {
        vm.expectEmit();
        emit IStaking.ProviderRegistered(alice, _caps(4));
        vm.prank(alice);
        staking.register(_caps(4));
        IStaking.Capabilities memory caps = staking.providerOf(alice);
        assertEq(caps.gpuCount, 4, "gpus");
        assertEq(caps.vramMb, 81_920, "vram");
        assertEq(caps.tier, 3, "tier");
        assertEq(caps.pricePerGpuSecond, 5e12, "price");
        assertEq(caps.metadataDigest, bytes32(uint256(7)), "metadata");
        assertTrue(staking.isRegistered(alice), "registered");
        assertTrue(!staking.isRegistered(bob), "bob not registered");
    }

    function test_register_revertsWhenAlreadyRegistered() public {
        vm.startPrank(alice);
        staking.register(_caps(4));
        vm.expectRevert(abi.encodeWithSelector(IStaking.StakingAlreadyRegistered.selector, alice));
        staking.register(_caps(1));
        vm.stopPrank();
    }

    function test_register_revertsWithoutGpus() public {
        vm.expectRevert(IStaking.StakingInvalidCapabilities.selector);
        vm.prank(alice);
        staking.register(_caps(0));
    }

    function test_updateCapabilities_replacesCapabilities() public {
        vm.startPrank(alice);
        staking.register(_caps(4));
        vm.expectEmit();
        emit IStaking.CapabilitiesUpdated(alice, _caps(8));
        staking.updateCapabilities(_caps(8));
        vm.stopPrank();
        assertEq(staking.providerOf(alice).gpuCount, 8, "gpus");
    }

    function test_updateCapabilities_changesDeviceClass() public {
        vm.startPrank(alice);
        staking.register(_caps(4));
        assertEq(staking.deviceClassOf(alice), keccak256("class"), "registered class");
        IStaking.Capabilities memory caps = _caps(4);
        caps.deviceClass = keccak256("new driver");
        staking.updateCapabilities(caps);
        vm.stopPrank();
        assertEq(staking.deviceClassOf(alice), keccak256("new driver"), "re-registered class");
        assertEq(staking.deviceClassOf(bob), bytes32(0), "unregistered");
    }

    function test_updateCapabilities_revertsWhenNotRegistered() public {
        vm.expectRevert(abi.encodeWithSelector(IStaking.StakingNotRegistered.selector, alice));
        vm.prank(alice);
        staking.updateCapabilities(_caps(8));
    }

    function test_updateCapabilities_revertsWithoutGpus() public {
        vm.startPrank(alice);
        staking.register(_caps(4));
        vm.expectRevert(IStaking.StakingInvalidCapabilities.selector);
        staking.updateCapabilities(_caps(0));
        vm.stopPrank();
    }

    function test_stake_pullsTokensWithoutRegistration() public {
        vm.expectEmit();
        emit IStaking.Staked(bob, 40 ether);
        vm.prank(bob);
        staking.stake(40 ether);
        assertEq(staking.stakeOf(bob), 40 ether, "stake");
        assertEq(staking.freeStakeOf(bob), 40 ether, "free");
        assertEq(token.balanceOf(address(staking)), 40 ether, "held");
        assertEq(token.balanceOf(bob), 960 ether, "bob");
    }

    function test_stake_revertsOnZero() public {
        vm.expectRevert(IStaking.StakingZeroAmount.selector);
        vm.prank(alice);
        staking.stake(0);
    }

    function test_stake_revertsAbove104Bits() public {
        vm.expectRevert(abi.encodeWithSelector(IStaking.StakingAmountTooLarge.selector, uint256(1) << 128));
        vm.prank(alice);
        staking.stake(uint256(1) << 128);
    }

    function test_requestUnstake_startsCooldown() public {
        _registerAndStake(alice, 100 ether);
        uint256 availableAt = block.timestamp + 1 days;
        vm.expectEmit();
        emit IStaking.UnstakeRequested(alice, 30 ether, availableAt);
        vm.prank(alice);
        staking.requestUnstake(30 ether);
        IStaking.StakeInfo memory info = staking.stakeInfoOf(alice);
        assertEq(info.staked, 70 ether, "staked");
        assertEq(info.unstaking, 30 ether, "unstaking");
        assertEq(info.unstakeAvailableAt, availableAt, "available");
    }

    function test_requestUnstake_revertsOnZero() public {
        vm.expectRevert(IStaking.StakingZeroAmount.selector);
        vm.prank(alice);
        staking.requestUnstake(0);
    }

    function test_requestUnstake_revertsOnLockedStake() public {
        _registerAndStake(alice, 100 ether);
        vm.prank(address(market));
        staking.lock(JOB, alice, 80 ether, 1, 0, 0);
        vm.expectRevert(
            abi.encodeWithSelector(IStaking.StakingInsufficientFreeStake.selector, alice, 20 ether, 21 ether)
        );
        vm.prank(alice);
        staking.requestUnstake(21 ether);
    }

    function test_withdrawStake_paysAfterCooldown() public {
        _registerAndStake(alice, 100 ether);
        vm.prank(alice);
        staking.requestUnstake(100 ether);
        vm.warp(block.timestamp + 1 days);
        vm.expectEmit();
        emit IStaking.StakeWithdrawn(alice, 100 ether);
        vm.prank(alice);
        staking.withdrawStake();
        assertEq(token.balanceOf(alice), 1_000 ether, "alice whole again");
        assertEq(staking.stakeInfoOf(alice).unstaking, 0, "unstaking");
    }

    function test_withdrawStake_revertsDuringCooldown() public {
        _registerAndStake(alice, 100 ether);
        vm.prank(alice);
        staking.requestUnstake(10 ether);
        uint256 availableAt = block.timestamp + 1 days;
        vm.warp(availableAt - 1);
        vm.expectRevert(abi.encodeWithSelector(IStaking.StakingCooldownActive.selector, alice, availableAt));
        vm.prank(alice);
        staking.withdrawStake();
    }

    function test_withdrawStake_revertsWhenNothingUnstaking() public {
        vm.expectRevert(abi.encodeWithSelector(IStaking.StakingNothingUnstaking.selector, alice));
        vm.prank(alice);
        staking.withdrawStake();
    }

    function test_withdrawStake_revertsTheSecondTime() public {
        _registerAndStake(alice, 100 ether);
        vm.prank(alice);
        staking.requestUnstake(10 ether);
        vm.warp(block.timestamp + 1 days);
        vm.startPrank(alice);
        staking.withdrawStake();
        vm.expectRevert(abi.encodeWithSelector(IStaking.StakingNothingUnstaking.selector, alice));
        staking.withdrawStake();
        vm.stopPrank();
    }

    function test_lock_locksFreeStake() public {
        _registerAndStake(alice, 100 ether);
        vm.expectEmit();
        emit IStaking.StakeLocked(alice, JOB, 60 ether);
        vm.prank(address(market));
        staking.lock(JOB, alice, 60 ether, 4, 81_920, 3);
        assertEq(staking.freeStakeOf(alice), 40 ether, "free");
        assertEq(staking.stakeOf(alice), 100 ether, "stake");
    }

    function test_lock_revertsForOthers() public {
        vm.expectRevert(abi.encodeWithSelector(IStaking.StakingOnlyJobMarket.selector, alice));
        vm.prank(alice);
        staking.lock(JOB, alice, 1, 0, 0, 0);
    }

    function test_lock_revertsWhenNotRegistered() public {
        vm.prank(alice);
        staking.stake(100 ether);
        vm.expectRevert(abi.encodeWithSelector(IStaking.StakingNotRegistered.selector, alice));
        vm.prank(address(market));
        staking.lock(JOB, alice, 1 ether, 1, 0, 0);
    }

    function test_lock_revertsOnCapabilityMismatch() public {
        _registerAndStake(alice, 100 ether);
        vm.expectRevert(abi.encodeWithSelector(IStaking.StakingCapabilityMismatch.selector, alice));
        vm.prank(address(market));
        staking.lock(JOB, alice, 1 ether, 5, 0, 0);
        vm.expectRevert(abi.encodeWithSelector(IStaking.StakingCapabilityMismatch.selector, alice));
        vm.prank(address(market));
        staking.lock(JOB, alice, 1 ether, 1, 81_921, 0);
        vm.expectRevert(abi.encodeWithSelector(IStaking.StakingCapabilityMismatch.selector, alice));
        vm.prank(address(market));
        staking.lock(JOB, alice, 1 ether, 1, 0, 4);
    }

    function test_lock_revertsBelowMinimumStake() public {
        _registerAndStake(alice, 100 ether);
        vm.prank(owner);
        staking.setMinProviderStake(150 ether);
        vm.expectRevert(abi.encodeWithSelector(IStaking.StakingBelowMinimumStake.selector, alice, 100 ether, 150 ether));
        vm.prank(address(market));
        staking.lock(JOB, alice, 1 ether, 1, 0, 0);
    }

    function test_lock_revertsOnInsufficientFreeStake() public {
        _registerAndStake(alice, 100 ether);
        vm.prank(address(market));
        staking.lock(JOB, alice, 70 ether, 1, 0, 0);
        vm.expectRevert(
            abi.encodeWithSelector(IStaking.StakingInsufficientFreeStake.selector, alice, 30 ether, 31 ether)
        );
        vm.prank(address(market));
        staking.lock(JOB, alice, 31 ether, 1, 0, 0);
    }

    function test_release_unlocksAndSlashesByMask() public {
        _registerAndStake(alice, 100 ether);
        _registerAndStake(bob, 100 ether);
        vm.prank(address(market));
        staking.lock(JOB, alice, 25 ether, 1, 0, 0);
        vm.prank(address(market));
        staking.lock(JOB, bob, 25 ether, 1, 0, 0);
        address[] memory accounts = new address[](2);
        (accounts[0], accounts[1]) = (alice, bob);
        vm.expectEmit();
        emit IStaking.StakeUnlocked(alice, JOB, 25 ether);
        vm.expectEmit();
        emit IStaking.StakeSlashed(bob, JOB, 25 ether);
        vm.prank(address(market));
        staking.release(JOB, accounts, 25 ether, 0x2);
        assertEq(token.balanceOf(staking.BURN_ADDRESS()), 25 ether, "slashed stake burned");
        assertEq(token.balanceOf(address(market)), 0, "nothing to the market");
        assertEq(staking.totalProviderStake(), 175 ether, "total stake shrinks by the burn");
        assertEq(staking.freeStakeOf(alice), 100 ether, "alice free");
        assertEq(staking.stakeOf(bob), 75 ether, "bob stake");
        assertEq(staking.freeStakeOf(bob), 75 ether, "bob free");
    }

    function test_release_revertsForOthers() public {
        vm.expectRevert(abi.encodeWithSelector(IStaking.StakingOnlyJobMarket.selector, alice));
        vm.prank(alice);
        staking.release(JOB, new address[](0), 0, 0);
    }

    function test_release_revertsOnUnderflow() public {
        _registerAndStake(alice, 100 ether);
        vm.prank(address(market));
        staking.lock(JOB, alice, 5 ether, 1, 0, 0);
        address[] memory accounts = new address[](1);
        accounts[0] = alice;
        vm.expectRevert(abi.encodeWithSelector(IStaking.StakingLockUnderflow.selector, alice, 5 ether, 6 ether));
        vm.prank(address(market));
        staking.release(JOB, accounts, 6 ether, 0);
    }

    function test_release_revertsOnOversizedBatch() public {
        vm.expectRevert(abi.encodeWithSelector(IStaking.StakingBatchTooLarge.selector, 17));
        vm.prank(address(market));
        staking.release(JOB, new address[](17), 0, 0);
    }

    function test_setJobMarket_revertsTheSecondTime() public {
        vm.expectRevert(abi.encodeWithSelector(IStaking.StakingJobMarketAlreadySet.selector, address(market)));
        vm.prank(owner);
        staking.setJobMarket(alice);
    }

    function test_setJobMarket_revertsOnZero() public {
        Staking fresh = new Staking(token, owner);
        vm.expectRevert(IStaking.StakingZeroJobMarket.selector);
        vm.prank(owner);
        fresh.setJobMarket(address(0));
    }

    function test_setJobMarket_revertsForNonOwner() public {
        Staking fresh = new Staking(token, owner);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, alice));
        vm.prank(alice);
        fresh.setJobMarket(alice);
    }

    function test_setMinProviderStake_updatesWithinBounds() public {
        vm.expectEmit();
        emit IStaking.MinProviderStakeUpdated(1 ether, 500 ether);
        vm.prank(owner);
        staking.setMinProviderStake(500 ether);
        assertEq(staking.minProviderStake(), 500 ether, "min stake");
    }

    function test_setMinProviderStake_revertsAboveBound() public {
        uint256 max = staking.MAX_MIN_PROVIDER_STAKE();
        vm.expectRevert(abi.encodeWithSelector(IStaking.StakingParameterOutOfBounds.selector, max + 1, 0, max));
        vm.prank(owner);
        staking.setMinProviderStake(max + 1);
    }

    function test_setMinProviderStake_revertsForNonOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, alice));
        vm.prank(alice);
        staking.setMinProviderStake(1);
    }

    function test_setUnstakeCooldown_updatesWithinBounds() public {
        vm.expectEmit();
        emit IStaking.UnstakeCooldownUpdated(1 days, 2 hours);
        vm.prank(owner);
        staking.setUnstakeCooldown(2 hours);
        assertEq(staking.unstakeCooldown(), 2 hours, "cooldown");
    }

    function test_setUnstakeCooldown_revertsOutOfBounds() public {
        vm.startPrank(owner);
        vm.expectRevert(
            abi.encodeWithSelector(IStaking.StakingParameterOutOfBounds.selector, 59 minutes, 1 hours, 30 days)
        );
        staking.setUnstakeCooldown(59 minutes);
        vm.expectRevert(
            abi.encodeWithSelector(IStaking.StakingParameterOutOfBounds.selector, 31 days, 1 hours, 30 days)
        );
        staking.setUnstakeCooldown(31 days);
        vm.stopPrank();
    }

    function test_transferOwnership_takesTwoSteps() public {
        vm.prank(owner);
        staking.transferOwnership(alice);
        assertEq(staking.owner(), owner, "still owner until accepted");
        vm.prank(alice);
        staking.acceptOwnership();
        assertEq(staking.owner(), alice, "new owner");
    }

    // ------------------------------------------------------------------------------ protocol v2

    function test_setJobMarket_revertsOnForeignMarket() public {
        Staking fresh = new Staking(token, owner);
        // A market of another registry (this file's stub points at `staking`, not `fresh`).
        vm.expectRevert(abi.encodeWithSelector(IStaking.StakingJobMarketMismatch.selector, address(market)));
        vm.prank(owner);
        fresh.setJobMarket(address(market));
        // An account without code, and a contract without the getters.
        vm.expectRevert(abi.encodeWithSelector(IStaking.StakingJobMarketMismatch.selector, alice));
        vm.prank(owner);
        fresh.setJobMarket(alice);
        vm.expectRevert(abi.encodeWithSelector(IStaking.StakingJobMarketMismatch.selector, address(token)));
        vm.prank(owner);
        fresh.setJobMarket(address(token));
    }

    function test_renounceOwnership_isDisabled() public {
        vm.expectRevert(IStaking.StakingRenounceDisabled.selector);
        vm.prank(owner);
        staking.renounceOwnership();
        assertEq(staking.owner(), owner, "owner kept");
    }

    function test_constructor_setsNonZeroMinimumStake() public {
        Staking fresh = new Staking(token, owner);
        assertEq(fresh.minProviderStake(), 100 ether, "default minimum stake");
    }

    function test_forfeit_burnsPenaltyAndFreesTheRest() public {
        _registerAndStake(alice, 100 ether);
        vm.prank(address(market));
        staking.lock(JOB, alice, 10 ether, 1, 0, 0);
        vm.expectEmit();
        emit IStaking.StakeUnlocked(alice, JOB, 9 ether);
        vm.expectEmit();
        emit IStaking.StakeSlashed(alice, JOB, 1 ether);
        vm.prank(address(market));
        staking.forfeit(JOB, alice, 10 ether, 1 ether);
        assertEq(staking.stakeOf(alice), 99 ether, "stake");
        assertEq(staking.freeStakeOf(alice), 99 ether, "free");
        assertEq(token.balanceOf(staking.BURN_ADDRESS()), 1 ether, "burned");
        assertEq(staking.totalProviderStake(), 99 ether, "total");
    }

    function test_forfeit_revertsOnPenaltyAboveAmount() public {
        vm.expectRevert(abi.encodeWithSelector(IStaking.StakingPenaltyTooLarge.selector, 2, 1));
        vm.prank(address(market));
        staking.forfeit(JOB, alice, 1, 2);
    }

    function test_sortitionWeight_ignoresStakeAddedAtOrAfterCreation() public {
        vm.roll(10);
        _registerAndStake(alice, 100 ether);
        (uint256 weight, uint256 total) = staking.sortitionWeight(alice, 10);
        assertEq(weight, 0, "stake of the creation block does not count");
        assertEq(total, 100 ether, "total");
        (weight,) = staking.sortitionWeight(alice, 11);
        assertEq(weight, 100 ether, "stake from before the creation block counts");
        vm.prank(address(market));
        staking.lock(JOB, alice, 30 ether, 1, 0, 0);
        (weight,) = staking.sortitionWeight(alice, 11);
        assertEq(weight, 70 ether, "free stake only");
    }

    function test_totalProviderStake_countsRegisteredProvidersOnly() public {
        vm.prank(alice);
        staking.stake(100 ether);
        assertEq(staking.totalProviderStake(), 0, "unregistered stake is not drawn");
        vm.prank(alice);
        staking.register(_caps(1));
        assertEq(staking.totalProviderStake(), 100 ether, "counted once registered");
        vm.prank(alice);
        staking.requestUnstake(40 ether);
        assertEq(staking.totalProviderStake(), 60 ether, "unstaking leaves the total");
    }
}
