// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IStaking} from "./IStaking.sol";

/// @title IJobMarket
/// @notice Job escrow and lifecycle of NeuroLink (protocol v2, docs/PROTOCOL.md): requesters escrow a
///         payment for `k` replicas of a job; slots are assigned by stake-weighted sortition over a seed
///         nobody in the job controls (the hash of the job's creation block); providers lock collateral,
///         commit to and reveal the digest of their result's CID (a canonical error record is a result
///         too), and settlement pays the matching majority and burns the collateral of the rest. A job
///         that ends without a quorum still pays every revealer its share, so forcing it never yields a
///         free result; a job that does not fill by its claim deadline fails with every token back.
///         Every path out has a deadline after which anyone can call `settle`, so no job and no token is
///         ever stuck. All payouts are credited to `claimable` and pulled with `withdraw`.
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

    /// @notice How reveals are compared. Exact: equal result digests, and every slot in one determinism
    ///         class (the first claim fixes it unless the job names one). Tolerant: result fingerprints
    ///         within `tolerance` bits of Hamming distance, any class (docs/VERIFICATION.md).
    enum Verification {
        Exact,
        Tolerant
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
    /// @param maxGpuSeconds Upper bound of GPU-seconds per replica (nodes check it against their own
    ///        limits before claiming).
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
    /// @param payment Tokens escrowed and paid to the revealing replicas (minus the protocol fee).
    /// @param replicas Number of independent replicas k: 1 or 3..MAX_REPLICAS (with two, one liar
    ///        cannot be told from the honest one).
    /// @param quorum Matching reveals needed to win: 1 for k = 1, else floor(k/2)+1..k-1; 0 picks
    ///        floor(k/2)+1.
    /// @param collateral Stake each provider locks per slot, at least `minCollateral`; burned on a wrong
    ///        or missing result.
    /// @param verification How reveals are compared.
    /// @param tolerance Tolerant jobs: the largest Hamming distance (bits) between matching fingerprints,
    ///        1..MAX_TOLERANCE; exact jobs: 0.
    /// @param deviceClass Exact jobs: the only determinism class that may claim (0: the first claim fixes
    ///        it); tolerant jobs: 0.
    /// @param reserve Escrowed on top of the payment to pay a re-run when round 1 disagrees (0: no
    ///        escalation, a disagreement settles by the vote). Needs 3 <= k <= 5 and at least
    ///        payment * (2k + 1) / k, so a re-run slot pays what a round-1 slot pays; unspent, it is refunded.
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
        Verification verification;
        uint8 tolerance;
        bytes32 deviceClass;
        uint256 reserve;
    }

    /// @notice A job as `getJob` shows it (storage packs it tighter; see JobMarket's JobRecord).
    /// @param filled Whether every slot was claimed at some point (only then can the job settle).
    /// @param createdBlock The block whose hash seeds the job's sortition.
    /// @param feeRecipient Receives the job's fee, fixed at creation.
    /// @param deviceClass Exact jobs: the class every slot must have (0 until the first claim fixes it).
    /// @param escalated Whether round 1 disagreed and the job is being (or was) re-run.
    /// @param firstSlot First slot of the current round (0, or k once escalated).
    /// @param slots Slots in the current round (k, or 2k + 1 once escalated); claimed, committed,
    ///        revealed, filled and the deadlines are the current round's.
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
        uint40 claimDeadline;
        uint40 commitDeadline;
        uint40 revealDeadline;
        bool filled;
        uint256 createdBlock;
        address feeRecipient;
        Verification verification;
        uint8 tolerance;
        bytes32 deviceClass;
        uint256 reserve;
        bool escalated;
        uint8 firstSlot;
        uint8 slots;
    }

    /// @notice A slot as shown by `getSlots` (`provider` is zero while the slot is free; `fingerprint` is
    ///         kept for revealed slots of tolerant jobs with k > 1).
    struct SlotView {
        address provider;
        bool committed;
        bool revealed;
        bytes32 commitment;
        bytes32 digest;
        bytes32 fingerprint;
    }

    /// @notice The token or staking address is zero.
    error JobMarketZeroAddress();
    /// @notice No job has this id.
    error JobMarketUnknownJob(uint256 jobId);
    /// @notice The job is already settled, failed, cancelled or expired.
    error JobMarketJobClosed(uint256 jobId, Status status);
    /// @notice The payment is zero or does not fit 96 bits.
    error JobMarketInvalidPayment(uint256 payment);
    /// @notice The collateral is below the minimum or does not fit 96 bits.
    error JobMarketInvalidCollateral(uint256 collateral, uint256 minCollateral);
    /// @notice Replicas must be 1 or 3..MAX_REPLICAS.
    error JobMarketInvalidReplicas(uint256 replicas);
    /// @notice Quorum must be 1 for one replica, else floor(k/2)+1..k-1 (0 picks floor(k/2)+1).
    error JobMarketInvalidQuorum(uint256 quorum, uint256 replicas);
    /// @notice A window is outside the owner's bounds.
    error JobMarketInvalidWindow(uint256 window, uint256 min, uint256 max);
    /// @notice The spec digest is zero.
    error JobMarketZeroSpecDigest();
    /// @notice Only the job's requester may do this.
    error JobMarketNotRequester(uint256 jobId, address caller);
    /// @notice The job has claims and can no longer be cancelled.
    error JobMarketAlreadyClaimed(uint256 jobId, uint256 claimed);
    /// @notice The claim window has closed (for a job that never filled), or the commit window has
    ///         closed (for a re-opened slot).
    error JobMarketClaimClosed(uint256 jobId, uint256 deadline);
    /// @notice The sortition seed (the creation block's hash) does not exist yet: claims start in the
    ///         block after the job's creation block.
    error JobMarketSeedNotReady(uint256 jobId, uint256 createdBlock);
    /// @notice The slot index is not below the job's replica count.
    error JobMarketInvalidSlot(uint256 jobId, uint256 slot);
    /// @notice The slot is taken.
    error JobMarketSlotTaken(uint256 jobId, uint256 slot);
    /// @notice The provider was not drawn for this slot (yet: eligibility widens over the claim window).
    error JobMarketNotEligible(uint256 jobId, uint256 slot, address provider);
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
    /// @notice Reveals open once the job filled and every slot committed, or the commit deadline passed.
    error JobMarketRevealNotOpen(uint256 jobId);
    /// @notice The reveal window has closed.
    error JobMarketRevealClosed(uint256 jobId, uint256 revealDeadline);
    /// @notice The slot never committed, so it has nothing to reveal.
    error JobMarketNotCommitted(uint256 jobId, address provider);
    /// @notice The slot has already revealed.
    error JobMarketAlreadyRevealed(uint256 jobId, address provider);
    /// @notice The reveal does not open the slot's commitment (see `commitmentOf`).
    error JobMarketCommitmentMismatch(uint256 jobId, address provider);
    /// @notice The job cannot be settled yet.
    error JobMarketNotSettleable(uint256 jobId, Phase phase);
    /// @notice The caller has nothing to withdraw.
    error JobMarketNothingToWithdraw(address account);
    /// @notice An owner parameter is outside its hard-coded bounds.
    error JobMarketParameterOutOfBounds(uint256 value, uint256 min, uint256 max);
    /// @notice The fee recipient was changed the maximum number of times (255).
    error JobMarketTooManyFeeRecipients();
    /// @notice Renouncing ownership would freeze the parameters (and a paused market) forever.
    error JobMarketRenounceDisabled();
    /// @notice The verification mode is not one of `Verification`.
    error JobMarketInvalidVerification(uint256 mode);
    /// @notice Tolerant jobs need a tolerance of 1..MAX_TOLERANCE bits; exact jobs one of 0.
    error JobMarketInvalidTolerance(uint256 tolerance, uint256 max);
    /// @notice The reserve is below payment * (2k + 1) / k (or does not fit 96 bits).
    error JobMarketInvalidReserve(uint256 reserve, uint256 minimum);
    /// @notice Only jobs with 3..5 replicas can escalate (a re-run of 2k + 1 fresh slots must fit).
    error JobMarketEscalationUnavailable(uint256 replicas);
    /// @notice A tolerant job cannot name a device class (its slots may have any).
    error JobMarketClassNotAllowed();
    /// @notice The provider registered no device class, so it cannot take a slot of an exact job.
    error JobMarketNoDeviceClass(address provider);
    /// @notice The provider's device class is not the job's.
    error JobMarketClassMismatch(uint256 jobId, address provider, bytes32 deviceClass, bytes32 required);

    /// @notice A job was created and `payment` escrowed; its sortition seed is the hash of the event's
    ///         block, and its fee goes to the treasury current now (the latest TreasuryUpdated).
    event JobCreated(
        uint256 indexed jobId,
        address indexed requester,
        bytes32 indexed specDigest,
        uint256 payment,
        uint8 replicas,
        uint8 quorum,
        uint256 collateral,
        Requirements requirements,
        uint16 feeBps,
        uint40 claimDeadline,
        uint40 commitDeadline,
        uint40 revealDeadline
    );
    /// @notice The job is not exact with any class and no reserve; emitted right after its JobCreated.
    event JobVerificationSet(
        uint256 indexed jobId, Verification verification, uint8 tolerance, bytes32 deviceClass, uint256 reserve
    );
    /// @notice The first claim of an exact job fixed the determinism class of all its slots.
    event JobClassFixed(uint256 indexed jobId, bytes32 deviceClass);
    /// @notice `provider`, drawn for slot `slot`, took it (Staking's StakeLocked shows the collateral).
    event JobClaimed(uint256 indexed jobId, address indexed provider, uint8 slot);
    /// @notice `provider` gave slot `slot` back before committing; `penalty` of its collateral was burned
    ///         and the slot is open to the draw again.
    event JobAbandoned(uint256 indexed jobId, address indexed provider, uint8 slot, uint256 penalty);
    /// @notice `provider` committed `commitment`.
    event ResultCommitted(uint256 indexed jobId, address indexed provider, bytes32 commitment);
    /// @notice `provider` revealed the digest of its result's CID and (tolerant jobs) its fingerprint.
    event ResultRevealed(uint256 indexed jobId, address indexed provider, bytes32 digest, bytes32 fingerprint);
    /// @notice Round 1 disagreed: slots `firstSlot`..`firstSlot + slots - 1` are drawn afresh (seeded by
    ///         this event's block; round-1 providers excluded) to re-run the job, with these deadlines.
    event JobEscalated(
        uint256 indexed jobId,
        uint8 firstSlot,
        uint8 slots,
        uint40 claimDeadline,
        uint40 commitDeadline,
        uint40 revealDeadline
    );
    /// @notice The re-run did not fill by its claim deadline: its claims were released unslashed, the
    ///         reserve refunded, and round 1 was decided by its vote.
    event RerunUnfilled(uint256 indexed jobId, uint8 claimed);
    /// @notice An escalated job ended: `winners` re-run slots were credited `rewardPerWinner` each from
    ///         the reserve and the requester `refund` of it (JobSettled or JobFailed follows).
    event RerunPaid(uint256 indexed jobId, uint8 winners, uint256 rewardPerWinner, uint256 refund);
    /// @notice The job settled: `winners` slots (of both rounds, if re-run) revealed `winningDigest`; each
    ///         round-1 winner was credited `rewardPerWinner` (re-run winners: RerunPaid); `burned` collateral
    ///         of the other slots was burned; `settler` was tipped `tip` from the fee.
    event JobSettled(
        uint256 indexed jobId,
        bytes32 winningDigest,
        uint8 winners,
        uint256 rewardPerWinner,
        uint256 burned,
        address settler,
        uint256 tip
    );
    /// @notice The job failed. UnderClaimed: every token went back. NoQuorum: each revealer was credited
    ///         `paidPerRevealer`, silent slots' collateral (`burned`) was burned, the requester was
    ///         credited `refund`.
    event JobFailed(uint256 indexed jobId, FailReason reason, uint256 burned, uint256 paidPerRevealer, uint256 refund);
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
    /// @notice Fees of jobs created from now on go to `treasury`; jobs in flight keep theirs.
    event TreasuryUpdated(address indexed oldTreasury, address indexed newTreasury);
    /// @notice The minimum collateral per slot for new jobs changed.
    event MinCollateralUpdated(uint256 oldValue, uint256 newValue);
    /// @notice The sortition width (expected eligible stake shares per slot at creation) changed.
    event SortitionWidthUpdated(uint256 oldValue, uint256 newValue);

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

    /// @notice Take slot `slot` of a job the caller was drawn for (`isEligible`), locking `collateral`
    ///         of its free stake. Open from the block after creation to the claim deadline; a slot given
    ///         back by `abandon` after the job filled stays open until the commit deadline.
    /// @param jobId The job.
    /// @param slot The slot, 0..k-1.
    function claim(uint256 jobId, uint256 slot) external;

    /// @notice Give the caller's slot back before committing (a machine failure: out of memory, timeout,
    ///         lost device). ABANDON_PENALTY_BPS of the collateral is burned, the rest unlocked, and the
    ///         slot is open to the draw again.
    /// @param jobId The job.
    function abandon(uint256 jobId) external;

    /// @notice Commit to a result: `commitment = commitmentOf(jobId, msg.sender, digest, salt)`.
    /// @param jobId The job; must have more than one replica.
    /// @param commitment The binding commitment.
    function commit(uint256 jobId, bytes32 commitment) external;

    /// @notice Reveal the sha2-256 digest of the result's CID (of a canonical error record when the job
    ///         cannot be computed) and, for tolerant jobs, the result's fingerprint. Single-replica jobs
    ///         skip the commit and reveal directly (`salt` is ignored). The reveal that completes the
    ///         round concludes it: the job settles, fails, or escalates to a re-run.
    /// @param jobId The job.
    /// @param digest sha2-256 digest of the result's CID.
    /// @param fingerprint The result's 256-bit fingerprint under the job's seed (tolerant; else ignored).
    /// @param salt The commitment's salt.
    function reveal(uint256 jobId, bytes32 digest, bytes32 fingerprint, bytes32 salt) external;

    /// @notice Settle a job whose round is complete or whose deadline passed: pays and burns, fails it
    ///         without quorum, or returns every token when it never filled. Anyone may call it; the
    ///         caller is tipped from the fee.
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

    /// @notice Set where the fees of jobs created from now on go. Owner only.
    /// @param treasury New treasury, not zero.
    function setTreasury(address treasury) external;

    /// @notice Set the minimum collateral per slot of new jobs, within hard-coded bounds. Owner only.
    /// @param minCollateral New minimum in token units.
    function setMinCollateral(uint256 minCollateral) external;

    /// @notice Set the sortition width: how many times its stake share a provider's chance to be drawn
    ///         for a slot is, at creation (it doubles WIDEN_STEPS times over the claim window). Owner only.
    /// @param width New width, 1..MAX_SORTITION_WIDTH.
    function setSortitionWidth(uint8 width) external;

    /// @notice The payment token.
    /// @return The token.
    function token() external view returns (IERC20);

    /// @notice The stake registry.
    /// @return The Staking contract.
    function staking() external view returns (IStaking);

    /// @notice Tokens `account` can withdraw.
    /// @param account The account.
    /// @return amount Its claimable balance.
    function claimable(address account) external view returns (uint256 amount);

    /// @notice A job as stored.
    /// @param jobId The job.
    /// @return job Its record.
    function getJob(uint256 jobId) external view returns (Job memory job);

    /// @notice The job's k slots in slot order (free ones have provider zero).
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

    /// @notice Whether `provider` may claim slot `slot` of job `jobId` now (slot free or not).
    /// @dev Eligible iff hash(seed, jobId, slot, provider) / 2**128 < weight * width * 2**d / total,
    ///      where seed is the hash of the job's creation block (re-read every 256 blocks, see
    ///      docs/PROTOCOL.md), weight the provider's free stake if staked before the creation block
    ///      (else 0), total all providers' stake, and d = WIDEN_STEPS * elapsed / claimWindow.
    /// @param jobId The job.
    /// @param slot The slot.
    /// @param provider The provider.
    /// @return Whether it is drawn.
    function isEligible(uint256 jobId, uint256 slot, address provider) external view returns (bool);

    /// @notice The commitment a provider posts: keccak256(abi.encode(chainid, this, jobId, provider,
    ///         digest, fingerprint, salt)), so a commitment or reveal can be replayed on no other chain,
    ///         market or job, and a fingerprint cannot be chosen after seeing others' reveals.
    /// @param jobId The job.
    /// @param provider The committing provider.
    /// @param digest The result digest.
    /// @param fingerprint The result fingerprint (zero for exact jobs).
    /// @param salt The secret salt.
    /// @return The commitment.
    function commitmentOf(uint256 jobId, address provider, bytes32 digest, bytes32 fingerprint, bytes32 salt)
        external
        view
        returns (bytes32);
}
