// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IJobMarket} from "./interfaces/IJobMarket.sol";
import {IStaking} from "./interfaces/IStaking.sol";

/// @title JobMarket
/// @notice Escrow, sortition, commit-reveal and majority settlement of replicated GPU jobs. See
///         docs/PROTOCOL.md for the payoffs and why each rule is there.
/// @dev Token balance of this contract == escrow of open jobs + sum of `claimable` (forge invariant).
contract JobMarket is IJobMarket, Ownable2Step, Pausable {
    using SafeERC20 for IERC20;

    /// @notice Most replicas a job may ask for; bounds every per-job loop.
    uint8 public constant MAX_REPLICAS = 16;
    /// @notice Hard upper bound of the protocol fee (10 %).
    uint16 public constant MAX_FEE_BPS = 1_000;
    /// @notice Hard lower bound of any job window.
    uint32 public constant MIN_WINDOW_FLOOR = 1 minutes;
    /// @notice Hard upper bound of any job window (fits the record's 24-bit windows).
    uint32 public constant MAX_WINDOW_CEILING = 30 days;
    /// @notice Hard upper bound of `minCollateral`.
    uint256 public constant MAX_MIN_COLLATERAL = 1_000_000 ether;
    /// @notice Minimum collateral per slot at deployment (1 token of 18 decimals): no free squatting.
    uint96 public constant DEFAULT_MIN_COLLATERAL = 1 ether;
    /// @notice Eligibility doubles this many times, evenly over the claim window.
    uint256 public constant WIDEN_STEPS = 4;
    /// @notice Hard upper bound of the sortition width.
    uint8 public constant MAX_SORTITION_WIDTH = 255;
    /// @notice Share of the collateral burned when a slot is abandoned (10 %).
    uint256 public constant ABANDON_PENALTY_BPS = 1_000;
    /// @notice Share of the fee credited to whoever concludes a job (its last revealer or the caller of
    ///         `settle`), so being the one who pays the settlement's gas is not a loss (50 %).
    uint256 public constant SETTLEMENT_TIP_BPS = 5_000;
    uint256 private constant BPS = 10_000;
    /// @dev Slots whose provider id lives in the job record (3 x 32 bits); the rest in `_moreSlotIds`.
    uint256 private constant RECORD_SLOT_IDS = 3;
    /// @dev "No slot", for `_conclude` called by someone who may hold none.
    uint256 private constant NO_SLOT = type(uint256).max;
    /// @notice Widest fingerprint tolerance a job may ask (bits of 256; unrelated results differ by ~128).
    uint8 public constant MAX_TOLERANCE = 64;
    /// @notice Most replicas of a job that can escalate: round 1 plus a re-run of 2k + 1 slots fit 16.
    uint8 public constant MAX_ESCALATING_REPLICAS = 5;
    /// @dev JobRecord.flags bits.
    uint8 private constant TOLERANT = 1;
    uint8 private constant ESCALATED = 2;

    /// @dev Id the next job gets; shares Pausable's storage word, which createJob reads anyway.
    uint48 private _nextJobId = 1;
    /// @dev Providers numbered so far (ids start at 1, at most 2**24 - 1); same word.
    uint24 private _providerCount;
    /// @notice Expected number of eligible stake shares per slot at creation (see `isEligible`); in the
    ///         same word, which every claim reads for the pause check.
    uint8 public sortitionWidth = 1;

    /// @inheritdoc IJobMarket
    IERC20 public immutable token;
    /// @inheritdoc IJobMarket
    IStaking public immutable staking;
    /// @notice Protocol fee in basis points of the payment, fixed per job at creation.
    uint16 public feeBps = 100;
    /// @notice Shortest allowed job window in seconds.
    uint32 public minWindow = 5 minutes;
    /// @notice Longest allowed job window in seconds.
    uint32 public maxWindow = 7 days;
    /// @dev Index of the current treasury in `_treasuryAt`; new jobs store it.
    uint8 private _treasuryIndex;
    /// @notice Smallest collateral a job may ask per slot. The four parameters share one word.
    uint96 public minCollateral = DEFAULT_MIN_COLLATERAL;
    /// @dev Every treasury there has been, by index; a job's fee goes to the one current at its creation.
    mapping(uint256 index => address) private _treasuryAt;

    /// @dev A job in four storage words; `_storeJob` writes them whole, so it relies on this order.
    ///      Providers are stored as 24-bit ids (see `_providerOf`), slot i at bits 24*i of `slotIds`;
    ///      a job with k <= 3 writes no per-slot words but its hashes. Everything a settlement needs is
    ///      in words 1 and 2.
    struct JobRecord {
        // word 0: read by claims (and by failures and views)
        address requester;
        uint16 gpuCount;
        uint32 vramMb;
        uint8 tier;
        uint32 maxGpuSeconds;
        uint8 tolerance;
        // word 1: amounts and what commits, reveals and settlement update
        uint96 payment;
        uint96 collateral;
        uint8 replicas;
        uint8 quorum;
        Status status;
        uint8 committed;
        uint8 winningSlot;
        uint16 revealedMask;
        uint8 treasuryIndex;
        // word 2: the clock, the seed block and the claims, read by every provider call
        uint32 createdBlock;
        uint40 createdAt;
        uint24 claimWindow;
        uint24 commitWindow;
        uint24 revealWindow;
        uint8 claimed;
        bool filled;
        uint16 feeBps;
        uint72 slotIds;
        uint8 flags;
        // word 3
        bytes32 specDigest;
        // word 4: written only for jobs with a reserve
        uint96 reserve;
    }

    /// @dev An account's provider id (0 until its first claim) and its claimable balance plus one once
    ///      it was first credited: a withdrawal leaves 1, so the next credit rewrites a non-zero word
    ///      (5k gas) instead of creating one (22k gas). Credits are bounded far below 2**224: each is
    ///      at most payment + fee < 2**97, and there are fewer than 2**48 jobs.
    struct Account {
        uint24 providerId;
        uint232 owedPlusOne;
    }

    mapping(uint256 jobId => JobRecord) private _jobs;
    /// @dev Provider ids of slots RECORD_SLOT_IDS.. (the first ones are in JobRecord.slotIds).
    mapping(uint256 jobId => uint24[MAX_REPLICAS - RECORD_SLOT_IDS]) private _moreSlotIds;
    /// @dev Each slot's commitment, overwritten by its digest at reveal.
    mapping(uint256 jobId => bytes32[MAX_REPLICAS]) private _hashes;
    mapping(address account => Account) private _accounts;
    /// @dev The account behind each provider id, assigned at a provider's first claim.
    mapping(uint24 providerId => address provider) private _providerOf;
    /// @dev Exact jobs: the determinism class of every slot (0 until named or fixed by the first claim).
    mapping(uint256 jobId => bytes32) private _jobClass;
    /// @dev Tolerant jobs: each revealed slot's fingerprint.
    mapping(uint256 jobId => bytes32[MAX_REPLICAS]) private _fingerprints;

    /// @param token_ The payment token (the one Staking holds).
    /// @param staking_ The stake registry this market locks collateral in.
    /// @param initialOwner Owner of the parameters; transfers are two-step.
    /// @param treasury_ Receiver of fees.
    constructor(IERC20 token_, IStaking staking_, address initialOwner, address treasury_) Ownable(initialOwner) {
        if (address(token_) == address(0) || address(staking_) == address(0) || treasury_ == address(0)) {
            revert JobMarketZeroAddress();
        }
        token = token_;
        staking = staking_;
        _treasuryAt[0] = treasury_;
    }

    // ----------------------------------------------------------------------------------- requesters

    /// @inheritdoc IJobMarket
    function createJob(JobParams calldata params) external whenNotPaused returns (uint256 jobId) {
        jobId = _createJob(params);
        token.safeTransferFrom(msg.sender, address(this), params.payment + params.reserve);
    }

    /// @inheritdoc IJobMarket
    function createJobWithPermit(JobParams calldata params, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        whenNotPaused
        returns (uint256 jobId)
    {
        jobId = _createJob(params);
        // A front-run permit consumed the nonce but left the allowance; the transfer still works.
        uint256 amount = params.payment + params.reserve;
        try IERC20Permit(address(token)).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IJobMarket
    function cancel(uint256 jobId) external {
        JobRecord storage job = _openJob(jobId);
        if (job.requester != msg.sender) revert JobMarketNotRequester(jobId, msg.sender);
        if (job.claimed != 0) revert JobMarketAlreadyClaimed(jobId, job.claimed);
        // A re-run starts its count afresh, but round 1's slots hold collateral until it decides.
        if (job.flags & ESCALATED != 0) revert JobMarketAlreadyClaimed(jobId, job.replicas);
        job.status = Status.Cancelled;
        _credit(msg.sender, uint256(job.payment) + job.reserve);
        emit JobCancelled(jobId);
    }

    // ------------------------------------------------------------------------------------ providers

    /// @inheritdoc IJobMarket
    function claim(uint256 jobId, uint256 slot) external whenNotPaused {
        JobRecord storage job = _openJob(jobId);
        (uint256 first, uint256 count) = _round(job);
        uint256 end = first + count;
        if (slot < first || slot >= end) revert JobMarketInvalidSlot(jobId, slot);
        uint256 createdBlock = job.createdBlock;
        // The seed is the creation block's hash: nobody knows it in the creation transaction.
        if (block.number <= createdBlock) revert JobMarketSeedNotReady(jobId, createdBlock);
        uint256 claimDeadline = _claimDeadline(job);
        if (block.timestamp > claimDeadline) {
            // Only a slot given back after the job filled is drawn again, until the commit deadline.
            uint256 commitDeadline = claimDeadline + job.commitWindow;
            if (!job.filled) revert JobMarketClaimClosed(jobId, claimDeadline);
            if (block.timestamp > commitDeadline) revert JobMarketClaimClosed(jobId, commitDeadline);
        }
        if (msg.sender == job.requester) revert JobMarketRequesterCannotClaim(jobId);
        Account storage account = _accounts[msg.sender];
        uint24 id = account.providerId;
        // Round-1 providers are not drawn again for the re-run: its slots must be fresh.
        if (id != 0 && _findSlot(jobId, job, id, 0, end) < end) revert JobMarketAlreadyClaimedBy(jobId, msg.sender);
        if (_slotId(jobId, job, slot) != 0) revert JobMarketSlotTaken(jobId, slot);
        if (!_eligible(jobId, job, slot, msg.sender)) revert JobMarketNotEligible(jobId, slot, msg.sender);
        if (job.flags & TOLERANT == 0 && job.replicas != 1) _checkClass(jobId);
        if (id == 0) {
            // First claim ever: number the provider (a one-off word; later claims reuse the id).
            id = ++_providerCount;
            account.providerId = id;
            _providerOf[id] = msg.sender;
        }
        _setSlotId(jobId, job, slot, id);
        uint8 claimed = job.claimed + 1;
        job.claimed = claimed;
        if (claimed == count) job.filled = true;
        uint256 collateral = job.collateral;
        emit JobClaimed(jobId, msg.sender, uint8(slot));
        staking.lock(jobId, msg.sender, collateral, job.gpuCount, job.vramMb, job.tier);
    }

    /// @inheritdoc IJobMarket
    function abandon(uint256 jobId) external {
        JobRecord storage job = _openJob(jobId);
        uint256 slot = _slotIndex(jobId, job);
        uint256 commitDeadline = _commitDeadline(job);
        if (block.timestamp > commitDeadline) revert JobMarketCommitClosed(jobId, commitDeadline);
        // A committed slot has a result on record; a k = 1 reveal concludes the job, so it never gets here.
        if (job.replicas != 1 && _hashes[jobId][slot] != bytes32(0)) {
            revert JobMarketAlreadyCommitted(jobId, msg.sender);
        }
        _setSlotId(jobId, job, slot, 0);
        --job.claimed;
        uint256 collateral = job.collateral;
        uint256 penalty = collateral * ABANDON_PENALTY_BPS / BPS;
        emit JobAbandoned(jobId, msg.sender, uint8(slot), penalty);
        staking.forfeit(jobId, msg.sender, collateral, penalty);
    }

    /// @inheritdoc IJobMarket
    function commit(uint256 jobId, bytes32 commitment) external {
        JobRecord storage job = _openJob(jobId);
        if (job.replicas == 1) revert JobMarketCommitNotRequired(jobId);
        if (commitment == bytes32(0)) revert JobMarketZeroHash();
        uint256 claimDeadline = _claimDeadline(job);
        uint256 commitDeadline = claimDeadline + job.commitWindow;
        if (block.timestamp > commitDeadline) revert JobMarketCommitClosed(jobId, commitDeadline);
        // A job that did not fill by its claim deadline has failed; nothing more is committed to it.
        if (!job.filled && block.timestamp > claimDeadline) revert JobMarketClaimClosed(jobId, claimDeadline);
        uint256 slot = _slotIndex(jobId, job);
        bytes32[MAX_REPLICAS] storage hashes = _hashes[jobId];
        if (hashes[slot] != bytes32(0)) revert JobMarketAlreadyCommitted(jobId, msg.sender);
        hashes[slot] = commitment;
        ++job.committed;
        emit ResultCommitted(jobId, msg.sender, commitment);
    }

    /// @inheritdoc IJobMarket
    function reveal(uint256 jobId, bytes32 digest, bytes32 fingerprint, bytes32 salt) external {
        JobRecord storage job = _openJob(jobId);
        if (digest == bytes32(0)) revert JobMarketZeroHash();
        uint256 revealDeadline = _revealDeadline(job);
        if (block.timestamp > revealDeadline) revert JobMarketRevealClosed(jobId, revealDeadline);
        uint256 slot = _slotIndex(jobId, job);
        uint16 mask = job.revealedMask;
        uint16 bit = uint16(1 << slot);
        if (mask & bit != 0) revert JobMarketAlreadyRevealed(jobId, msg.sender);
        if (!_revealOpen(job)) revert JobMarketRevealNotOpen(jobId);
        bytes32[MAX_REPLICAS] storage hashes = _hashes[jobId];
        if (job.replicas != 1) {
            // With one replica nobody can copy within the job, so the commit round is skipped.
            bytes32 commitment = hashes[slot];
            if (commitment == bytes32(0)) revert JobMarketNotCommitted(jobId, msg.sender);
            if (_commitment(jobId, msg.sender, digest, fingerprint, salt) != commitment) {
                revert JobMarketCommitmentMismatch(jobId, msg.sender);
            }
            if (job.flags & TOLERANT != 0) _fingerprints[jobId][slot] = fingerprint;
        }
        hashes[slot] = digest;
        mask |= bit;
        job.revealedMask = mask;
        emit ResultRevealed(jobId, msg.sender, digest, fingerprint);
        (uint256 first,) = _round(job);
        if (_popcount(mask >> first) == _revealers(job)) _conclude(jobId, job, slot);
    }

    // ---------------------------------------------------------------------------------------- anyone

    /// @inheritdoc IJobMarket
    function settle(uint256 jobId) external {
        JobRecord storage job = _openJob(jobId);
        Phase phase = _phase(job);
        if (phase != Phase.Settleable) revert JobMarketNotSettleable(jobId, phase);
        if (job.filled) {
            _conclude(jobId, job, NO_SLOT);
        } else if (job.flags & ESCALATED != 0) {
            _rerunUnfilled(jobId, job);
        } else if (job.claimed == 0) {
            job.status = Status.Expired;
            _credit(job.requester, uint256(job.payment) + job.reserve);
            emit JobExpired(jobId);
        } else {
            _underClaimed(jobId, job);
        }
    }

    /// @inheritdoc IJobMarket
    function withdraw() external {
        Account storage account = _accounts[msg.sender];
        uint256 owed = account.owedPlusOne;
        if (owed <= 1) revert JobMarketNothingToWithdraw(msg.sender);
        account.owedPlusOne = 1;
        uint256 amount = owed - 1;
        emit Withdrawn(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    // ----------------------------------------------------------------------------------------- owner

    /// @inheritdoc IJobMarket
    function pause() external onlyOwner {
        _pause();
    }

    /// @inheritdoc IJobMarket
    function unpause() external onlyOwner {
        _unpause();
    }

    /// @inheritdoc IJobMarket
    function setFeeBps(uint16 feeBps_) external onlyOwner {
        if (feeBps_ > MAX_FEE_BPS) revert JobMarketParameterOutOfBounds(feeBps_, 0, MAX_FEE_BPS);
        emit FeeUpdated(feeBps, feeBps_);
        feeBps = feeBps_;
    }

    /// @inheritdoc IJobMarket
    function setWindowBounds(uint32 minWindow_, uint32 maxWindow_) external onlyOwner {
        if (minWindow_ < MIN_WINDOW_FLOOR || minWindow_ > maxWindow_) {
            revert JobMarketParameterOutOfBounds(minWindow_, MIN_WINDOW_FLOOR, maxWindow_);
        }
        if (maxWindow_ > MAX_WINDOW_CEILING) {
            revert JobMarketParameterOutOfBounds(maxWindow_, minWindow_, MAX_WINDOW_CEILING);
        }
        minWindow = minWindow_;
        maxWindow = maxWindow_;
        emit WindowBoundsUpdated(minWindow_, maxWindow_);
    }

    /// @inheritdoc IJobMarket
    function setTreasury(address treasury_) external onlyOwner {
        if (treasury_ == address(0)) revert JobMarketZeroAddress();
        uint8 index = _treasuryIndex;
        if (index == type(uint8).max) revert JobMarketTooManyFeeRecipients();
        emit TreasuryUpdated(_treasuryAt[index], treasury_);
        _treasuryAt[++index] = treasury_;
        _treasuryIndex = index;
    }

    /// @inheritdoc IJobMarket
    function setMinCollateral(uint256 minCollateral_) external onlyOwner {
        if (minCollateral_ == 0 || minCollateral_ > MAX_MIN_COLLATERAL) {
            revert JobMarketParameterOutOfBounds(minCollateral_, 1, MAX_MIN_COLLATERAL);
        }
        emit MinCollateralUpdated(minCollateral, minCollateral_);
        minCollateral = uint96(minCollateral_); // <= MAX_MIN_COLLATERAL < 2**96
    }

    /// @inheritdoc IJobMarket
    function setSortitionWidth(uint8 width) external onlyOwner {
        if (width == 0) revert JobMarketParameterOutOfBounds(width, 1, MAX_SORTITION_WIDTH);
        emit SortitionWidthUpdated(sortitionWidth, width);
        sortitionWidth = width;
    }

    /// @notice Disabled: an owner-less market could never be unpaused or have its parameters corrected.
    function renounceOwnership() public pure override {
        revert JobMarketRenounceDisabled();
    }

    // ----------------------------------------------------------------------------------------- views

    /// @notice Id the next job gets.
    function nextJobId() external view returns (uint256) {
        return _nextJobId;
    }

    /// @notice Where the fees of jobs created now go.
    function treasury() external view returns (address) {
        return _treasuryAt[_treasuryIndex];
    }

    /// @inheritdoc IJobMarket
    function claimable(address account) external view returns (uint256) {
        uint256 owed = _accounts[account].owedPlusOne;
        return owed == 0 ? 0 : owed - 1;
    }

    /// @inheritdoc IJobMarket
    function getJob(uint256 jobId) external view returns (Job memory) {
        JobRecord storage job = _jobs[jobId];
        uint256 claimDeadline = _claimDeadline(job);
        (uint256 first, uint256 count) = _round(job);
        return Job({
            requester: job.requester,
            specDigest: job.specDigest,
            payment: job.payment,
            collateral: job.collateral,
            replicas: job.replicas,
            quorum: job.quorum,
            status: job.status,
            claimed: job.claimed,
            committed: job.committed,
            revealed: uint8(_popcount(job.revealedMask >> first)),
            feeBps: job.feeBps,
            requirements: Requirements({
                gpuCount: job.gpuCount, vramMb: job.vramMb, tier: job.tier, maxGpuSeconds: job.maxGpuSeconds
            }),
            claimDeadline: uint40(claimDeadline),
            commitDeadline: uint40(_commitDeadline(job)),
            revealDeadline: uint40(_revealDeadline(job)),
            filled: job.filled,
            createdBlock: job.createdBlock,
            feeRecipient: job.status == Status.None ? address(0) : _treasuryAt[job.treasuryIndex],
            verification: job.flags & TOLERANT != 0 ? Verification.Tolerant : Verification.Exact,
            tolerance: job.tolerance,
            deviceClass: _jobClass[jobId],
            reserve: job.reserve,
            escalated: job.flags & ESCALATED != 0,
            firstSlot: uint8(first),
            slots: uint8(count)
        });
    }

    /// @inheritdoc IJobMarket
    function getSlots(uint256 jobId) external view returns (SlotView[] memory views) {
        JobRecord storage job = _jobs[jobId];
        uint256 k = job.replicas;
        (uint256 first, uint256 count) = _round(job);
        uint256 end = first + count;
        views = new SlotView[](end);
        for (uint256 i; i < end; ++i) {
            uint24 id = _slotId(jobId, job, i);
            if (id == 0) continue;
            bytes32 hash = _hashes[jobId][i];
            bool revealed = job.revealedMask & (1 << i) != 0;
            views[i] = SlotView({
                provider: _providerOf[id],
                committed: k == 1 ? revealed : hash != bytes32(0),
                revealed: revealed,
                commitment: revealed || k == 1 ? bytes32(0) : hash,
                digest: revealed ? hash : bytes32(0),
                fingerprint: revealed ? _fingerprints[jobId][i] : bytes32(0)
            });
        }
    }

    /// @inheritdoc IJobMarket
    function phaseOf(uint256 jobId) external view returns (Phase) {
        return _phase(_jobs[jobId]);
    }

    /// @inheritdoc IJobMarket
    function resultOf(uint256 jobId) external view returns (bytes32) {
        JobRecord storage job = _jobs[jobId];
        if (job.status != Status.Settled) return bytes32(0);
        return _hashes[jobId][job.winningSlot];
    }

    /// @inheritdoc IJobMarket
    function isEligible(uint256 jobId, uint256 slot, address provider) external view returns (bool) {
        JobRecord storage job = _jobs[jobId];
        (uint256 first, uint256 count) = _round(job);
        if (job.status != Status.Open || slot < first || slot >= first + count || block.number <= job.createdBlock) {
            return false;
        }
        return _eligible(jobId, job, slot, provider);
    }

    /// @inheritdoc IJobMarket
    function commitmentOf(uint256 jobId, address provider, bytes32 digest, bytes32 fingerprint, bytes32 salt)
        external
        view
        returns (bytes32)
    {
        return _commitment(jobId, provider, digest, fingerprint, salt);
    }

    /// @notice The sortition seed of a job now: the hash of its creation block, or (once that is more
    ///         than 256 blocks old) of the latest block 256·e after it, which nobody knew at creation.
    /// @param jobId The job.
    /// @return The seed (zero before the block after creation).
    function seedOf(uint256 jobId) external view returns (bytes32) {
        uint256 createdBlock = _jobs[jobId].createdBlock;
        if (block.number <= createdBlock || createdBlock == 0) return bytes32(0);
        return _seed(createdBlock);
    }

    // -------------------------------------------------------------------------------------- internal

    /// @dev Checks and records the job; the caller pulls the payment afterwards (interactions last).
    function _createJob(JobParams calldata p) private returns (uint256 jobId) {
        if (p.specDigest == bytes32(0)) revert JobMarketZeroSpecDigest();
        if (p.payment == 0 || p.payment > type(uint96).max) revert JobMarketInvalidPayment(p.payment);
        uint256 minimum = minCollateral;
        if (p.collateral < minimum || p.collateral > type(uint96).max) {
            revert JobMarketInvalidCollateral(p.collateral, minimum);
        }
        uint8 k = p.replicas;
        // Two replicas cannot tell a liar from the honest one: one deviator always forces NoQuorum.
        if (k == 0 || k == 2 || k > MAX_REPLICAS) revert JobMarketInvalidReplicas(k);
        uint8 q = p.quorum == 0 ? k / 2 + 1 : p.quorum;
        // A strict majority (one winner, never a tie) short of k (one deviator cannot force NoQuorum).
        if (k == 1 ? q != 1 : q <= k / 2 || q >= k) revert JobMarketInvalidQuorum(p.quorum, k);
        {
            uint256 lo = minWindow;
            uint256 hi = maxWindow;
            _checkWindow(p.claimWindow, lo, hi);
            _checkWindow(p.commitWindow, lo, hi);
            _checkWindow(p.revealWindow, lo, hi);
            // hi <= MAX_WINDOW_CEILING < 2**24, so the windows fit the record's uint24 fields.
        }
        _checkVerification(p, k);
        jobId = _nextJobId++;
        uint16 fee = feeBps;
        _storeJob(jobId, p, k, q, fee, _treasuryIndex);
        uint40 claimDeadline = uint40(block.timestamp) + p.claimWindow;
        uint40 commitDeadline = claimDeadline + p.commitWindow;
        emit JobCreated(
            jobId,
            msg.sender,
            p.specDigest,
            p.payment,
            k,
            q,
            p.collateral,
            p.requirements,
            fee,
            claimDeadline,
            commitDeadline,
            commitDeadline + p.revealWindow
        );
        if (p.verification != Verification.Exact || p.deviceClass != bytes32(0) || p.reserve != 0) {
            if (p.deviceClass != bytes32(0)) _jobClass[jobId] = p.deviceClass;
            emit JobVerificationSet(jobId, p.verification, p.tolerance, p.deviceClass, p.reserve);
        }
    }

    function _checkVerification(JobParams calldata p, uint256 k) private pure {
        if (uint8(p.verification) > uint8(Verification.Tolerant)) revert JobMarketInvalidVerification(uint8(p.verification));
        if (p.verification == Verification.Tolerant) {
            if (p.tolerance == 0 || p.tolerance > MAX_TOLERANCE) revert JobMarketInvalidTolerance(p.tolerance, MAX_TOLERANCE);
            if (p.deviceClass != bytes32(0)) revert JobMarketClassNotAllowed();
        } else if (p.tolerance != 0) {
            revert JobMarketInvalidTolerance(p.tolerance, 0);
        }
        if (p.reserve != 0) {
            if (k < 3 || k > MAX_ESCALATING_REPLICAS) revert JobMarketEscalationUnavailable(k);
            // A re-run slot pays at least what a round-1 slot pays before the fee.
            uint256 minimum = p.payment * (2 * k + 1) / k;
            if (p.reserve < minimum || p.reserve > type(uint96).max) revert JobMarketInvalidReserve(p.reserve, minimum);
        }
    }

    /// @dev Exact jobs run within one determinism class: the job's, or the first claimer's.
    function _checkClass(uint256 jobId) private {
        bytes32 deviceClass = staking.deviceClassOf(msg.sender);
        if (deviceClass == bytes32(0)) revert JobMarketNoDeviceClass(msg.sender);
        bytes32 required = _jobClass[jobId];
        if (required == bytes32(0)) {
            _jobClass[jobId] = deviceClass;
            emit JobClassFixed(jobId, deviceClass);
        } else if (deviceClass != required) {
            revert JobMarketClassMismatch(jobId, msg.sender, deviceClass, required);
        }
    }

    /// @dev One SSTORE per word (field-wise writes cost a masked read-modify-write each); the shifts
    ///      follow JobRecord's field order, lowest bits first (getJob's tests check the round trip).
    ///      Amounts and windows were bounds-checked by the caller, so each fits its field.
    function _storeJob(uint256 jobId, JobParams calldata p, uint8 k, uint8 q, uint16 fee, uint8 treasuryIndex) private {
        Requirements calldata r = p.requirements;
        uint256 word0 = uint256(uint160(msg.sender)) | uint256(r.gpuCount) << 160 | uint256(r.vramMb) << 176
            | uint256(r.tier) << 208 | uint256(r.maxGpuSeconds) << 216 | uint256(p.tolerance) << 248;
        uint256 word1 = p.payment | p.collateral << 96 | uint256(k) << 192 | uint256(q) << 200
            | uint256(uint8(Status.Open)) << 208 | uint256(treasuryIndex) << 248;
        uint256 word2 = uint256(SafeCast.toUint32(block.number)) | block.timestamp << 32 | uint256(p.claimWindow) << 72
            | uint256(p.commitWindow) << 96 | uint256(p.revealWindow) << 120 | uint256(fee) << 160
            | (p.verification == Verification.Tolerant ? uint256(TOLERANT) << 248 : 0);
        bytes32 specDigest = p.specDigest;
        uint256 reserve = p.reserve;
        JobRecord storage job = _jobs[jobId];
        assembly ("memory-safe") {
            let slot := job.slot
            sstore(slot, word0)
            sstore(add(slot, 1), word1)
            sstore(add(slot, 2), word2)
            sstore(add(slot, 3), specDigest)
            if reserve { sstore(add(slot, 4), reserve) }
        }
    }

    function _checkWindow(uint256 window, uint256 lo, uint256 hi) private pure {
        if (window < lo || window > hi) revert JobMarketInvalidWindow(window, lo, hi);
    }

    function _openJob(uint256 jobId) private view returns (JobRecord storage job) {
        job = _jobs[jobId];
        Status status = job.status;
        if (status == Status.None) revert JobMarketUnknownJob(jobId);
        if (status != Status.Open) revert JobMarketJobClosed(jobId, status);
    }

    function _commitment(uint256 jobId, address provider, bytes32 digest, bytes32 fingerprint, bytes32 salt)
        private
        view
        returns (bytes32)
    {
        return keccak256(abi.encode(block.chainid, address(this), jobId, provider, digest, fingerprint, salt));
    }

    /// @dev The seed: the hash of the creation block (unknown to every party when the job is created),
    ///      re-read every 256 blocks because `blockhash` reaches no further back: block
    ///      createdBlock + 256·e, the latest such block before this one. Requires block.number > createdBlock.
    function _seed(uint256 createdBlock) private view returns (bytes32) {
        return blockhash(createdBlock + (block.number - 1 - createdBlock) / 256 * 256);
    }

    /// @dev Stake-weighted sortition (see `isEligible`): the chance is linear in the weight (capped at
    ///      one), so stake split across addresses is drawn for a slot at most as often as unsplit.
    function _eligible(uint256 jobId, JobRecord storage job, uint256 slot, address provider)
        private
        view
        returns (bool)
    {
        uint256 createdBlock = job.createdBlock;
        (uint256 weight, uint256 total) = staking.sortitionWeight(provider, createdBlock);
        if (weight == 0) return false;
        uint256 elapsed = block.timestamp - job.createdAt;
        uint256 claimWindow = job.claimWindow;
        uint256 doublings = elapsed >= claimWindow ? WIDEN_STEPS : elapsed * WIDEN_STEPS / claimWindow;
        // weight < 2**104, width < 2**8, doublings <= 4: no overflow; scaled < total < 2**128 below.
        uint256 scaled = weight * sortitionWidth << doublings;
        if (scaled >= total) return true;
        uint256 draw = uint256(keccak256(abi.encode(_seed(createdBlock), jobId, slot, provider))) >> 128;
        return draw * total < scaled << 128;
    }

    /// @dev The caller's slot.
    /// @dev The caller's slot in the current round.
    function _slotIndex(uint256 jobId, JobRecord storage job) private view returns (uint256 slot) {
        uint24 id = _accounts[msg.sender].providerId;
        (uint256 first, uint256 count) = _round(job);
        uint256 end = first + count;
        if (id == 0 || (slot = _findSlot(jobId, job, id, first, end)) == end) {
            revert JobMarketNotAssigned(jobId, msg.sender);
        }
    }

    /// @dev The slot in [from, end) held by provider `id`, or `end` if none; end <= MAX_REPLICAS bounds the
    ///      scan, and a round-1 job of k <= 3 reads a single word.
    function _findSlot(uint256 jobId, JobRecord storage job, uint24 id, uint256 from, uint256 end)
        private
        view
        returns (uint256 i)
    {
        uint256 ids = job.slotIds;
        for (i = from; i < end && i < RECORD_SLOT_IDS; ++i) {
            if (uint24(ids >> (24 * i)) == id) return i;
        }
        for (; i < end; ++i) {
            if (_moreSlotIds[jobId][i - RECORD_SLOT_IDS] == id) return i;
        }
    }

    /// @dev The current round's slots: [0, k) at first, [k, 3k + 1) once escalated.
    function _round(JobRecord storage job) private view returns (uint256 first, uint256 count) {
        uint256 k = job.replicas;
        return job.flags & ESCALATED == 0 ? (0, k) : (k, 2 * k + 1);
    }

    /// @dev Provider id of slot `i` (0 when free).
    function _slotId(uint256 jobId, JobRecord storage job, uint256 i) private view returns (uint24) {
        if (i < RECORD_SLOT_IDS) return uint24(job.slotIds >> (24 * i));
        return _moreSlotIds[jobId][i - RECORD_SLOT_IDS];
    }

    function _setSlotId(uint256 jobId, JobRecord storage job, uint256 i, uint24 id) private {
        if (i < RECORD_SLOT_IDS) {
            uint256 shift = 24 * i;
            job.slotIds = uint72((job.slotIds & ~(uint256(type(uint24).max) << shift)) | uint256(id) << shift);
        } else {
            _moreSlotIds[jobId][i - RECORD_SLOT_IDS] = id;
        }
    }

    function _claimDeadline(JobRecord storage job) private view returns (uint256) {
        return uint256(job.createdAt) + job.claimWindow;
    }

    function _commitDeadline(JobRecord storage job) private view returns (uint256) {
        return uint256(job.createdAt) + job.claimWindow + job.commitWindow;
    }

    function _revealDeadline(JobRecord storage job) private view returns (uint256) {
        return uint256(job.createdAt) + job.claimWindow + job.commitWindow + job.revealWindow;
    }

    function _popcount(uint256 x) private pure returns (uint256 count) {
        for (; x != 0; ++count) {
            x &= x - 1;
        }
    }

    function _credit(address account, uint256 amount) private {
        if (amount == 0) return;
        Account storage entry = _accounts[account];
        uint256 owed = entry.owedPlusOne;
        entry.owedPlusOne = SafeCast.toUint232((owed == 0 ? 1 : owed) + amount);
    }

    /// @dev Slots whose reveal can still come: every committed slot (every claimed slot when k = 1).
    function _revealers(JobRecord storage job) private view returns (uint256) {
        return job.replicas == 1 ? job.claimed : job.committed;
    }

    /// @dev Reveals start once the job filled and no further commit can come: every slot committed
    ///      (claimed, for k = 1), or the commit deadline passed.
    function _revealOpen(JobRecord storage job) private view returns (bool) {
        (, uint256 count) = _round(job);
        return job.filled && (_revealers(job) == count || block.timestamp > _commitDeadline(job));
    }

    function _phase(JobRecord storage job) private view returns (Phase) {
        Status status = job.status;
        if (status != Status.Open) {
            if (status == Status.None) return Phase.None;
            if (status == Status.Settled) return Phase.Settled;
            if (status == Status.Failed) return Phase.Failed;
            if (status == Status.Cancelled) return Phase.Cancelled;
            return Phase.Expired;
        }
        if (!job.filled) return block.timestamp > _claimDeadline(job) ? Phase.Settleable : Phase.Claiming;
        if (block.timestamp > _revealDeadline(job)) return Phase.Settleable;
        (uint256 first, uint256 count) = _round(job);
        if (_revealOpen(job)) {
            return _popcount(job.revealedMask >> first) == _revealers(job) ? Phase.Settleable : Phase.Revealing;
        }
        // A slot given back after the job filled is being drawn again.
        return job.claimed == count ? Phase.Committing : Phase.Claiming;
    }

    /// @dev The job never filled: every token goes back, nobody is slashed (nobody could have won).
    function _underClaimed(uint256 jobId, JobRecord storage job) private {
        Ballot memory ballot = _loadSlots(jobId, job, NO_SLOT, job.replicas);
        uint256 refund = uint256(job.payment) + job.reserve;
        job.status = Status.Failed;
        _credit(job.requester, refund);
        emit JobFailed(jobId, FailReason.UnderClaimed, 0, 0, refund);
        staking.release(jobId, ballot.providers, job.collateral, 0);
    }

    /// @dev The re-run did not fill by its claim deadline (the network lacked drawn providers): its claims
    ///      are released unslashed, and round 1 is decided by its vote with the reserve refunded.
    function _rerunUnfilled(uint256 jobId, JobRecord storage job) private {
        uint256 k = job.replicas;
        Ballot memory all = _loadSlots(jobId, job, NO_SLOT, 3 * k + 1);
        uint256 n = all.providers.length;
        address[] memory rerun = new address[](n);
        uint256 claimed;
        for (uint256 i; i < n; ++i) {
            if (uint8(all.positions >> (8 * i)) >= k) rerun[claimed++] = all.providers[i];
        }
        assembly ("memory-safe") {
            mstore(rerun, claimed)
        }
        emit RerunUnfilled(jobId, uint8(claimed));
        _decide(jobId, job, NO_SLOT, false, false);
        staking.release(jobId, rerun, job.collateral, 0);
    }

    /// @dev Concludes the current round; see docs/PROTOCOL.md and docs/VERIFICATION.md for the payoffs.
    ///      `callerSlot` is the caller's slot when it is known to hold one (saves a roster lookup).
    function _conclude(uint256 jobId, JobRecord storage job, uint256 callerSlot) private {
        bool rerun = job.flags & ESCALATED != 0;
        _decide(jobId, job, callerSlot, rerun, !rerun && job.reserve != 0);
    }

    /// @dev The deciding round (round 1, or the re-run with quorum k + 1) groups its reveals around the
    ///      one matching most of them. Round 1 with a reserve escalates on any revealed dissent or a
    ///      short group; otherwise the group settles the job if it reaches the quorum, else nobody won.
    function _decide(uint256 jobId, JobRecord storage job, uint256 callerSlot, bool rerun, bool mayEscalate)
        private
    {
        uint256 k = job.replicas;
        Ballot memory ballot = _loadSlots(jobId, job, callerSlot, rerun ? 3 * k + 1 : k);
        (uint256 centre, uint256 members, bool dissent) = _group(ballot, rerun ? k : 0);
        uint256 quorum = rerun ? k + 1 : job.quorum;
        if (mayEscalate && members != 0 && (dissent || members < quorum)) {
            _escalate(jobId, job, k);
        } else if (members < quorum) {
            _noQuorum(jobId, job, ballot, rerun);
        } else {
            _settle(jobId, job, ballot, centre, rerun);
        }
    }

    /// @dev Round 1 disagreed: 2k + 1 fresh slots after the first k, drawn from this block's hash, with the
    ///      job's windows counted from now. Round-1 collateral stays locked until the re-run decides.
    function _escalate(uint256 jobId, JobRecord storage job, uint256 k) private {
        job.flags |= ESCALATED;
        job.claimed = 0;
        job.filled = false;
        job.committed = 0;
        job.createdBlock = SafeCast.toUint32(block.number);
        job.createdAt = uint40(block.timestamp);
        uint40 claimDeadline = uint40(_claimDeadline(job));
        uint40 commitDeadline = claimDeadline + job.commitWindow;
        emit JobEscalated(jobId, uint8(k), uint8(2 * k + 1), claimDeadline, commitDeadline, commitDeadline + job.revealWindow);
    }

    /// @dev Pays every slot of either round that matches the winning centre: round-1 winners share the
    ///      payment less the fee, re-run winners get reserve / (2k + 1) each; all other slots (mismatching
    ///      or silent) lose their collateral, burned. Whatever is not paid goes back to the requester.
    function _settle(uint256 jobId, JobRecord storage job, Ballot memory ballot, uint256 centre, bool rerun) private {
        uint256 n = ballot.providers.length;
        uint256 k = job.replicas;
        uint256 slashMask;
        uint256 roundOneWinners;
        uint256 rerunWinners;
        for (uint256 i; i < n; ++i) {
            if (ballot.digests[i] != bytes32(0) && _matches(ballot, i, centre)) {
                if (uint8(ballot.positions >> (8 * i)) < k) ++roundOneWinners;
                else ++rerunWinners;
            } else {
                slashMask |= 1 << i;
            }
        }
        job.status = Status.Settled;
        job.winningSlot = uint8(ballot.positions >> (8 * centre));
        (uint256 fee, uint256 tip) = _fee(job);
        uint256 pool = job.payment - fee;
        uint256 reward = roundOneWinners == 0 ? 0 : pool / roundOneWinners;
        uint256 reserve = job.reserve;
        uint256 share = rerun ? reserve / (2 * k + 1) : 0;
        for (uint256 i; i < n; ++i) {
            if (slashMask & (1 << i) == 0) {
                _credit(ballot.providers[i], uint8(ballot.positions >> (8 * i)) < k ? reward : share);
            }
        }
        _credit(msg.sender, tip);
        // Rounding dust of the winners' split goes with the fee; a pool nobody in round 1 won goes back.
        _credit(_treasuryAt[job.treasuryIndex], fee - tip + (roundOneWinners == 0 ? 0 : pool - reward * roundOneWinners));
        uint256 unspent = reserve - share * rerunWinners;
        uint256 refund = unspent + (roundOneWinners == 0 ? pool : 0);
        if (refund != 0) _credit(job.requester, refund);
        if (rerun) emit RerunPaid(jobId, uint8(rerunWinners), share, unspent);
        uint256 winners = roundOneWinners + rerunWinners;
        emit JobSettled(
            jobId, ballot.digests[centre], uint8(winners), reward, (n - winners) * job.collateral, msg.sender, tip
        );
        // Interactions last: Staking unlocks the winners and burns the others' collateral.
        staking.release(jobId, ballot.providers, job.collateral, slashMask);
    }

    /// @dev No group reached the quorum: each revealer is paid its share (1/k of the payment less the fee
    ///      in round 1, 1/(2k + 1) of the reserve in a re-run), so forcing this never yields a free result;
    ///      silent slots are burned; the requester gets the rest back. With no reveal at all nothing was
    ///      delivered: no fee, full refund.
    function _noQuorum(uint256 jobId, JobRecord storage job, Ballot memory ballot, bool rerun) private {
        uint256 n = ballot.providers.length;
        uint256 k = job.replicas;
        uint256 silentMask;
        uint256 roundOne;
        uint256 reruns;
        for (uint256 i; i < n; ++i) {
            if (ballot.digests[i] == bytes32(0)) silentMask |= 1 << i;
            else if (uint8(ballot.positions >> (8 * i)) < k) ++roundOne;
            else ++reruns;
        }
        job.status = Status.Failed;
        uint256 payment = job.payment;
        uint256 reserve = job.reserve;
        uint256 share;
        uint256 rerunShare = rerun ? reserve / (2 * k + 1) : 0;
        uint256 refund = payment + reserve;
        if (roundOne + reruns != 0) {
            (uint256 fee, uint256 tip) = _fee(job);
            share = (payment - fee) / k;
            for (uint256 i; i < n; ++i) {
                if (silentMask & (1 << i) == 0) {
                    _credit(ballot.providers[i], uint8(ballot.positions >> (8 * i)) < k ? share : rerunShare);
                }
            }
            refund -= fee + share * roundOne + rerunShare * reruns;
            _credit(msg.sender, tip);
            _credit(_treasuryAt[job.treasuryIndex], fee - tip);
        }
        _credit(job.requester, refund);
        if (rerun) emit RerunPaid(jobId, uint8(reruns), rerunShare, reserve - rerunShare * reruns);
        uint256 collateral = job.collateral;
        emit JobFailed(jobId, FailReason.NoQuorum, (n - roundOne - reruns) * collateral, share, refund);
        staking.release(jobId, ballot.providers, collateral, silentMask);
    }

    /// @dev The fee and the part of it that tips whoever concludes the job.
    function _fee(JobRecord storage job) private view returns (uint256 fee, uint256 tip) {
        fee = uint256(job.payment) * job.feeBps / BPS;
        tip = fee * SETTLEMENT_TIP_BPS / BPS;
    }

    /// @dev The claimed slots below `end`, in slot order.
    struct Ballot {
        address[] providers;
        /// @dev Revealed digest (zero when unrevealed).
        bytes32[] digests;
        /// @dev What reveals are compared by: the fingerprints (tolerant) or the digests (exact).
        bytes32[] keys;
        /// @dev Each entry's slot index, 8 bits per entry.
        uint256 positions;
        bool tolerant;
        uint256 tolerance;
    }

    function _loadSlots(uint256 jobId, JobRecord storage job, uint256 callerSlot, uint256 end)
        private
        view
        returns (Ballot memory ballot)
    {
        uint256 mask = job.revealedMask;
        bool tolerant = job.flags & TOLERANT != 0;
        address[] memory providers = new address[](end);
        bytes32[] memory digests = new bytes32[](end);
        bytes32[] memory keys = tolerant ? new bytes32[](end) : digests;
        bytes32[MAX_REPLICAS] storage hashes = _hashes[jobId];
        uint256 positions;
        uint256 n;
        for (uint256 i; i < end; ++i) {
            uint24 id = _slotId(jobId, job, i);
            if (id == 0) continue;
            providers[n] = i == callerSlot ? msg.sender : _providerOf[id];
            if (mask & (1 << i) != 0) {
                digests[n] = hashes[i];
                if (tolerant) keys[n] = _fingerprints[jobId][i];
            }
            positions |= i << (8 * n);
            ++n;
        }
        assembly ("memory-safe") {
            mstore(providers, n)
            mstore(digests, n)
            mstore(keys, n)
        }
        ballot = Ballot(providers, digests, keys, positions, tolerant, tolerant ? job.tolerance : 0);
    }

    /// @dev The revealed entry of slot >= `from` that matches the most revealed entries of slot >= `from`
    ///      (the first on ties), how many it matches (itself included), and whether any revealed entry
    ///      there lies outside its group. With exact digests and more than k/2 members the group is the
    ///      unique majority; with fingerprints it is centred on one reveal, its members within tolerance.
    function _group(Ballot memory ballot, uint256 from)
        private
        pure
        returns (uint256 centre, uint256 members, bool dissent)
    {
        uint256 n = ballot.digests.length;
        uint256 revealed;
        for (uint256 i; i < n; ++i) {
            if (ballot.digests[i] == bytes32(0) || uint8(ballot.positions >> (8 * i)) < from) continue;
            ++revealed;
            uint256 count;
            for (uint256 j; j < n; ++j) {
                if (ballot.digests[j] == bytes32(0) || uint8(ballot.positions >> (8 * j)) < from) continue;
                if (_matches(ballot, i, j)) ++count;
            }
            if (count > members) (centre, members) = (i, count);
        }
        dissent = revealed > members;
    }

    function _matches(Ballot memory ballot, uint256 i, uint256 j) private pure returns (bool) {
        if (!ballot.tolerant) return ballot.keys[i] == ballot.keys[j];
        return _hamming(ballot.keys[i], ballot.keys[j]) <= ballot.tolerance;
    }

    /// @dev Bits in which two fingerprints differ: a branch-free popcount (SWAR), about 100 gas.
    function _hamming(bytes32 a, bytes32 b) private pure returns (uint256) {
        uint256 x = uint256(a ^ b);
        unchecked {
            x -= (x >> 1) & 0x5555555555555555555555555555555555555555555555555555555555555555;
            x = (x & 0x3333333333333333333333333333333333333333333333333333333333333333)
                + ((x >> 2) & 0x3333333333333333333333333333333333333333333333333333333333333333);
            x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f;
            x = (x & 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff)
                + ((x >> 8) & 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff);
            // Sixteen 16-bit lanes of at most 16 each: their sum (<= 256) lands in the top lane.
            return (x * 0x0001000100010001000100010001000100010001000100010001000100010001) >> 240;
        }
    }
}
