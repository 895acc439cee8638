// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IJobMarket
/// @notice Job escrow and lifecycle of NeuroLink: requesters escrow a payment for `k` replicas of a job,
///         staked providers claim slots (locking collateral), commit to and reveal the digest of their
///         result's CID, and settlement pays the majority digest and slashes the rest. Every path out
///         has a deadline after which anyone can call `settle`, so no job and no token is ever stuck.
///         All payouts are credited to `claimable` and pulled with `withdraw`.
interface IJobMarket {
    /// @notice Stored state of a job; the live phase is derived by `phaseOf`.
    enum Status {
        None,
        Open,
        Settled,
        Failed,
        Cancelled,
        Expired
    }

    /// @notice Where a job stands now (stored status plus the clock and the counters).
    enum Phase {
        None,
        Claiming,
        Committing,
        Revealing,
        Settleable,
        Settled,
        Failed,
        Cancelled,
        Expired
    }

    /// @notice Why a job failed.
    enum FailReason {
        UnderClaimed,
        NoQuorum
    }

    /// @notice Hardware a job needs and the compute it may use.
    /// @param gpuCount GPUs per replica.
    /// @param vramMb Memory per GPU in MiB.
    /// @param tier Minimum hardware tier.
    /// @param maxGpuSeconds Upper bound of GPU-seconds per replica (informational for pricing).
    struct Requirements {
        uint16 gpuCount;
        uint32 vramMb;
        uint8 tier;
        uint32 maxGpuSeconds;
    }

    /// @notice What a requester asks for. Windows are durations in seconds, chained from creation:
    ///         claimDeadline = now + claimWindow, commitDeadline = claimDeadline + commitWindow,
    ///         revealDeadline = commitDeadline + revealWindow.
    /// @param specDigest sha2-256 digest of the CID of the JobSpec JSON.
    /// @param payment Tokens escrowed and paid to the winning replicas (minus the protocol fee).
    /// @param replicas Number of independent replicas k, 1..MAX_REPLICAS.
    /// @param quorum Matching reveals needed to win, floor(k/2)+1..k; 0 means floor(k/2)+1.
    /// @param collateral Stake each provider locks per slot; lost on a wrong or missing result.
    struct JobParams {
        bytes32 specDigest;
        uint256 payment;
        uint8 replicas;
        uint8 quorum;
        uint256 collateral;
        Requirements requirements;
        uint32 claimWindow;
        uint32 commitWindow;
        uint32 revealWindow;
    }

    /// @notice A job as `getJob` shows it (storage packs it tighter; see JobMarket's JobRecord).
    struct Job {
        address requester;
        bytes32 specDigest;
        uint256 payment;
        uint256 collateral;
        uint8 replicas;
        uint8 quorum;
        Status status;
        uint8 claimed;
        uint8 committed;
        uint8 revealed;
        uint16 feeBps;
        Requirements requirements;
        uint32 claimDeadline;
        uint32 commitDeadline;
        uint32 revealDeadline;
    }

    /// @notice A slot as shown by `getSlots`.
    struct SlotView {
        address provider;
        bool committed;
        bool revealed;
        bytes32 commitment;
        bytes32 digest;
    }

