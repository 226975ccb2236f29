//! The Merkle commitment over stored chunks, generic over SHA-256.
//!
//! leaf_i = SHA-256(0x00 ‖ i (u64) ‖ stored chunk_i), node = SHA-256(0x01 ‖ left ‖
//! right), an odd node at the end of a level is promoted unchanged, one leaf is its own
//! root, and content_root = SHA-256(0x02 ‖ header ‖ tree_root). A chunk proof is the
//! header, the index and the siblings from the leaf level up, where a level at which the
//! node was promoted has no sibling.

use sha2::Digest;

use crate::header::{Header, HEADER_LEN};

/// A 32-byte node of the tree.
pub type Node = [u8; 32];

/// Domain byte of a leaf.
pub const LEAF_DOMAIN: u8 = 0x00;
/// Domain byte of an inner node.
pub const NODE_DOMAIN: u8 = 0x01;
/// Domain byte of the content root.
pub const ROOT_DOMAIN: u8 = 0x02;
/// Bytes before a stored chunk in its leaf preimage: 0x00 ‖ index (u64).
pub const LEAF_PREFIX_LEN: usize = 9;

/// SHA-256 over one contiguous input: the contract passes the host's hash function,
/// everything else [`SoftSha256`].
pub trait Sha256 {
    /// SHA-256 of `input`.
    fn digest(&self, input: &[u8]) -> [u8; 32];
}

/// SHA-256 in software (the `sha2` crate, SHA-NI where the CPU has it).
#[derive(Debug, Clone, Copy, Default)]
pub struct SoftSha256;

impl Sha256 for SoftSha256 {
    fn digest(&self, input: &[u8]) -> [u8; 32] {
        sha2::Sha256::digest(input).into()
    }
}

/// `0x00 ‖ index (u64, big-endian)`: what precedes a stored chunk in its leaf preimage.
pub fn leaf_prefix(index: u64) -> [u8; LEAF_PREFIX_LEN] {
    let mut p = [LEAF_DOMAIN; LEAF_PREFIX_LEN];
    p[1..].copy_from_slice(&index.to_be_bytes());
    p
}

/// `SHA-256(0x00 ‖ index ‖ stored chunk)` in software, without copying the chunk.
pub fn leaf_hash(index: u64, stored_chunk: &[u8]) -> Node {
    let mut h = sha2::Sha256::new();
    h.update(leaf_prefix(index));
    h.update(stored_chunk);
    h.finalize().into()
}

/// `0x01 ‖ left ‖ right`.
pub fn node_preimage(left: &Node, right: &Node) -> [u8; 65] {
    let mut p = [NODE_DOMAIN; 65];
    p[1..33].copy_from_slice(left);
    p[33..].copy_from_slice(right);
    p
}

/// `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash<H: Sha256 + ?Sized>(h: &H, left: &Node, right: &Node) -> Node {
    h.digest(&node_preimage(left, right))
}

/// `0x02 ‖ header ‖ tree_root`.
pub fn content_root_preimage(header: &[u8; HEADER_LEN], tree_root: &Node) -> [u8; 59] {
    let mut p = [ROOT_DOMAIN; 1 + HEADER_LEN + 32];
    p[1..=HEADER_LEN].copy_from_slice(header);
    p[1 + HEADER_LEN..].copy_from_slice(tree_root);
    p
}

/// `SHA-256(0x02 ‖ header ‖ tree_root)`.
pub fn content_root<H: Sha256 + ?Sized>(
    h: &H,
    header: &[u8; HEADER_LEN],
    tree_root: &Node,
) -> Node {
    h.digest(&content_root_preimage(header, tree_root))
}

/// Where the sibling of leaf `index`'s ancestor at `level` starts, if that sibling
/// exists in a tree of `leaves` leaves; `None` at a level where the ancestor is
/// promoted. Only meaningful for `level < levels(leaves)`.
pub fn sibling_start(index: u64, leaves: u64, level: u32) -> Option<u64> {
    // index < leaves <= 2^32 and level <= 32, so the shifts lose no bits.
    let start = (index.checked_shr(level)? ^ 1).checked_shl(level)?;
    (start < leaves).then_some(start)
}

/// The number of levels above the leaves: the smallest k with 2^k >= leaves.
pub fn levels(leaves: u64) -> u32 {
    let mut k = 0u32;
    while k < 64 && 1u64.checked_shl(k).is_some_and(|w| w < leaves) {
        k = k.saturating_add(1);
    }
    k
}

