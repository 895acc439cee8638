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
/// @notice Escrow, commit-reveal and majority settlement of replicated GPU jobs. See docs/PROTOCOL.md.
/// @dev Token balance of this contract == escrow of open jobs + sum of `claimable` (forge invariant).
contract JobMarket is IJobMarket, Ownable2Step, Pausable {
    using SafeERC20 for IERC20;

    /// @notice Most replicas a job may ask for; bounds every per-job loop.
    uint8 public constant MAX_REPLICAS = 16;
    /// @notice Hard upper bound of the protocol fee (10 %).
    uint16 public constant MAX_FEE_BPS = 1_000;
    /// @notice Hard lower bound of any job window.
    uint32 public constant MIN_WINDOW_FLOOR = 1 minutes;
    /// @notice Hard upper bound of any job window.
    uint32 public constant MAX_WINDOW_CEILING = 30 days;
    uint256 private constant BPS = 10_000;
    /// @dev Slots whose provider id lives in the job record (4 x 32 bits); the rest in `_moreSlotIds`.
    uint256 private constant RECORD_SLOT_IDS = 4;
    /// @dev "No slot", for `_conclude` called by someone who may hold none.
    uint256 private constant NO_SLOT = type(uint256).max;

    /// @dev Id the next job gets; shares Pausable's storage word, which createJob reads anyway.
    uint48 private _nextJobId = 1;
    /// @dev Providers numbered so far (ids start at 1); same word.
    uint32 private _providerCount;

    /// @notice The payment token.
    IERC20 public immutable token;
    /// @notice Where collateral is locked, released and slashed.
    IStaking public immutable staking;
    /// @notice Receives protocol fees, rounding dust and the collateral slashed in failed jobs.
    address public treasury;
    /// @notice Protocol fee in basis points of the payment, fixed per job at creation.
    uint16 public feeBps = 100;
    /// @notice Shortest allowed job window in seconds.
    uint32 public minWindow = 5 minutes;
    /// @notice Longest allowed job window in seconds.
    uint32 public maxWindow = 7 days;

    /// @dev A job in four storage words. Deadlines after the first are stored as windows. Providers
    ///      are stored as 32-bit ids (see `_providerOf`): the first four slots' ids live in word 2 next
    ///      to `claimed`, so a claim rewrites one word and a job with k <= 4 writes no per-slot words
    ///      but its hashes. `_storeJob` writes the words whole, so it relies on this field order.
    struct JobRecord {
        // word 0: read by claims (and by failures and views)
        address requester;
        uint16 gpuCount;
        uint32 vramMb;
        uint8 tier;
        uint32 maxGpuSeconds;
        // word 1: amounts and what commits, reveals and settlement update
        uint96 payment;
        uint96 collateral;
        uint8 replicas;
        uint8 quorum;
        Status status;
        uint8 committed;
        uint8 winningSlot;
        uint16 revealedMask;
        // word 2: the clock and the claims, read by every provider call and written by claims
        uint32 claimDeadline;
        uint24 commitWindow;
        uint24 revealWindow;
        uint16 feeBps;
        uint8 claimed;
        uint128 slotIds;
        // word 3
        bytes32 specDigest;
    }

    /// @dev An account's provider id (0 until its first claim) and its claimable balance plus one once
    ///      it was first credited: a withdrawal leaves 1, so the next credit rewrites a non-zero word
    ///      (5k gas) instead of creating one (22k gas). Credits are bounded far below 2**224: each is
    ///      at most payment + MAX_REPLICAS * collateral < 2**101, and there are fewer than 2**48 jobs.
    struct Account {
        uint32 providerId;
        uint224 owedPlusOne;
    }

    mapping(uint256 jobId => JobRecord) private _jobs;
    /// @dev Provider ids of slots RECORD_SLOT_IDS.. (the first ones are in JobRecord.slotIds).
    mapping(uint256 jobId => uint32[MAX_REPLICAS - RECORD_SLOT_IDS]) private _moreSlotIds;
    /// @dev Each slot's commitment, overwritten by its digest at reveal.
    mapping(uint256 jobId => bytes32[MAX_REPLICAS]) private _hashes;
    mapping(address account => Account) private _accounts;
    /// @dev The account behind each provider id, assigned at a provider's first claim.
    mapping(uint32 providerId => address provider) private _providerOf;

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
        treasury = treasury_;
    }

    // ----------------------------------------------------------------------------------- requesters

    /// @inheritdoc IJobMarket
    function createJob(JobParams calldata params) external whenNotPaused returns (uint256 jobId) {
        jobId = _createJob(params);
        token.safeTransferFrom(msg.sender, address(this), params.payment);
    }

    /// @inheritdoc IJobMarket
    function createJobWithPermit(JobParams calldata params, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        whenNotPaused
        returns (uint256 jobId)
    {
        jobId = _createJob(params);
        // A front-run permit consumed the nonce but left the allowance; the transfer still works.
        try IERC20Permit(address(token)).permit(msg.sender, address(this), params.payment, deadline, v, r, s) {}
            catch {}
        token.safeTransferFrom(msg.sender, address(this), params.payment);
    }

    /// @inheritdoc IJobMarket
    function cancel(uint256 jobId) external {
        JobRecord storage job = _openJob(jobId);
        if (job.requester != msg.sender) revert JobMarketNotRequester(jobId, msg.sender);
        if (job.claimed != 0) revert JobMarketAlreadyClaimed(jobId, job.claimed);
        job.status = Status.Cancelled;
        _credit(msg.sender, job.payment);
        emit JobCancelled(jobId);
    }

    // ------------------------------------------------------------------------------------ providers

    /// @inheritdoc IJobMarket
    function claim(uint256 jobId) external whenNotPaused {
        JobRecord storage job = _openJob(jobId);
        uint256 claimDeadline = job.claimDeadline;
        if (block.timestamp > claimDeadline) revert JobMarketClaimClosed(jobId, claimDeadline);
        uint8 claimed = job.claimed;
        if (claimed == job.replicas) revert JobMarketJobFull(jobId);
        if (msg.sender == job.requester) revert JobMarketRequesterCannotClaim(jobId);
        Account storage account = _accounts[msg.sender];
        uint32 id = account.providerId;
        if (id == 0) {
            // First claim ever: number the provider (a one-off word; later claims reuse the id).
            id = ++_providerCount;
            account.providerId = id;
            _providerOf[id] = msg.sender;
        } else if (_findSlot(jobId, job, id, claimed) < claimed) {
            revert JobMarketAlreadyClaimedBy(jobId, msg.sender);
        }
        if (claimed < RECORD_SLOT_IDS) {
            job.slotIds |= uint128(id) << (32 * claimed);
        } else {
            _moreSlotIds[jobId][claimed - RECORD_SLOT_IDS] = id;
        }
        job.claimed = claimed + 1;
        emit JobClaimed(jobId, msg.sender, claimed);
        staking.lock(msg.sender, job.collateral, job.gpuCount, job.vramMb, job.tier);
    }

    /// @inheritdoc IJobMarket
    function commit(uint256 jobId, bytes32 commitment) external {
        JobRecord storage job = _openJob(jobId);
        if (job.replicas == 1) revert JobMarketCommitNotRequired(jobId);
        if (commitment == bytes32(0)) revert JobMarketZeroHash();
        uint256 commitDeadline = _commitDeadline(job);
        if (block.timestamp > commitDeadline) revert JobMarketCommitClosed(jobId, commitDeadline);
        bytes32[MAX_REPLICAS] storage hashes = _hashes[jobId];
        uint256 index = _slotIndex(jobId, job);
        if (hashes[index] != bytes32(0)) revert JobMarketAlreadyCommitted(jobId, msg.sender);
        hashes[index] = commitment;
        ++job.committed;
        emit ResultCommitted(jobId, msg.sender);
    }

    /// @inheritdoc IJobMarket
    function reveal(uint256 jobId, bytes32 digest, bytes32 salt) external {
        JobRecord storage job = _openJob(jobId);
        if (digest == bytes32(0)) revert JobMarketZeroHash();
        uint256 revealDeadline = _revealDeadline(job);
        if (block.timestamp > revealDeadline) revert JobMarketRevealClosed(jobId, revealDeadline);
        uint256 index = _slotIndex(jobId, job);
        uint16 mask = job.revealedMask;
        uint16 bit = uint16(1 << index);
        if (mask & bit != 0) revert JobMarketAlreadyRevealed(jobId, msg.sender);
        bytes32[MAX_REPLICAS] storage hashes = _hashes[jobId];
        if (job.replicas != 1) {
            // With one replica nobody can copy, so the commit round is skipped (docs/PROTOCOL.md).
            if (!_revealOpen(job)) revert JobMarketRevealNotOpen(jobId);
            bytes32 commitment = hashes[index];
            if (commitment == bytes32(0)) revert JobMarketNotCommitted(jobId, msg.sender);
            if (keccak256(abi.encode(jobId, msg.sender, digest, salt)) != commitment) {
                revert JobMarketCommitmentMismatch(jobId, msg.sender);
            }
        }
        hashes[index] = digest;
        mask |= bit;
        job.revealedMask = mask;
        emit ResultRevealed(jobId, msg.sender, digest);
        if (_popcount(mask) == _revealers(job)) _conclude(jobId, job, index);
    }

    // ---------------------------------------------------------------------------------------- anyone

    /// @inheritdoc IJobMarket
    function settle(uint256 jobId) external {
        JobRecord storage job = _openJob(jobId);
        uint256 claimed = job.claimed;
        bool claimClosed = claimed == job.replicas || block.timestamp > job.claimDeadline;
        if (claimed == 0) {
            if (!claimClosed) revert JobMarketNotSettleable(jobId, Phase.Claiming);
            job.status = Status.Expired;
            _credit(job.requester, job.payment);
            emit JobExpired(jobId);
        } else {
            bool due = block.timestamp > _revealDeadline(job) || (claimClosed && claimed < job.quorum)
                || (_revealOpen(job) && _popcount(job.revealedMask) == _revealers(job));
            if (!due) revert JobMarketNotSettleable(jobId, _phase(job));
            _conclude(jobId, job, NO_SLOT);
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
        emit TreasuryUpdated(treasury, treasury_);
        treasury = treasury_;
    }

    // ----------------------------------------------------------------------------------------- views

    /// @notice Id the next job gets.
    function nextJobId() external view returns (uint256) {
        return _nextJobId;
    }

    /// @inheritdoc IJobMarket
    function claimable(address account) external view returns (uint256) {
        uint256 owed = _accounts[account].owedPlusOne;
        return owed == 0 ? 0 : owed - 1;
    }

    /// @inheritdoc IJobMarket
    function getJob(uint256 jobId) external view returns (Job memory) {
        JobRecord storage job = _jobs[jobId];
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
            revealed: uint8(_popcount(job.revealedMask)),
            feeBps: job.feeBps,
            requirements: Requirements({
                gpuCount: job.gpuCount, vramMb: job.vramMb, tier: job.tier, maxGpuSeconds: job.maxGpuSeconds
            }),
            claimDeadline: job.claimDeadline,
            commitDeadline: uint32(_commitDeadline(job)),
            revealDeadline: uint32(_revealDeadline(job))
        });
    }

    /// @inheritdoc IJobMarket
    function getSlots(uint256 jobId) external view returns (SlotView[] memory views) {
        JobRecord storage job = _jobs[jobId];
        uint256 n = job.claimed;
        views = new SlotView[](n);
        for (uint256 i; i < n; ++i) {
            bytes32 hash = _hashes[jobId][i];
            bool revealed = job.revealedMask & (1 << i) != 0;
            views[i] = SlotView({
                provider: _providerOf[_slotId(jobId, job, i)],
                committed: job.replicas == 1 ? revealed : hash != bytes32(0),
                revealed: revealed,
                commitment: revealed || job.replicas == 1 ? bytes32(0) : hash,
                digest: revealed ? hash : bytes32(0)
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

    // -------------------------------------------------------------------------------------- internal

    /// @dev Checks and records the job; the caller pulls the payment afterwards (interactions last).
    function _createJob(JobParams calldata p) private returns (uint256 jobId) {
        if (p.specDigest == bytes32(0)) revert JobMarketZeroSpecDigest();
        if (p.payment == 0 || p.payment > type(uint96).max) revert JobMarketInvalidPayment(p.payment);
        if (p.collateral > type(uint96).max) revert JobMarketInvalidCollateral(p.collateral);
        uint8 k = p.replicas;
        if (k == 0 || k > MAX_REPLICAS) revert JobMarketInvalidReplicas(k);
        uint8 q = p.quorum == 0 ? k / 2 + 1 : p.quorum;
        // A strict majority of k: at most one digest can reach it, so the winner is never a tie.
        if (q <= k / 2 || q > k) revert JobMarketInvalidQuorum(p.quorum, k);
        uint32 claimDeadline;
        uint32 commitDeadline;
        uint32 revealDeadline;
        {
            uint256 lo = minWindow;
            uint256 hi = maxWindow;
            _checkWindow(p.claimWindow, lo, hi);
            _checkWindow(p.commitWindow, lo, hi);
            _checkWindow(p.revealWindow, lo, hi);
            claimDeadline = uint32(block.timestamp) + p.claimWindow;
            commitDeadline = claimDeadline + p.commitWindow;
            revealDeadline = commitDeadline + p.revealWindow;
            // hi <= MAX_WINDOW_CEILING < 2**24, so the windows fit the record's uint24 fields.
        }
        jobId = _nextJobId++;
        _storeJob(jobId, p, k, q, claimDeadline);
        emit JobCreated(
            jobId,
            msg.sender,
            p.specDigest,
            p.payment,
            k,
            q,
            p.collateral,
            p.requirements,
            claimDeadline,
            commitDeadline,
            revealDeadline
        );
    }

    /// @dev One SSTORE per word (field-wise writes cost a masked read-modify-write each); the shifts
    ///      follow JobRecord's field order, lowest bits first (getJob's tests check the round trip).
    ///      Amounts and windows were bounds-checked by the caller, so each fits its field.
    function _storeJob(uint256 jobId, JobParams calldata p, uint8 k, uint8 q, uint32 claimDeadline) private {
        Requirements calldata r = p.requirements;
        uint256 word0 = uint256(uint160(msg.sender)) | uint256(r.gpuCount) << 160 | uint256(r.vramMb) << 176
            | uint256(r.tier) << 208 | uint256(r.maxGpuSeconds) << 216;
        uint256 word1 =
            p.payment | p.collateral << 96 | uint256(k) << 192 | uint256(q) << 200 | uint256(uint8(Status.Open)) << 208;
        uint256 word2 = uint256(claimDeadline) | uint256(p.commitWindow) << 32 | uint256(p.revealWindow) << 56
            | uint256(feeBps) << 80;
        bytes32 specDigest = p.specDigest;
        JobRecord storage job = _jobs[jobId];
        assembly ("memory-safe") {
            let slot := job.slot
            sstore(slot, word0)
            sstore(add(slot, 1), word1)
            sstore(add(slot, 2), word2)
            sstore(add(slot, 3), specDigest)
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

    /// @dev The caller's slot.
    function _slotIndex(uint256 jobId, JobRecord storage job) private view returns (uint256 index) {
        uint32 id = _accounts[msg.sender].providerId;
        uint256 claimed = job.claimed;
        if (id == 0 || (index = _findSlot(jobId, job, id, claimed)) == claimed) {
            revert JobMarketNotAssigned(jobId, msg.sender);
        }
    }

    /// @dev The first of the `claimed` slots held by provider `id`, or `claimed` if none; `claimed` <=
    ///      MAX_REPLICAS bounds the scan, and k <= 4 reads a single word.
    function _findSlot(uint256 jobId, JobRecord storage job, uint32 id, uint256 claimed)
        private
        view
        returns (uint256 i)
    {
        uint256 ids = job.slotIds;
        for (; i < claimed && i < RECORD_SLOT_IDS; ++i) {
            if (uint32(ids >> (32 * i)) == id) return i;
        }
        for (; i < claimed; ++i) {
            if (_moreSlotIds[jobId][i - RECORD_SLOT_IDS] == id) return i;
        }
    }

    /// @dev Provider id of slot `i` (0 when unclaimed).
    function _slotId(uint256 jobId, JobRecord storage job, uint256 i) private view returns (uint32) {
        if (i < RECORD_SLOT_IDS) return uint32(job.slotIds >> (32 * i));
        return _moreSlotIds[jobId][i - RECORD_SLOT_IDS];
    }

    function _commitDeadline(JobRecord storage job) private view returns (uint256) {
        return uint256(job.claimDeadline) + job.commitWindow;
    }

    function _revealDeadline(JobRecord storage job) private view returns (uint256) {
        return uint256(job.claimDeadline) + job.commitWindow + job.revealWindow;
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
        entry.owedPlusOne = SafeCast.toUint224((owed == 0 ? 1 : owed) + amount);
    }

    /// @dev Reveals may start once no further commit can come: every claimed slot committed and no
    ///      slot can still be claimed, or the commit deadline passed.
    function _revealOpen(JobRecord storage job) private view returns (bool) {
        uint8 committed = job.committed;
        if (committed == job.replicas || block.timestamp > _commitDeadline(job)) return true;
        return committed == job.claimed && block.timestamp > job.claimDeadline;
    }

    /// @dev Reveals that can still come in: every committed slot (every claimed slot when k = 1).
    function _revealers(JobRecord storage job) private view returns (uint8) {
        return job.replicas == 1 ? job.claimed : job.committed;
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
        uint256 claimed = job.claimed;
        bool claimClosed = claimed == job.replicas || block.timestamp > job.claimDeadline;
        if (!claimClosed) return Phase.Claiming;
        if (claimed < job.quorum || block.timestamp > _revealDeadline(job)) return Phase.Settleable;
        if (job.replicas == 1 || _revealOpen(job)) {
            return _popcount(job.revealedMask) == _revealers(job) ? Phase.Settleable : Phase.Revealing;
        }
        return Phase.Committing;
    }

    /// @dev Fewer claims than the quorum: nobody could have won, so nobody is slashed. Else settle.
    ///      `callerSlot` is the caller's slot when it is known to hold one (saves a roster lookup).
    function _conclude(uint256 jobId, JobRecord storage job, uint256 callerSlot) private {
        (address[] memory providers, bytes32[] memory digests) = _loadSlots(jobId, job, callerSlot);
        if (providers.length < job.quorum) _fail(jobId, job, FailReason.UnderClaimed, 0, providers);
        else _settle(jobId, job, providers, digests);
    }

    /// @dev Majority settlement over at most MAX_REPLICAS slots; see docs/PROTOCOL.md for the payoffs.
    function _settle(uint256 jobId, JobRecord storage job, address[] memory providers, bytes32[] memory digests)
        private
    {
        // The digest revealed by at least `quorum` slots; unique because quorum > k / 2.
        uint256 n = providers.length;
        uint256 quorum = job.quorum;
        uint256 winner = type(uint256).max;
        uint256 winners;
        for (uint256 i; i < n && winner == type(uint256).max; ++i) {
            if (digests[i] == bytes32(0)) continue;
            uint256 count = 1;
            for (uint256 j = i + 1; j < n; ++j) {
                if (digests[j] == digests[i]) ++count;
            }
            if (count >= quorum) (winner, winners) = (i, count);
        }
        if (winner == type(uint256).max) {
            // No quorum: revealers get their collateral back, silent slots are slashed.
            _fail(jobId, job, FailReason.NoQuorum, ~uint256(job.revealedMask), providers);
            return;
        }
        bytes32 winningDigest = digests[winner];
        uint256 slashMask;
        for (uint256 i; i < n; ++i) {
            if (digests[i] != winningDigest) slashMask |= 1 << i;
        }
        job.status = Status.Settled;
        job.winningSlot = uint8(winner);
        uint256 collateral = job.collateral;
        uint256 slashed = (n - winners) * collateral;
        uint256 reward = _pay(job, providers, slashMask, winners, slashed);
        emit JobSettled(jobId, winningDigest, uint8(winners), reward, slashed);
        // Interactions last: Staking unlocks the winners and sends the slashed total here.
        staking.release(providers, collateral, slashMask);
    }

    /// @dev Credit winners their share of payment minus fee plus `slashed`, the rest to the treasury.
    function _pay(
        JobRecord storage job,
        address[] memory providers,
        uint256 slashMask,
        uint256 winners,
        uint256 slashed
    ) private returns (uint256 reward) {
        uint256 payment = job.payment;
        uint256 fee = payment * job.feeBps / BPS;
        uint256 pool = payment - fee + slashed;
        reward = pool / winners;
        for (uint256 i; i < providers.length; ++i) {
            if (slashMask & (1 << i) == 0) _credit(providers[i], reward);
        }
        _credit(treasury, fee + pool - reward * winners);
    }

    /// @dev Providers of the claimed slots and the digests of the revealed ones (zero when unrevealed).
    function _loadSlots(uint256 jobId, JobRecord storage job, uint256 callerSlot)
        private
        view
        returns (address[] memory providers, bytes32[] memory digests)
    {
        uint256 n = job.claimed;
        uint256 mask = job.revealedMask;
        providers = new address[](n);
        digests = new bytes32[](n);
        bytes32[MAX_REPLICAS] storage hashes = _hashes[jobId];
        for (uint256 i; i < n; ++i) {
            providers[i] = i == callerSlot ? msg.sender : _providerOf[_slotId(jobId, job, i)];
            if (mask & (1 << i) != 0) digests[i] = hashes[i];
        }
    }

    /// @dev Refund the requester; slots in `slashMask` lose their collateral to the treasury.
    function _fail(
        uint256 jobId,
        JobRecord storage job,
        FailReason reason,
        uint256 slashMask,
        address[] memory providers
    ) private {
        slashMask &= (1 << providers.length) - 1;
        uint256 collateral = job.collateral;
        uint256 slashed = _popcount(slashMask) * collateral;
        job.status = Status.Failed;
        _credit(job.requester, job.payment);
        _credit(treasury, slashed);
        emit JobFailed(jobId, reason, slashed);
        staking.release(providers, collateral, slashMask);
    }
}