    /// @notice The token or staking address is zero.
    error JobMarketZeroAddress();
    /// @notice No job has this id.
    error JobMarketUnknownJob(uint256 jobId);
    /// @notice The job is already settled, failed, cancelled or expired.
    error JobMarketJobClosed(uint256 jobId, Status status);
    /// @notice The payment is zero or does not fit 96 bits.
    error JobMarketInvalidPayment(uint256 payment);
    /// @notice The collateral does not fit 96 bits.
    error JobMarketInvalidCollateral(uint256 collateral);
    /// @notice Replicas must be 1..MAX_REPLICAS.
    error JobMarketInvalidReplicas(uint256 replicas);
    /// @notice Quorum must be floor(k/2)+1..k (0 picks floor(k/2)+1).
    error JobMarketInvalidQuorum(uint256 quorum, uint256 replicas);
    /// @notice A window is outside the owner's bounds.
    error JobMarketInvalidWindow(uint256 window, uint256 min, uint256 max);
    /// @notice The spec digest is zero.
    error JobMarketZeroSpecDigest();
    /// @notice Only the job's requester may do this.
    error JobMarketNotRequester(uint256 jobId, address caller);
    /// @notice The job has claims and can no longer be cancelled.
    error JobMarketAlreadyClaimed(uint256 jobId, uint256 claimed);
    /// @notice The claim window has closed.
    error JobMarketClaimClosed(uint256 jobId, uint256 claimDeadline);
    /// @notice Every slot is taken.
    error JobMarketJobFull(uint256 jobId);
    /// @notice The provider already holds a slot of this job.
    error JobMarketAlreadyClaimedBy(uint256 jobId, address provider);
    /// @notice The requester cannot work on its own job.
    error JobMarketRequesterCannotClaim(uint256 jobId);
    /// @notice The caller holds no slot of this job.
    error JobMarketNotAssigned(uint256 jobId, address caller);
    /// @notice A single-replica job has no commit round: its provider reveals directly.
    error JobMarketCommitNotRequired(uint256 jobId);
    /// @notice A commitment or digest of zero is not allowed.
    error JobMarketZeroHash();
    /// @notice The commit window has closed.
    error JobMarketCommitClosed(uint256 jobId, uint256 commitDeadline);
    /// @notice The slot has already committed.
    error JobMarketAlreadyCommitted(uint256 jobId, address provider);
    /// @notice Reveals open once every claimed slot committed or the commit deadline passed.
    error JobMarketRevealNotOpen(uint256 jobId);
    /// @notice The reveal window has closed.
    error JobMarketRevealClosed(uint256 jobId, uint256 revealDeadline);
    /// @notice The slot never committed, so it has nothing to reveal.
    error JobMarketNotCommitted(uint256 jobId, address provider);
    /// @notice The slot has already revealed.
    error JobMarketAlreadyRevealed(uint256 jobId, address provider);
    /// @notice keccak256(abi.encode(jobId, provider, digest, salt)) differs from the commitment.
    error JobMarketCommitmentMismatch(uint256 jobId, address provider);
    /// @notice The job cannot be settled yet.
    error JobMarketNotSettleable(uint256 jobId, Phase phase);
    /// @notice The caller has nothing to withdraw.
    error JobMarketNothingToWithdraw(address account);
    /// @notice An owner parameter is outside its hard-coded bounds.
    error JobMarketParameterOutOfBounds(uint256 value, uint256 min, uint256 max);

    /// @notice A job was created and `payment` escrowed.
    event JobCreated(
        uint256 indexed jobId,
        address indexed requester,
        bytes32 indexed specDigest,
        uint256 payment,
        uint8 replicas,
        uint8 quorum,
        uint256 collateral,
        Requirements requirements,
        uint32 claimDeadline,
        uint32 commitDeadline,
        uint32 revealDeadline
    );
    /// @notice `provider` took slot `slot`, locking the job's collateral.
    event JobClaimed(uint256 indexed jobId, address indexed provider, uint8 slot);
    /// @notice `provider` committed to a result.
    event ResultCommitted(uint256 indexed jobId, address indexed provider);
    /// @notice `provider` revealed the digest of its result's CID.
    event ResultRevealed(uint256 indexed jobId, address indexed provider, bytes32 digest);
    /// @notice The job settled: `winners` slots revealed `winningDigest`, each credited `rewardPerWinner`.
    event JobSettled(
        uint256 indexed jobId, bytes32 winningDigest, uint8 winners, uint256 rewardPerWinner, uint256 slashed
    );
    /// @notice The job failed; the payment was refunded and `slashed` collateral went to the treasury.
    event JobFailed(uint256 indexed jobId, FailReason reason, uint256 slashed);
    /// @notice The requester cancelled the job before any claim; the payment was refunded.
    event JobCancelled(uint256 indexed jobId);
    /// @notice Nobody claimed the job before its claim deadline; the payment was refunded.
    event JobExpired(uint256 indexed jobId);
    /// @notice `account` pulled `amount` of its claimable balance.
    event Withdrawn(address indexed account, uint256 amount);
    /// @notice The protocol fee for new jobs changed.
    event FeeUpdated(uint256 oldFeeBps, uint256 newFeeBps);
    /// @notice The allowed range of job windows changed.
    event WindowBoundsUpdated(uint256 minWindow, uint256 maxWindow);
    /// @notice Fees and failed jobs' slashed collateral now go to `treasury`.
    event TreasuryUpdated(address indexed oldTreasury, address indexed newTreasury);

