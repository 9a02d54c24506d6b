#!/usr/bin/env python3
"""Runtime bytecode of a minimal contract mock, for anvil_setCode.

    evm_mock.py SELECTOR WORDS      e.g.  evm_mock.py feaf968c 5

The contract answers a call to the 4-byte SELECTOR with storage slots
0 .. WORDS-1 as WORDS ABI words (uint256 each), and reverts on any other
call.  That is all a Chainlink aggregator's latestRoundData() (roundId,
answer, startedAt, updatedAt, answeredInRound: 5 words) or a Uniswap v2
pair's getReserves() (reserve0, reserve1, blockTimestampLast: 3 words)
needs to look like to a reader; the test sets the slots with
anvil_setStorageAt.  Assembled by hand, no compiler:

    PUSH1 0 CALLDATALOAD PUSH1 0xe0 SHR     selector = calldata[0:4]
    PUSH4 SELECTOR EQ PUSH1 found JUMPI
    PUSH1 0 DUP1 REVERT
  found:
    JUMPDEST
    PUSH1 i SLOAD PUSH1 32*i MSTORE         for i in 0 .. WORDS-1
    PUSH1 32*WORDS PUSH1 0 RETURN
"""
import sys

PUSH1, PUSH4 = 0x60, 0x63
CALLDATALOAD, SHR, EQ, JUMPI, DUP1, REVERT = 0x35, 0x1C, 0x14, 0x57, 0x80, 0xFD
JUMPDEST, SLOAD, MSTORE, RETURN = 0x5B, 0x54, 0x52, 0xF3


def assemble(selector, words):
    if not 1 <= words <= 7:
        raise ValueError("1 to 7 words (32 * words must fit in one byte)")
    head = [PUSH1, 0, CALLDATALOAD, PUSH1, 0xE0, SHR, PUSH4] + list(selector) + [EQ]
    found = len(head) + 2 + 1 + 4          # after PUSH1 found, JUMPI, PUSH1 0 DUP1 REVERT
    code = head + [PUSH1, found, JUMPI, PUSH1, 0, DUP1, REVERT]
    assert len(code) == found
    code.append(JUMPDEST)
    for i in range(words):
        code += [PUSH1, i, SLOAD, PUSH1, 32 * i, MSTORE]
    code += [PUSH1, 32 * words, PUSH1, 0, RETURN]
    return bytes(code)


def main():
    selector = bytes.fromhex(sys.argv[1].removeprefix("0x"))
    if len(selector) != 4:
        sys.exit("the selector is 4 bytes")
    print("0x" + assemble(selector, int(sys.argv[2])).hex())


if __name__ == "__main__":
    main()
