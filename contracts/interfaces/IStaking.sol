// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IStaking
/// @notice Provider registry and stake ledger of NeuroLink, for any ERC-20 fixed at deploy. Providers
///         register their hardware and stake; requesters may stake too (schedulers read it as priority).
///         Free stake can be unstaked after a cooldown; stake locked as job collateral can only be
///         released or slashed by the JobMarket. Slashed stake is burned (sent to BURN_ADDRESS): no party
///         of any job profits from a slash. Registered providers' stake is summed in
///         `totalProviderStake`, the denominator of the JobMarket's stake-weighted sortition.
interface IStaking {
    /// @notice What a provider offers. Packed: the first five fields share one storage slot.
    /// @param gpuCount GPUs the provider runs jobs on; registered providers have at least one.
    /// @param vramMb Memory per GPU in MiB.
    /// @param tier Hardware class (0 = CPU stand-in, higher = faster GPU class), compared with `>=`.
    /// @param pricePerGpuSecond Asking price in token units per GPU-second; informational for schedulers.
    /// @param metadataDigest sha2-256 digest of the CID of the provider's metadata JSON.
    /// @param deviceClass Determinism class of the provider's devices: the hash of a fixed suite's outputs
    ///        (docs/VERIFICATION.md), equal for devices that compute it bit-identically; zero = unknown.
    ///        `exact` jobs are assigned within one class.
    struct Capabilities {
        uint16 gpuCount;
        uint32 vramMb;
        uint8 tier;
        uint96 pricePerGpuSecond;
        bytes32 metadataDigest;
        bytes32 deviceClass;
    }

    /// @notice An account's stake: `staked` includes `locked`; `unstaking` waits for `unstakeAvailableAt`.
    struct StakeInfo {
        uint128 staked;
        uint128 locked;
        uint128 unstaking;
        uint40 unstakeAvailableAt;
    }

    /// @notice The token address is zero.
    error StakingZeroToken();
    /// @notice The caller is not the JobMarket.
    error StakingOnlyJobMarket(address caller);
    /// @notice The JobMarket is already set; it can be set once.
    error StakingJobMarketAlreadySet(address jobMarket);
    /// @notice The JobMarket address is zero.
    error StakingZeroJobMarket();
    /// @notice The JobMarket does not pay in this contract's token or lock stake in another registry.
    error StakingJobMarketMismatch(address jobMarket);
    /// @notice Renouncing ownership would freeze the parameters forever.
    error StakingRenounceDisabled();
    /// @notice The penalty exceeds the amount it is taken from.
    error StakingPenaltyTooLarge(uint256 penalty, uint256 amount);
    /// @notice The provider is already registered; use updateCapabilities.
    error StakingAlreadyRegistered(address provider);
    /// @notice The account has not registered as a provider.
    error StakingNotRegistered(address provider);
    /// @notice Capabilities must name at least one GPU (or CPU device slot).
    error StakingInvalidCapabilities();
    /// @notice An amount of zero was given where a positive one is needed.
    error StakingZeroAmount();
    /// @notice The amount exceeds what fits the stake ledger (uint104).
    error StakingAmountTooLarge(uint256 amount);
    /// @notice The account's free (unlocked) stake is smaller than the amount asked for.
    error StakingInsufficientFreeStake(address account, uint256 free, uint256 needed);
    /// @notice The provider's total stake is below the minimum a provider must keep to take jobs.
    error StakingBelowMinimumStake(address provider, uint256 staked, uint256 minimum);
    /// @notice The provider's hardware does not meet the job's requirements.
    error StakingCapabilityMismatch(address provider);
    /// @notice Nothing is waiting to be withdrawn.
    error StakingNothingUnstaking(address account);
    /// @notice The unstake cooldown has not passed yet.
    error StakingCooldownActive(address account, uint256 availableAt);
    /// @notice The JobMarket released more stake than the account has locked.
    error StakingLockUnderflow(address account, uint256 locked, uint256 amount);
    /// @notice An owner parameter is outside its hard-coded bounds.
    error StakingParameterOutOfBounds(uint256 value, uint256 min, uint256 max);
    /// @notice A batch is longer than the JobMarket's replica limit.
    error StakingBatchTooLarge(uint256 length);

    /// @notice The one JobMarket allowed to lock, release and slash was set.
    event JobMarketSet(address indexed jobMarket);
    /// @notice A provider registered with `capabilities`.
    event ProviderRegistered(address indexed provider, Capabilities capabilities);
    /// @notice A provider changed its capabilities.
    event CapabilitiesUpdated(address indexed provider, Capabilities capabilities);
    /// @notice `account` added `amount` to its stake.
    event Staked(address indexed account, uint256 amount);
    /// @notice `account` moved `amount` of free stake into the cooldown, withdrawable at `availableAt`.
    event UnstakeRequested(address indexed account, uint256 amount, uint256 availableAt);
    /// @notice `account` withdrew `amount` after the cooldown.
    event StakeWithdrawn(address indexed account, uint256 amount);
    /// @notice `amount` of `account`'s stake was locked as collateral of job `jobId`.
    event StakeLocked(address indexed account, uint256 indexed jobId, uint256 amount);
    /// @notice `amount` of `account`'s stake locked for job `jobId` became free again.
    event StakeUnlocked(address indexed account, uint256 indexed jobId, uint256 amount);
    /// @notice `amount` of `account`'s stake locked for job `jobId` was slashed and burned.
    event StakeSlashed(address indexed account, uint256 indexed jobId, uint256 amount);
    /// @notice The minimum provider stake changed.
    event MinProviderStakeUpdated(uint256 oldValue, uint256 newValue);
    /// @notice The unstake cooldown changed.
    event UnstakeCooldownUpdated(uint256 oldValue, uint256 newValue);