    /// @notice Escrow `params.payment` (pulled with a prior approval) and open a job.
    /// @param params What the job needs and pays.
    /// @return jobId The new job's id (ids start at 1).
    function createJob(JobParams calldata params) external returns (uint256 jobId);

    /// @notice `createJob` with an ERC-2612 permit for the payment, in one transaction.
    /// @dev A permit front-run by a third party is tolerated: the allowance is then already in place.
    /// @param params What the job needs and pays.
    /// @param deadline The permit's deadline.
    /// @param v Signature part.
    /// @param r Signature part.
    /// @param s Signature part.
    /// @return jobId The new job's id.
    function createJobWithPermit(JobParams calldata params, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        returns (uint256 jobId);

    /// @notice Cancel a job nobody has claimed; the payment becomes claimable by the requester.
    /// @param jobId The job.
    function cancel(uint256 jobId) external;

    /// @notice Take the next free slot of a job, locking `collateral` of the caller's free stake.
    /// @param jobId The job.
    function claim(uint256 jobId) external;

    /// @notice Commit to a result: `commitment = keccak256(abi.encode(jobId, msg.sender, digest, salt))`.
    /// @param jobId The job; must have at least two replicas.
    /// @param commitment The binding commitment.
    function commit(uint256 jobId, bytes32 commitment) external;

    /// @notice Reveal the sha2-256 digest of the result's CID. Single-replica jobs skip the commit and
    ///         reveal directly (`salt` is ignored). The reveal that completes the round settles the job.
    /// @param jobId The job.
    /// @param digest sha2-256 digest of the result's CID.
    /// @param salt The commitment's salt.
    function reveal(uint256 jobId, bytes32 digest, bytes32 salt) external;

    /// @notice Settle a job whose round is complete or whose deadline passed: pays and slashes, fails
    ///         it without quorum, or expires it when nobody claimed. Anyone may call it.
    /// @param jobId The job.
    function settle(uint256 jobId) external;

    /// @notice Send the caller its whole claimable balance.
    function withdraw() external;

    /// @notice Stop new jobs and claims; commits, reveals, settlement and withdrawals go on. Owner only.
    function pause() external;

    /// @notice Lift the pause. Owner only.
    function unpause() external;

    /// @notice Set the protocol fee (basis points of the payment) for jobs created from now on.
    /// @param feeBps New fee, at most MAX_FEE_BPS.
    function setFeeBps(uint16 feeBps) external;

    /// @notice Set the range every job window must fall in, within hard-coded bounds.
    /// @param minWindow Shortest window in seconds.
    /// @param maxWindow Longest window in seconds.
    function setWindowBounds(uint32 minWindow, uint32 maxWindow) external;

    /// @notice Set where fees go. Owner only.
    /// @param treasury New treasury, not zero.
    function setTreasury(address treasury) external;

    /// @notice Tokens `account` can withdraw.
    /// @param account The account.
    /// @return amount Its claimable balance.
    function claimable(address account) external view returns (uint256 amount);

    /// @notice A job as stored.
    /// @param jobId The job.
    /// @return job Its record.
    function getJob(uint256 jobId) external view returns (Job memory job);

    /// @notice The job's claimed slots, in claim order.
    /// @param jobId The job.
    /// @return slots Provider, commit and reveal state, commitment and revealed digest of each slot.
    function getSlots(uint256 jobId) external view returns (SlotView[] memory slots);

    /// @notice The phase a job is in now.
    /// @param jobId The job.
    /// @return The phase.
    function phaseOf(uint256 jobId) external view returns (Phase);

    /// @notice The winning digest of a settled job (zero otherwise).
    /// @param jobId The job.
    /// @return The sha2-256 digest of the winning result's CID.
    function resultOf(uint256 jobId) external view returns (bytes32);
}
