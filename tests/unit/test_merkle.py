"""The Merkle tree agrees with RFC 6962's definition, and its proofs bind leaf, place and root."""

from __future__ import annotations

import hashlib

import pytest

from service.ledger.merkle import (
    EMPTY_ROOT,
    MerkleFrontier,
    MerkleTree,
    leaf_hash,
    merkle_root,
    node_hash,
    verify_inclusion,
)

SIZES = range(1, 34)


def leaves(n: int) -> list[bytes]:
    """Stand-ins for event hashes: 32 distinct bytes each."""
    return [hashlib.sha256(f"event {i}".encode()).digest() for i in range(n)]


def split(n: int) -> int:
    """RFC 6962: the largest power of two smaller than n."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(data: list[bytes]) -> bytes:
    """MTH(D[n]) exactly as RFC 6962 section 2.1 defines it, recursively."""
    if not data:
        return hashlib.sha256(b"").digest()
    if len(data) == 1:
        return hashlib.sha256(b"\x00" + data[0]).digest()
    k = split(len(data))
    return hashlib.sha256(b"\x01" + mth(data[:k]) + mth(data[k:])).digest()


def path(m: int, data: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) as RFC 6962 section 2.1.1 defines it."""
    if len(data) == 1:
        return []
    k = split(len(data))
    if m < k:
        return [*path(m, data[:k]), mth(data[k:])]
    return [*path(m - k, data[k:]), mth(data[:k])]


def flipped(value: bytes) -> bytes:
    return bytes([value[0] ^ 0x01]) + value[1:]


@pytest.mark.parametrize("n", SIZES)
def test_every_way_of_computing_the_root_agrees_with_the_rfc(n: int) -> None:
    data = leaves(n)
    frontier = MerkleFrontier()
    for item in data:
        frontier.append(item)
    assert frontier.size == MerkleTree(data).size == n
    assert MerkleTree(data).root() == frontier.root() == merkle_root(data) == mth(data)


def test_the_empty_tree_has_the_hash_of_nothing() -> None:
    assert MerkleTree([]).root() == MerkleFrontier().root() == merkle_root([]) == EMPTY_ROOT


def test_the_frontier_matches_the_rfc_after_every_leaf_of_a_long_log() -> None:
    data = leaves(1100)
    frontier = MerkleFrontier()
    for n, item in enumerate(data, start=1):
        frontier.append(item)
        if n in (255, 256, 257, 1023, 1024, 1025, 1100):
            assert frontier.root() == mth(data[:n])


@pytest.mark.parametrize("n", SIZES)
def test_every_leaf_has_the_rfc_proof_and_it_verifies(n: int) -> None:
    data = leaves(n)
    tree = MerkleTree(data)
    for index, item in enumerate(data):
        proof = tree.proof(index)
        assert proof == path(index, data)
        assert verify_inclusion(item, index, n, proof, tree.root())


@pytest.mark.parametrize("n", SIZES)
def test_a_tampered_proof_is_rejected(n: int) -> None:
    data = leaves(n)
    tree = MerkleTree(data)
    root = tree.root()
    for index, item in enumerate(data):
        proof = tree.proof(index)
        assert not verify_inclusion(flipped(item), index, n, proof, root)
        assert not verify_inclusion(item, index, n, proof, flipped(root))
        assert not verify_inclusion(item, index, n, [*proof, root], root)
        for step in range(len(proof)):
            edited = [*proof[:step], flipped(proof[step]), *proof[step + 1 :]]
            assert not verify_inclusion(item, index, n, edited, root)
            assert not verify_inclusion(item, index, n, proof[:step], root)
        for elsewhere in range(n):
            if elsewhere != index:
                assert not verify_inclusion(item, elsewhere, n, proof, root)


def test_a_proof_outside_the_tree_or_of_the_wrong_width_is_rejected() -> None:
    data = leaves(5)
    tree = MerkleTree(data)
    assert not verify_inclusion(data[0], 5, 5, tree.proof(0), tree.root())
    assert not verify_inclusion(data[0], -1, 5, tree.proof(0), tree.root())
    short = [step[:31] for step in tree.proof(0)]
    assert not verify_inclusion(data[0], 0, 5, short, tree.root())
    with pytest.raises(IndexError):
        tree.proof(5)


def test_a_leaf_cannot_pass_for_a_node() -> None:
    a, b = leaves(2)
    # Domain separation: two leaves' hashes joined are not a leaf of the parent's tree.
    assert leaf_hash(leaf_hash(a) + leaf_hash(b)) != node_hash(leaf_hash(a), leaf_hash(b))
