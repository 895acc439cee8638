// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IStaking} from "./interfaces/IStaking.sol";
import {IJobMarket} from "./interfaces/IJobMarket.sol";

/// @title Staking
/// @notice Provider registry and stake ledger for one ERC-20 (plain tokens only: fee-on-transfer and
///         rebasing tokens break the ledger's one-to-one backing and are not supported).
contract Staking is IStaking, Ownable2Step {
    using SafeERC20 for IERC20;

    /// @notice Largest batch `release` accepts: the JobMarket's MAX_REPLICAS.
    uint256 public constant MAX_BATCH = 16;
    /// @notice Hard upper bound of the minimum provider stake.
    uint256 public constant MAX_MIN_PROVIDER_STAKE = 1_000_000 ether;
    /// @notice Minimum provider stake at deployment (100 tokens of 18 decimals): an address needs real
    ///         stake before it can be drawn, so registering puppets is not free.
    uint96 public constant DEFAULT_MIN_PROVIDER_STAKE = 100 ether;
    /// @notice Hard lower bound of the unstake cooldown.
    uint256 public constant MIN_UNSTAKE_COOLDOWN = 1 hours;
    /// @notice Hard upper bound of the unstake cooldown.
    uint256 public constant MAX_UNSTAKE_COOLDOWN = 30 days;
    /// @notice Where slashed stake goes: burned, so no party of a job profits from a slash.
    address public constant BURN_ADDRESS = 0x000000000000000000000000000000000000dEaD;

    /// @notice The staked token.
    IERC20 public immutable token;
    /// @notice The only contract that may lock, release and slash stake; set once.
    address public jobMarket;
    /// @notice Stake a provider must keep to claim jobs (shares a storage slot with `jobMarket`).
    uint96 public minProviderStake = DEFAULT_MIN_PROVIDER_STAKE;
    /// @dev Sum of registered providers' stake, < 2**128 (bounded by the token's supply).
    uint128 private _totalProviderStake;
    /// @notice Seconds between `requestUnstake` and `withdrawStake` (shares `_totalProviderStake`'s slot).
    uint32 public unstakeCooldown = 1 days;

    /// @dev An account's stake in two words; the first is what a claim reads and writes. Amounts fit
    ///      104 bits (checked in `stake`), block numbers 48.
    struct StakeRecord {
        uint104 staked;
        uint104 locked;
        uint48 stakedAtBlock;
        uint104 unstaking;
        uint40 unstakeAvailableAt;
    }

    mapping(address provider => Capabilities) private _providers;
    mapping(address account => StakeRecord) private _stakes;

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
        // Stake held before registering counts from now on.
        _totalProviderStake += _stakes[msg.sender].staked;
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
        StakeRecord storage info = _stakes[msg.sender];
        uint256 total = uint256(info.staked) + amount;
        if (total > type(uint104).max) revert StakingAmountTooLarge(amount);
        info.staked = uint104(total);
        // Jobs created in this block or earlier do not count this stake (their seed may be known).
        info.stakedAtBlock = uint48(block.number);
        if (_providers[msg.sender].gpuCount != 0) _totalProviderStake += uint128(amount);
        emit Staked(msg.sender, amount);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IStaking
    function requestUnstake(uint256 amount) external {
        if (amount == 0) revert StakingZeroAmount();
        StakeRecord storage info = _stakes[msg.sender];
        uint256 free = info.staked - info.locked;
        if (amount > free) revert StakingInsufficientFreeStake(msg.sender, free, amount);
        uint256 availableAt = block.timestamp + unstakeCooldown;
        // amount <= staked < 2**104, and unstaking + amount never exceeds the tokens ever staked.
        info.staked -= uint104(amount);
        info.unstaking += uint104(amount);
        info.unstakeAvailableAt = uint40(availableAt);
        if (_providers[msg.sender].gpuCount != 0) _totalProviderStake -= uint128(amount);
        emit UnstakeRequested(msg.sender, amount, availableAt);
    }

    /// @inheritdoc IStaking
    function withdrawStake() external {
        StakeRecord storage info = _stakes[msg.sender];
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
    function lock(uint256 jobId, address provider, uint256 amount, uint16 minGpuCount, uint32 minVramMb, uint8 minTier)
        external
        onlyJobMarket
    {
        Capabilities storage caps = _providers[provider];
        uint16 gpuCount = caps.gpuCount;
        if (gpuCount == 0) revert StakingNotRegistered(provider);
        if (gpuCount < minGpuCount || caps.vramMb < minVramMb || caps.tier < minTier) {
            revert StakingCapabilityMismatch(provider);
        }
        StakeRecord storage info = _stakes[provider];
        uint256 staked = info.staked;
        uint256 locked = info.locked;
        uint256 minimum = minProviderStake;
        if (staked < minimum) revert StakingBelowMinimumStake(provider, staked, minimum);
        if (staked - locked < amount) revert StakingInsufficientFreeStake(provider, staked - locked, amount);
        info.locked = uint104(locked + amount); // <= staked < 2**104
        emit StakeLocked(provider, jobId, amount);
    }

    /// @inheritdoc IStaking
    function release(uint256 jobId, address[] calldata accounts, uint256 amount, uint256 slashMask)
        external
        onlyJobMarket
    {
        uint256 slashed;
        uint256 n = accounts.length;
        if (n > MAX_BATCH) revert StakingBatchTooLarge(n);
        for (uint256 i; i < n; ++i) {
            address account = accounts[i];
            StakeRecord storage info = _stakes[account];
            uint256 locked = info.locked;
            if (locked < amount) revert StakingLockUnderflow(account, locked, amount);
            info.locked = uint104(locked - amount);
            if (slashMask & (1 << i) != 0) {
                info.staked -= uint104(amount); // locked <= staked
                slashed += amount;
                emit StakeSlashed(account, jobId, amount);
            } else {
                emit StakeUnlocked(account, jobId, amount);
            }
        }
        _burn(slashed);
    }

    /// @inheritdoc IStaking
    function forfeit(uint256 jobId, address account, uint256 amount, uint256 penalty) external onlyJobMarket {
        if (penalty > amount) revert StakingPenaltyTooLarge(penalty, amount);
        StakeRecord storage info = _stakes[account];
        uint256 locked = info.locked;
        if (locked < amount) revert StakingLockUnderflow(account, locked, amount);
        info.locked = uint104(locked - amount);
        info.staked -= uint104(penalty); // penalty <= amount <= locked <= staked
        emit StakeUnlocked(account, jobId, amount - penalty);
        if (penalty != 0) emit StakeSlashed(account, jobId, penalty);
        _burn(penalty);
    }

    /// @inheritdoc IStaking
    function setJobMarket(address jobMarket_) external onlyOwner {
        if (jobMarket != address(0)) revert StakingJobMarketAlreadySet(jobMarket);
        if (jobMarket_ == address(0)) revert StakingZeroJobMarket();
        if (jobMarket_.code.length == 0) revert StakingJobMarketMismatch(jobMarket_);
        try this.marketMatches(jobMarket_) returns (bool ok) {
            if (!ok) revert StakingJobMarketMismatch(jobMarket_);
        } catch {
            revert StakingJobMarketMismatch(jobMarket_);
        }
        jobMarket = jobMarket_;
        emit JobMarketSet(jobMarket_);
    }

    /// @notice Whether `market` pays in this contract's token and locks stake here (for `setJobMarket`;
    ///         an external view so a market without these getters fails inside a `try`).
    /// @param market The candidate JobMarket.
    /// @return Whether both match.
    function marketMatches(address market) external view returns (bool) {
        return
            address(IJobMarket(market).token()) == address(token)
                && address(IJobMarket(market).staking()) == address(this);
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
        unstakeCooldown = uint32(value); // <= MAX_UNSTAKE_COOLDOWN < 2**32
    }

    /// @notice Disabled: an owner-less Staking could never have its parameters corrected.
    function renounceOwnership() public pure override {
        revert StakingRenounceDisabled();
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
    function deviceClassOf(address provider) external view returns (bytes32) {
        return _providers[provider].deviceClass;
    }

    /// @inheritdoc IStaking
    function stakeOf(address account) external view returns (uint256) {
        return _stakes[account].staked;
    }

    /// @inheritdoc IStaking
    function freeStakeOf(address account) external view returns (uint256) {
        StakeRecord storage info = _stakes[account];
        return info.staked - info.locked;
    }

    /// @inheritdoc IStaking
    function sortitionWeight(address account, uint256 createdBlock)
        external
        view
        returns (uint256 weight, uint256 total)
    {
        StakeRecord storage info = _stakes[account];
        total = _totalProviderStake;
        if (info.stakedAtBlock < createdBlock && _providers[account].gpuCount != 0) {
            weight = info.staked - info.locked;
        }
    }

    /// @inheritdoc IStaking
    function totalProviderStake() external view returns (uint256) {
        return _totalProviderStake;
    }

    /// @inheritdoc IStaking
    function stakedAtBlock(address account) external view returns (uint256) {
        return _stakes[account].stakedAtBlock;
    }

    /// @inheritdoc IStaking
    function stakeInfoOf(address account) external view returns (StakeInfo memory) {
        StakeRecord storage info = _stakes[account];
        return StakeInfo({
            staked: info.staked,
            locked: info.locked,
            unstaking: info.unstaking,
            unstakeAvailableAt: info.unstakeAvailableAt
        });
    }

    function _setCapabilities(Capabilities calldata capabilities) private {
        if (capabilities.gpuCount == 0) revert StakingInvalidCapabilities();
        _providers[msg.sender] = capabilities;
    }

    /// @dev Slashed stake of registered providers leaves the total; the tokens go to BURN_ADDRESS.
    function _burn(uint256 amount) private {
        if (amount == 0) return;
        _totalProviderStake -= uint128(amount);
        token.safeTransfer(BURN_ADDRESS, amount);
    }
}
