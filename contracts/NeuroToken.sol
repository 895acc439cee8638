// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {INeuroToken} from "./interfaces/INeuroToken.sol";

/// @title NeuroToken
/// @notice ERC-20 with permit for devnets. Real deployments pass any existing ERC-20 instead.
contract NeuroToken is ERC20Permit, INeuroToken {
    /// @notice Tokens minted per faucet call.
    uint256 public constant FAUCET_AMOUNT = 10_000 ether;
    /// @notice Seconds between two faucet calls of one account.
    uint256 public constant FAUCET_COOLDOWN = 1 hours;
    /// @notice Anvil's and Hardhat's default chain id: the only chain with a faucet.
    uint256 public constant DEVNET_CHAIN_ID = 31_337;

    /// @notice When each account may next draw from the faucet.
    mapping(address account => uint256 availableAt) public faucetAvailableAt;

    constructor(uint256 initialSupply) ERC20("NeuroLink Token", "NRL") ERC20Permit("NeuroLink Token") {
        _mint(msg.sender, initialSupply);
    }

    /// @inheritdoc INeuroToken
    function faucetEnabled() public view returns (bool) {
        return block.chainid == DEVNET_CHAIN_ID;
    }

    /// @inheritdoc INeuroToken
    function faucet() external {
        if (!faucetEnabled()) revert NeuroTokenFaucetDisabled(block.chainid);
        uint256 availableAt = faucetAvailableAt[msg.sender];
        if (block.timestamp < availableAt) revert NeuroTokenFaucetCoolingDown(msg.sender, availableAt);
        faucetAvailableAt[msg.sender] = block.timestamp + FAUCET_COOLDOWN;
        _mint(msg.sender, FAUCET_AMOUNT);
        emit FaucetDripped(msg.sender, FAUCET_AMOUNT);
    }
}
