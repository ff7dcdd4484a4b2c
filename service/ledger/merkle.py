"""Merkle trees over the log as in RFC 6962 (section 2.1): roots and inclusion proofs, no I/O.

Leaves are hashed as sha256(0x00 || data) and interior nodes as sha256(0x01 || left || right),
so a leaf can never be passed off as a node. A tree of n leaves splits at the largest power of
two below n; equivalently, level by level, a last node without a partner moves up unchanged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """The hash of one leaf: sha256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node: sha256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


class MerkleFrontier:
    """A root that grows one leaf at a time, keeping only O(log n) subtree roots."""

    def __init__(self) -> None:
        self.size = 0
        # Roots of the perfect subtrees that make up the tree so far, largest first: one per
        # set bit of size, like a binary counter.
        self._peaks: list[bytes] = []

    def append(self, data: bytes) -> None:
        """Add the next leaf."""
        node = leaf_hash(data)
        self.size += 1
        completed = self.size
        while completed % 2 == 0:
            node = node_hash(self._peaks.pop(), node)
            completed //= 2
        self._peaks.append(node)

    def root(self) -> bytes:
        """The root of the tree of every leaf added so far."""
        if not self._peaks:
            return EMPTY_ROOT
        root = self._peaks[-1]
        for peak in reversed(self._peaks[:-1]):
            root = node_hash(peak, root)
        return root


class MerkleTree:
    """Every level of a tree, each kept as one bytes object, to answer inclusion proofs."""

    def __init__(self, leaves: Iterable[bytes]) -> None:
        # Contiguous levels cost 32 bytes a node, not a Python object each: a tree over
        # 200,000 events fits in about 13 MB.
        level = b"".join(leaf_hash(data) for data in leaves)
        self.size = len(level) // HASH_SIZE
        self.levels = [level]
        while len(level) > HASH_SIZE:
            level = _next_level(level)
            self.levels.append(level)

    def root(self) -> bytes:
        """The tree's root; the empty tree's is sha256 of nothing."""
        return self.levels[-1] if self.size else EMPTY_ROOT

    def proof(self, index: int) -> list[bytes]:
        """The audit path of leaf index: the sibling at each level, bottom up."""
        if not 0 <= index < self.size:
            raise IndexError(f"leaf {index} is outside a tree of {self.size}")
        path = []
        for level in self.levels[:-1]:
            sibling = index ^ 1
            # A last node without a partner moves up unchanged and adds nothing to the path.
            if sibling * HASH_SIZE < len(level):
                path.append(level[sibling * HASH_SIZE : (sibling + 1) * HASH_SIZE])
            index //= 2
        return path


def _next_level(level: bytes) -> bytes:
    nodes = [
        node_hash(level[i : i + HASH_SIZE], level[i + HASH_SIZE : i + 2 * HASH_SIZE])
        for i in range(0, len(level) - HASH_SIZE, 2 * HASH_SIZE)
    ]
    if (len(level) // HASH_SIZE) % 2:
        nodes.append(level[-HASH_SIZE:])
    return b"".join(nodes)


def merkle_root(leaves: Iterable[bytes]) -> bytes:
    """The root of the tree over leaves, in order."""
    frontier = MerkleFrontier()
    for data in leaves:
        frontier.append(data)
    return frontier.root()


def verify_inclusion(
    data: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether proof links leaf data at index to root in a tree of size leaves (RFC 9162)."""
    if not 0 <= index < size:
        return False
    node, at, last = leaf_hash(data), index, size - 1
    for sibling in proof:
        if last == 0 or len(sibling) != HASH_SIZE:
            return False
        if at % 2 == 1 or at == last:
            node = node_hash(sibling, node)
            # Climb past levels where this node had no right partner and moved up as is.
            while at % 2 == 0 and at != 0:
                at //= 2
                last //= 2
        else:
            node = node_hash(node, sibling)
        at //= 2
        last //= 2
    return last == 0 and node == root
