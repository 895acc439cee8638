// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IStaking} from "./interfaces/IStaking.sol";

/// @title Staking
/// @notice Provider registry and stake ledger for one ERC-20 (plain tokens only: fee-on-transfer and
///         rebasing tokens break the ledger's one-to-one backing and are not supported).
contract Staking is IStaking, Ownable2Step {
    using SafeERC20 for IERC20;

    /// @notice Largest batch `release` accepts: the JobMarket's MAX_REPLICAS.
    uint256 public constant MAX_BATCH = 16;
    /// @notice Hard upper bound of the minimum provider stake.
    uint256 public constant MAX_MIN_PROVIDER_STAKE = 1_000_000 ether;
    /// @notice Hard lower bound of the unstake cooldown.
    uint256 public constant MIN_UNSTAKE_COOLDOWN = 1 hours;
    /// @notice Hard upper bound of the unstake cooldown.
    uint256 public constant MAX_UNSTAKE_COOLDOWN = 30 days;

    /// @notice The staked token.
    IERC20 public immutable token;
    /// @notice The only contract that may lock, release and slash stake; set once.
    address public jobMarket;
    /// @notice Stake a provider must keep to claim jobs (shares a storage slot with `jobMarket`).
    uint96 public minProviderStake;
    /// @notice Seconds between `requestUnstake` and `withdrawStake`.
    uint256 public unstakeCooldown = 1 days;

    mapping(address provider => Capabilities) private _providers;
    mapping(address account => StakeInfo) private _stakes;

    modifier onlyJobMarket() {
        if (msg.sender != jobMarket) revert StakingOnlyJobMarket(msg.sender);
        _;
    }

    /// @param token_ The ERC-20 staked here (and paid by the JobMarket).
    /// @param initialOwner Owner of the parameters; transfers are two-step.
    constructor(IERC20 token_, address initialOwner) Ownable(initialOwner) {
        if (address(token_) == address(0)) revert StakingZeroToken();
        token = token_;
    }

    /// @inheritdoc IStaking
    function register(Capabilities calldata capabilities) external {
        if (_providers[msg.sender].gpuCount != 0) revert StakingAlreadyRegistered(msg.sender);
        _setCapabilities(capabilities);
        emit ProviderRegistered(msg.sender, capabilities);
    }

    /// @inheritdoc IStaking
    function updateCapabilities(Capabilities calldata capabilities) external {
        if (_providers[msg.sender].gpuCount == 0) revert StakingNotRegistered(msg.sender);
        _setCapabilities(capabilities);
        emit CapabilitiesUpdated(msg.sender, capabilities);
    }

    /// @inheritdoc IStaking
    function stake(uint256 amount) external {
        if (amount == 0) revert StakingZeroAmount();
        StakeInfo storage info = _stakes[msg.sender];
        uint256 total = uint256(info.staked) + amount;
        if (total > type(uint128).max) revert StakingAmountTooLarge(amount);
        info.staked = uint128(total);
        emit Staked(msg.sender, amount);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IStaking
    function requestUnstake(uint256 amount) external {
        if (amount == 0) revert StakingZeroAmount();
        StakeInfo storage info = _stakes[msg.sender];
        uint256 free = info.staked - info.locked;
        if (amount > free) revert StakingInsufficientFreeStake(msg.sender, free, amount);
        uint256 availableAt = block.timestamp + unstakeCooldown;
        // amount <= staked < 2**128, and unstaking + amount never exceeds the tokens ever staked.
        info.staked -= uint128(amount);
        info.unstaking += uint128(amount);
        info.unstakeAvailableAt = uint40(availableAt);
        emit UnstakeRequested(msg.sender, amount, availableAt);
    }

    /// @inheritdoc IStaking
    function withdrawStake() external {
        StakeInfo storage info = _stakes[msg.sender];
        uint256 amount = info.unstaking;
        if (amount == 0) revert StakingNothingUnstaking(msg.sender);
        if (block.timestamp < info.unstakeAvailableAt) {
            revert StakingCooldownActive(msg.sender, info.unstakeAvailableAt);
        }
        info.unstaking = 0;
        info.unstakeAvailableAt = 0;
        emit StakeWithdrawn(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IStaking
    function lock(address provider, uint256 amount, uint16 minGpuCount, uint32 minVramMb, uint8 minTier)
        external
        onlyJobMarket
    {
        Capabilities storage caps = _providers[provider];
        uint16 gpuCount = caps.gpuCount;
        if (gpuCount == 0) revert StakingNotRegistered(provider);
        if (gpuCount < minGpuCount || caps.vramMb < minVramMb || caps.tier < minTier) {
            revert StakingCapabilityMismatch(provider);
        }
        StakeInfo storage info = _stakes[provider];
        uint256 staked = info.staked;
        uint256 locked = info.locked;
        uint256 minimum = minProviderStake;
        if (staked < minimum) revert StakingBelowMinimumStake(provider, staked, minimum);
        if (staked - locked < amount) revert StakingInsufficientFreeStake(provider, staked - locked, amount);
        info.locked = uint128(locked + amount); // <= staked < 2**128
        emit StakeLocked(provider, amount);
    }

    /// @inheritdoc IStaking
    function release(address[] calldata accounts, uint256 amount, uint256 slashMask) external onlyJobMarket {
        uint256 slashed;
        uint256 n = accounts.length;
        if (n > MAX_BATCH) revert StakingBatchTooLarge(n);
        for (uint256 i; i < n; ++i) {
            address account = accounts[i];
            StakeInfo storage info = _stakes[account];
            uint256 locked = info.locked;
            if (locked < amount) revert StakingLockUnderflow(account, locked, amount);
            info.locked = uint128(locked - amount);
            if (slashMask & (1 << i) != 0) {
                info.staked -= uint128(amount); // locked <= staked
                slashed += amount;
                emit StakeSlashed(account, amount);
            } else {
                emit StakeUnlocked(account, amount);
            }
        }
        if (slashed != 0) token.safeTransfer(msg.sender, slashed);
    }

    /// @inheritdoc IStaking
    function setJobMarket(address jobMarket_) external onlyOwner {
        if (jobMarket != address(0)) revert StakingJobMarketAlreadySet(jobMarket);
        if (jobMarket_ == address(0)) revert StakingZeroJobMarket();
        jobMarket = jobMarket_;
        emit JobMarketSet(jobMarket_);
    }

    /// @inheritdoc IStaking
    function setMinProviderStake(uint256 value) external onlyOwner {
        if (value > MAX_MIN_PROVIDER_STAKE) {
            revert StakingParameterOutOfBounds(value, 0, MAX_MIN_PROVIDER_STAKE);
        }
        emit MinProviderStakeUpdated(minProviderStake, value);
        minProviderStake = uint96(value); // <= MAX_MIN_PROVIDER_STAKE < 2**96
    }

    /// @inheritdoc IStaking
    function setUnstakeCooldown(uint256 value) external onlyOwner {
        if (value < MIN_UNSTAKE_COOLDOWN || value > MAX_UNSTAKE_COOLDOWN) {
            revert StakingParameterOutOfBounds(value, MIN_UNSTAKE_COOLDOWN, MAX_UNSTAKE_COOLDOWN);
        }
        emit UnstakeCooldownUpdated(unstakeCooldown, value);
        unstakeCooldown = value;
    }

    /// @inheritdoc IStaking
    function providerOf(address provider) external view returns (Capabilities memory) {
        return _providers[provider];
    }

    /// @inheritdoc IStaking
    function isRegistered(address provider) external view returns (bool) {
        return _providers[provider].gpuCount != 0;
    }

    /// @inheritdoc IStaking
    function stakeOf(address account) external view returns (uint256) {
        return _stakes[account].staked;
    }

    /// @inheritdoc IStaking
    function freeStakeOf(address account) external view returns (uint256) {
        StakeInfo storage info = _stakes[account];
        return info.staked - info.locked;
    }

    /// @inheritdoc IStaking
    function stakeInfoOf(address account) external view returns (StakeInfo memory) {
        return _stakes[account];
    }

    function _setCapabilities(Capabilities calldata capabilities) private {
        if (capabilities.gpuCount == 0) revert StakingInvalidCapabilities();
        _providers[msg.sender] = capabilities;
    }
}