    /// @notice Register the caller as a provider; `capabilities.gpuCount` must be at least one.
    /// @param capabilities The hardware and price the caller offers.
    function register(Capabilities calldata capabilities) external;

    /// @notice Replace the caller's capabilities; the caller must be registered.
    /// @param capabilities The new hardware and price; `gpuCount` must stay at least one.
    function updateCapabilities(Capabilities calldata capabilities) external;

    /// @notice Add `amount` tokens to the caller's stake (after approving this contract).
    /// @param amount Tokens to pull from the caller.
    function stake(uint256 amount) external;

    /// @notice Move `amount` of free stake into the cooldown; a new request restarts the cooldown.
    /// @param amount Tokens to unstake; at most the caller's free stake.
    function requestUnstake(uint256 amount) external;

    /// @notice Send the caller everything whose cooldown has passed.
    function withdrawStake() external;

    /// @notice Lock `amount` of `provider`'s free stake as collateral, checking it may take the job.
    /// @dev Only the JobMarket. Reverts unless the provider is registered, keeps the minimum stake,
    ///      has `amount` free and its hardware meets every requirement.
    /// @param jobId The job the collateral backs (for the event).
    /// @param provider The account claiming a job slot.
    /// @param amount Collateral per slot.
    /// @param minGpuCount Required GPUs.
    /// @param minVramMb Required memory per GPU in MiB.
    /// @param minTier Required hardware tier.
    function lock(uint256 jobId, address provider, uint256 amount, uint16 minGpuCount, uint32 minVramMb, uint8 minTier)
        external;

    /// @notice Release `amount` of locked stake of every account in `accounts`; the ones whose bit is set
    ///         in `slashMask` lose it instead, and the slashed total is burned.
    /// @dev Only the JobMarket; at most 16 accounts (the JobMarket's MAX_REPLICAS).
    /// @param jobId The job the collateral backed (for the events).
    /// @param accounts The providers of one job's slots, in slot order.
    /// @param amount Collateral per slot.
    /// @param slashMask Bit i set: account i is slashed; their total is burned.
    function release(uint256 jobId, address[] calldata accounts, uint256 amount, uint256 slashMask) external;

    /// @notice Release `amount` of `account`'s locked stake, burning `penalty` of it (a slot given back).
    /// @dev Only the JobMarket.
    /// @param jobId The job the collateral backed.
    /// @param account The provider.
    /// @param amount Collateral of the slot.
    /// @param penalty Part of `amount` that is burned.
    function forfeit(uint256 jobId, address account, uint256 amount, uint256 penalty) external;

    /// @notice Set the JobMarket once; owner only. It must pay in this token and lock stake here.
    /// @param jobMarket The JobMarket contract.
    function setJobMarket(address jobMarket) external;

    /// @notice Set the stake a provider must keep to claim jobs; owner only, within hard bounds.
    /// @param value New minimum in token units.
    function setMinProviderStake(uint256 value) external;

    /// @notice Set the unstake cooldown in seconds; owner only, within hard bounds.
    /// @param value New cooldown.
    function setUnstakeCooldown(uint256 value) external;

    /// @notice A provider's capabilities (all zero when unregistered).
    /// @param provider The account.
    /// @return capabilities What it registered.
    function providerOf(address provider) external view returns (Capabilities memory capabilities);

    /// @notice Whether `provider` has registered.
    /// @param provider The account.
    /// @return Whether it registered.
    function isRegistered(address provider) external view returns (bool);

    /// @notice The determinism class `provider` registered (zero when unknown or unregistered).
    /// @param provider The provider.
    /// @return The class id.
    function deviceClassOf(address provider) external view returns (bytes32);

    /// @notice An account's stake, including the locked part (excludes tokens in the cooldown).
    /// @param account The account.
    /// @return Its stake.
    function stakeOf(address account) external view returns (uint256);

    /// @notice Stake that is neither locked nor unstaking: what can back a new claim.
    /// @param account The account.
    /// @return Its free stake.
    function freeStakeOf(address account) external view returns (uint256);

    /// @notice An account's sortition weight for a job created in block `createdBlock`: its free stake if
    ///         it is a registered provider whose stake last grew before that block (stake added once the
    ///         seed could be known does not count), else 0; and the sum of all providers' stake.
    /// @param account The account.
    /// @param createdBlock The job's creation block.
    /// @return weight The account's weight.
    /// @return total The sum of registered providers' stake.
    function sortitionWeight(address account, uint256 createdBlock)
        external
        view
        returns (uint256 weight, uint256 total);

    /// @notice The sum of registered providers' stake (locked included).
    /// @return The total.
    function totalProviderStake() external view returns (uint256);

    /// @notice The block of an account's last stake increase (0 if never).
    /// @param account The account.
    /// @return The block number.
    function stakedAtBlock(address account) external view returns (uint256);

    /// @notice The whole stake record of an account.
    /// @param account The account.
    /// @return info Staked, locked, unstaking and when the unstaking part becomes withdrawable.
    function stakeInfoOf(address account) external view returns (StakeInfo memory info);
}
