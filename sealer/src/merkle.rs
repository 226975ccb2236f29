//! The Merkle commitment over stored chunks and single-chunk inclusion proofs.
//!
//! leaf_i = SHA-256(0x00 ‖ i (u64) ‖ chunk_i), node = SHA-256(0x01 ‖ left ‖ right), an odd
//! node at the end of a level is promoted unchanged, one leaf is its own root, and
//! content_root = SHA-256(0x02 ‖ header ‖ tree_root).

use datamarket_format::merkle::{self as format, PathError, SoftSha256};
use serde::{Deserialize, Serialize};

use crate::header::{Header, HEADER_LEN};
use crate::keys::ContentRoot;
use crate::{Error, Result};

pub use format::{leaf_hash, Node};

/// `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Node, right: &Node) -> Node {
    format::node_hash(&SoftSha256, left, right)
}

/// `SHA-256(0x02 ‖ header ‖ tree_root)`.
pub fn content_root(header: &[u8; HEADER_LEN], tree_root: &Node) -> ContentRoot {
    ContentRoot(format::content_root(&SoftSha256, header, tree_root))
}

/// Builds a tree root from leaves as they arrive, in O(log n) memory.
///
/// `levels[k]` holds a finished subtree of 2^k leaves still waiting for its right
/// sibling. Folding the leftovers from the lowest level up is exactly the rule "an odd
/// node at the end of a level is promoted unchanged".
#[derive(Debug, Default, Clone)]
pub struct MerkleBuilder {
    levels: Vec<Option<Node>>,
    count: u64,
}

impl MerkleBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the next leaf.
    pub fn push(&mut self, leaf: Node) {
        let mut carry = leaf;
        for slot in self.levels.iter_mut() {
            match slot.take() {
                Some(left) => carry = node_hash(&left, &carry),
                None => {
                    *slot = Some(carry);
                    self.count += 1;
                    return;
                }
            }
        }
        self.levels.push(Some(carry));
        self.count += 1;
    }

    /// Number of leaves pushed.
    pub fn len(&self) -> u64 {
        self.count
    }

    /// True when no leaf was pushed.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The tree root, or `None` without leaves.
    pub fn root(&self) -> Option<Node> {
        let mut acc: Option<Node> = None;
        for node in self.levels.iter().flatten() {
            acc = Some(match acc {
                None => *node,
                Some(right) => node_hash(node, &right),
            });
        }
        acc
    }
}