/// How many siblings the proof of leaf `index` carries in a tree of `leaves` leaves.
pub fn path_len(index: u64, leaves: u64) -> usize {
    (0..levels(leaves))
        .filter(|&k| sibling_start(index, leaves, k).is_some())
        .count()
}

/// Why a chunk's sibling path is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathError {
    /// The index is not below the header's chunk count.
    IndexOutOfRange,
    /// The stored chunk is not as long as the header says chunk `index` is.
    WrongChunkLength,
    /// Too few or too many siblings for the index and the chunk count.
    WrongPathLength,
}

/// The tree root that `leaf` at `index` and its `siblings` (leaf level up) lead to, in a
/// tree of `leaves` leaves.
///
/// # Errors
/// [`PathError::IndexOutOfRange`], [`PathError::WrongPathLength`].
pub fn root_from_path<H: Sha256 + ?Sized>(
    h: &H,
    index: u64,
    leaves: u64,
    leaf: Node,
    siblings: &[Node],
) -> Result<Node, PathError> {
    if index >= leaves {
        return Err(PathError::IndexOutOfRange);
    }
    let mut node = leaf;
    let mut siblings = siblings.iter();
    for k in 0..levels(leaves) {
        if sibling_start(index, leaves, k).is_some() {
            let sibling = siblings.next().ok_or(PathError::WrongPathLength)?;
            let left_child = index.checked_shr(k).unwrap_or(0) & 1 == 0;
            node = if left_child {
                node_hash(h, &node, sibling)
            } else {
                node_hash(h, sibling, &node)
            };
        }
    }
    if siblings.next().is_some() {
        return Err(PathError::WrongPathLength);
    }
    Ok(node)
}

/// The content root that chunk `index` of `header`, whose leaf is `leaf` and whose
/// stored length is `stored_len`, proves with `siblings`. Compare it with the root the
/// offer committed to.
///
/// # Errors
/// [`PathError`] for an index out of range, a chunk of the wrong length or a path of
/// the wrong length.
pub fn proven_root<H: Sha256 + ?Sized>(
    h: &H,
    header: &Header,
    index: u64,
    stored_len: usize,
    leaf: Node,
    siblings: &[Node],
) -> Result<Node, PathError> {
    if index >= header.chunk_count() {
        return Err(PathError::IndexOutOfRange);
    }
    if stored_len != header.stored_chunk_len(index) {
        return Err(PathError::WrongChunkLength);
    }
    let tree_root = root_from_path(h, index, header.chunk_count(), leaf, siblings)?;
    Ok(content_root(h, &header.to_bytes(), &tree_root))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preimages_match_their_definitions() {
        let chunk = [7u8; 40];
        let mut pre = [0u8; LEAF_PREFIX_LEN + 40];
        pre[0] = 0;
        pre[1..9].copy_from_slice(&5u64.to_be_bytes());
        pre[9..].copy_from_slice(&chunk);
        assert_eq!(leaf_hash(5, &chunk), SoftSha256.digest(&pre));
        assert_eq!(leaf_prefix(5), pre[..9]);
        let (l, r) = ([1u8; 32], [2u8; 32]);
        let mut n = [0u8; 65];
        n[0] = 1;
        n[1..33].copy_from_slice(&l);
        n[33..].copy_from_slice(&r);
        assert_eq!(node_hash(&SoftSha256, &l, &r), SoftSha256.digest(&n));
    }

    #[test]
    fn path_lengths() {
        assert_eq!(levels(1), 0);
        assert_eq!(levels(2), 1);
        assert_eq!(levels(3), 2);
        assert_eq!(levels(1 << 32), 32);
        assert_eq!(path_len(0, 1), 0);
        // Three leaves: leaf 2 is promoted at level 0, then paired with node(0,1).
        assert_eq!(path_len(2, 3), 1);
        assert_eq!(path_len(0, 3), 2);
        assert_eq!(path_len(4, 5), 1);
        assert_eq!(
            root_from_path(&SoftSha256, 3, 3, [0; 32], &[]),
            Err(PathError::IndexOutOfRange)
        );
        assert_eq!(
            root_from_path(&SoftSha256, 0, 1, [0; 32], &[[1; 32]]),
            Err(PathError::WrongPathLength)
        );
        assert_eq!(root_from_path(&SoftSha256, 0, 1, [4; 32], &[]), Ok([4; 32]));
    }
}
