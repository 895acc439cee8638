// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "./utils/Test.sol";
import {NeuroToken} from "../../contracts/NeuroToken.sol";
import {INeuroToken} from "../../contracts/interfaces/INeuroToken.sol";

contract NeuroTokenTest is Test {
    NeuroToken internal token;
    address internal alice = address(0xA11CE);

    function setUp() public {
        vm.chainId(31_337);
        token = new NeuroToken(1_000 ether);
    }

    function test_constructor_mintsInitialSupplyToDeployer() public view {
        assertEq(token.balanceOf(address(this)), 1_000 ether, "deployer balance");
    }

    function test_faucet_mintsOnDevnet() public {
        vm.prank(alice);
        token.faucet();
        assertEq(token.balanceOf(alice), token.FAUCET_AMOUNT(), "faucet amount");
    }

    function test_faucet_revertsWhenCoolingDown() public {
        vm.warp(1_000);
        vm.startPrank(alice);
        token.faucet();
        vm.expectRevert(
            abi.encodeWithSelector(INeuroToken.NeuroTokenFaucetCoolingDown.selector, alice, 1_000 + 1 hours)
        );
        token.faucet();
        vm.warp(1_000 + 1 hours);
        token.faucet();
        vm.stopPrank();
        assertEq(token.balanceOf(alice), 2 * token.FAUCET_AMOUNT(), "two drips");
    }

    function test_faucet_revertsOffDevnet() public {
        vm.chainId(11_155_111);
        vm.expectRevert(abi.encodeWithSelector(INeuroToken.NeuroTokenFaucetDisabled.selector, 11_155_111));
        token.faucet();
    }

    function test_permit_setsAllowanceFromSignature() public {
        uint256 ownerKey = 0xB0B;
        address owner = vm.addr(ownerKey);
        token.transfer(owner, 10 ether);
        bytes32 typeHash =
            keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");
        bytes32 structHash = keccak256(abi.encode(typeHash, owner, alice, 5 ether, 0, block.timestamp));
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(ownerKey, digest);
        token.permit(owner, alice, 5 ether, block.timestamp, v, r, s);
        assertEq(token.allowance(owner, alice), 5 ether, "allowance");
    }
}