/// Proof that one stored chunk belongs to a content root: what a chunk dispute carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkProof {
    /// The 26-byte ciphertext header, hex.
    #[serde(with = "hex_bytes")]
    pub header: Vec<u8>,
    /// Chunk index.
    pub index: u64,
    /// Sibling hashes from the leaf level up (levels where the node was promoted have none).
    #[serde(with = "hex_nodes")]
    pub siblings: Vec<Node>,
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        hex::decode(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

mod hex_nodes {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(nodes: &[[u8; 32]], s: S) -> Result<S::Ok, S::Error> {
        let v: Vec<String> = nodes.iter().map(hex::encode).collect();
        v.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<[u8; 32]>, D::Error> {
        let v = Vec::<String>::deserialize(d)?;
        v.iter()
            .map(|s| {
                let mut out = [0u8; 32];
                hex::decode_to_slice(s, &mut out).map_err(serde::de::Error::custom)?;
                Ok(out)
            })
            .collect()
    }
}

/// The leaf range `[start, end)` a sibling subtree covers at each level, for one index.
fn sibling_ranges(index: u64, leaves: u64) -> Vec<Option<(u64, u64)>> {
    (0..format::levels(leaves))
        .map(|k| {
            format::sibling_start(index, leaves, k)
                .map(|start| (start, (start + (1u64 << k)).min(leaves)))
        })
        .collect()
}

/// Collects the sibling path of one chunk while all leaves stream past, in
/// O(log² n) memory: each sibling is the root of a contiguous leaf range.
#[derive(Debug)]
pub struct ProofBuilder {
    index: u64,
    ranges: Vec<Option<(u64, u64)>>,
    builders: Vec<MerkleBuilder>,
    next: u64,
    all: MerkleBuilder,
}

impl ProofBuilder {
    /// Starts a proof for chunk `index` of a tree with `leaves` leaves.
    pub fn new(index: u64, leaves: u64) -> Self {
        let ranges = sibling_ranges(index, leaves);
        ProofBuilder {
            index,
            builders: vec![MerkleBuilder::new(); ranges.len()],
            ranges,
            next: 0,
            all: MerkleBuilder::new(),
        }
    }

    /// The chunk this proof is for.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// Feeds the next leaf (in order).
    pub fn push(&mut self, leaf: Node) {
        let i = self.next;
        for (range, b) in self.ranges.iter().zip(self.builders.iter_mut()) {
            if let Some((s, e)) = range {
                if (*s..*e).contains(&i) {
                    b.push(leaf);
                    break;
                }
            }
        }
        self.all.push(leaf);
        self.next += 1;
    }

    /// The proof and the tree root of all leaves.
    pub fn finish(self, header: &Header) -> (ChunkProof, Option<Node>) {
        let siblings = self.builders.iter().filter_map(|b| b.root()).collect();
        let proof = ChunkProof {
            header: header.to_bytes().to_vec(),
            index: self.index,
            siblings,
        };
        (proof, self.all.root())
    }
}

impl ChunkProof {
    /// Checks that `stored_chunk` (ciphertext ‖ tag) is chunk `self.index` of the
    /// ciphertext whose content root is `root`.
    ///
    /// # Errors
    /// [`Error::MalformedProof`] for a bad header, an index out of range, a chunk of the
    /// wrong length or a path of the wrong length; [`Error::ProofMismatch`] when the
    /// path does not lead to `root`.
    pub fn verify(&self, stored_chunk: &[u8], root: &ContentRoot) -> Result<()> {
        if self.header.len() != HEADER_LEN {
            return Err(Error::MalformedProof("header is not 26 bytes"));
        }
        let header = Header::parse(&self.header)?;
        let leaf = leaf_hash(self.index, stored_chunk);
        let proven = format::proven_root(
            &SoftSha256,
            &header,
            self.index,
            stored_chunk.len(),
            leaf,
            &self.siblings,
        )
        .map_err(|e| {
            Error::MalformedProof(match e {
                PathError::IndexOutOfRange => "chunk index out of range",
                PathError::WrongChunkLength => "chunk has the wrong length",
                PathError::WrongPathLength => "sibling path has the wrong length",
            })
        })?;
        if proven == root.0 {
            Ok(())
        } else {
            Err(Error::ProofMismatch(self.index))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tree by its definition, level by level.
    fn reference_root(leaves: &[Node]) -> Node {
        let mut level = leaves.to_vec();
        while level.len() > 1 {
            level = level
                .chunks(2)
                .map(|p| {
                    if p.len() == 2 {
                        node_hash(&p[0], &p[1])
                    } else {
                        p[0]
                    }
                })
                .collect();
        }
        level[0]
    }

    fn leaves(n: u64) -> Vec<Node> {
        (0..n).map(|i| leaf_hash(i, &i.to_le_bytes())).collect()
    }

    #[test]
    fn streaming_root_matches_definition() {
        for n in 1..=70u64 {
            let ls = leaves(n);
            let mut b = MerkleBuilder::new();
            ls.iter().for_each(|l| b.push(*l));
            assert_eq!(b.root().unwrap(), reference_root(&ls), "n = {n}");
        }
        assert_eq!(MerkleBuilder::new().root(), None);
    }

    #[test]
    fn one_leaf_is_its_own_root() {
        let l = leaf_hash(0, b"x");
        let mut b = MerkleBuilder::new();
        b.push(l);
        assert_eq!(b.root(), Some(l));
    }

    #[test]
    fn proofs_verify_for_every_index_and_fail_elsewhere() {
        for n in 1..=19u64 {
            let chunk_size = crate::ChunkSize::new(4096).unwrap();
            // Headers whose plaintext length gives n chunks; chunks here are fake stored bytes.
            let header = Header::new(chunk_size, n * 4096, [7; 7]).unwrap();
            let chunks: Vec<Vec<u8>> = (0..n)
                .map(|i| vec![i as u8; header.stored_chunk_len(i)])
                .collect();
            let ls: Vec<Node> = chunks
                .iter()
                .enumerate()
                .map(|(i, c)| leaf_hash(i as u64, c))
                .collect();
            let root = content_root(&header.to_bytes(), &reference_root(&ls));
            for i in 0..n {
                let mut pb = ProofBuilder::new(i, n);
                ls.iter().for_each(|l| pb.push(*l));
                let (proof, tree) = pb.finish(&header);
                assert_eq!(tree.unwrap(), reference_root(&ls));
                proof.verify(&chunks[i as usize], &root).unwrap();
                let mut bad = chunks[i as usize].clone();
                bad[0] ^= 1;
                assert!(
                    matches!(proof.verify(&bad, &root), Err(Error::ProofMismatch(j)) if j == i)
                );
                if n > 1 {
                    let mut other = proof.clone();
                    other.index = (i + 1) % n;
                    assert!(other.verify(&chunks[i as usize], &root).is_err());
                }
            }
        }
    }
}
