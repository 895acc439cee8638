// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title INeuroToken
/// @notice The devnet payment token's own surface (beside ERC-20 and ERC-2612 permit): a
///         rate-limited faucet that only works on development chains.
interface INeuroToken {
    /// @notice The faucet was called on a chain that is not a development chain.
    error NeuroTokenFaucetDisabled(uint256 chainId);
    /// @notice The caller drew from the faucet less than `FAUCET_COOLDOWN` ago.
    error NeuroTokenFaucetCoolingDown(address account, uint256 availableAt);

    /// @notice Emitted when the faucet mints `amount` to `account`.
    event FaucetDripped(address indexed account, uint256 amount);

    /// @notice Mint `FAUCET_AMOUNT` tokens to the caller; devnet chain ids only.
    function faucet() external;

    /// @notice Whether the faucet works on this chain.
    function faucetEnabled() external view returns (bool);
}
