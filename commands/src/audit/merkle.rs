//! The Merkle tree a checkpoint signs over its events' hashes, as certificate transparency
//! builds it (RFC 6962, section 2.1): a leaf is SHA-256(0x00 || event hash), an inner node
//! SHA-256(0x01 || left || right), and a tree of n leaves splits at the largest power of
//! two below n. An inclusion proof is the list of sibling hashes from the leaf up.

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

pub fn leaf(event_hash: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0u8]);
    hasher.update(event_hash);
    hasher.finalize().into()
}

pub fn node(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([1u8]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The head of the tree over `leaves` (at least one).
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => panic!("a Merkle tree has at least one leaf"),
        [one] => *one,
        _ => {
            let split = split(leaves.len());
            node(&root(&leaves[..split]), &root(&leaves[split..]))
        }
    }
}

/// The siblings on the way from leaf `index` up to the head, lowest first.
pub fn path(leaves: &[Hash], index: usize) -> Vec<Hash> {
    let mut siblings = Vec::new();
    collect_path(leaves, index, &mut siblings);
    siblings
}

fn collect_path(leaves: &[Hash], index: usize, siblings: &mut Vec<Hash>) {
    if leaves.len() <= 1 {
        return;
    }
    let split = split(leaves.len());
    if index < split {
        collect_path(&leaves[..split], index, siblings);
        siblings.push(root(&leaves[split..]));
    } else {
        collect_path(&leaves[split..], index - split, siblings);
        siblings.push(root(&leaves[..split]));
    }
}

/// The head that leaf `index` of a tree of `size` leaves and its `path` lead to
/// (RFC 9162, section 2.1.3.2), `None` when the path does not fit the tree.
pub fn root_from_path(leaf: Hash, index: usize, size: usize, path: &[Hash]) -> Option<Hash> {
    if index >= size {
        return None;
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut hash = leaf;
    for sibling in path {
        if sn == 0 {
            return None;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            hash = node(sibling, &hash);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            hash = node(&hash, sibling);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    (sn == 0).then_some(hash)
}

/// The largest power of two below `n` (n > 1): the highest bit of n - 1.
fn split(n: usize) -> usize {
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: u8) -> Vec<Hash> {
        (0..n).map(|i| leaf(&[i])).collect()
    }

    #[test]
    fn the_split_is_the_largest_power_of_two_below_the_size() {
        let splits: Vec<usize> = (2..=9).map(split).collect();
        assert_eq!(splits, [1, 2, 2, 4, 4, 4, 4, 8]);
    }

    #[test]
    fn every_leaf_of_every_size_proves_its_way_to_the_head() {
        for size in 1..=17u8 {
            let leaves = leaves(size);
            let head = root(&leaves);
            for index in 0..usize::from(size) {
                let path = path(&leaves, index);
                let found = root_from_path(leaves[index], index, leaves.len(), &path);
                assert_eq!(found, Some(head), "leaf {index} of {size}");
            }
        }
    }

    #[test]
    fn a_changed_leaf_or_a_wrong_index_proves_nothing() {
        let leaves = leaves(7);
        let head = root(&leaves);
        let path = path(&leaves, 3);
        assert_ne!(root_from_path(leaf(b"forged"), 3, 7, &path), Some(head));
        assert_ne!(root_from_path(leaves[3], 4, 7, &path), Some(head));
        assert_eq!(root_from_path(leaves[3], 7, 7, &path), None);
    }
}
