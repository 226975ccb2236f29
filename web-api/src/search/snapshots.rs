//! The searchers that later pages of ranked searches read.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Instant;

use tantivy::index::SegmentId;
use tantivy::{Searcher, SegmentReader};

use super::{Snapshot, SNAPSHOTS, SNAPSHOT_TTL};

/// A searcher kept for the later pages of searches that read it.
pub(super) struct Pinned {
    searcher: Searcher,
    used: Instant,
}

/// The searchers that the later pages of ranked searches read, by generation.
pub(super) struct Snapshots {
    /// Tells this process's snapshots from another's.
    instance: u64,
    pub(super) kept: Mutex<HashMap<u64, Pinned>>,
}

impl Snapshots {
    pub(super) fn new() -> Self {
        Self {
            // Random, so that a cursor from before a restart names no snapshot of this
            // process (std's hasher keys are random per process).
            instance: std::hash::BuildHasher::hash_one(
                &std::collections::hash_map::RandomState::new(),
                std::process::id(),
            ),
            kept: Mutex::new(HashMap::new()),
        }
    }

    /// What a cursor names to read `searcher` again.
    pub(super) fn of(&self, searcher: &Searcher) -> Snapshot {
        Snapshot {
            instance: self.instance,
            generation: searcher.generation().generation_id(),
        }
    }

    /// The searcher of `snapshot`, if it is still kept (which counts as reading it).
    pub(super) fn get(&self, snapshot: Snapshot) -> Option<Searcher> {
        if snapshot.instance != self.instance {
            return None;
        }
        let mut kept = self.kept.lock().expect("snapshots lock");
        let pinned = kept.get_mut(&snapshot.generation)?;
        pinned.used = Instant::now();
        Some(pinned.searcher.clone())
    }

    /// Runs `f` on the kept searchers, then forgets those unread for [`SNAPSHOT_TTL`]
    /// and the least recently read beyond [`SNAPSHOTS`]. The last reference to a
    /// searcher unmaps its segments, so the forgotten ones are dropped after the lock
    /// that every ranked search takes is released.
    pub(super) fn update<T>(&self, f: impl FnOnce(&mut HashMap<u64, Pinned>) -> T) -> T {
        let now = Instant::now();
        let (out, forgotten) = {
            let mut kept = self.kept.lock().expect("snapshots lock");
            let out = f(&mut kept);
            let mut forgotten: Vec<Pinned> = kept
                .extract_if(|_, pinned| now.duration_since(pinned.used) >= SNAPSHOT_TTL)
                .map(|(_, pinned)| pinned)
                .collect();
            while kept.len() > SNAPSHOTS {
                let oldest = kept
                    .iter()
                    .min_by_key(|(_, pinned)| pinned.used)
                    .map(|(generation, _)| *generation)
                    .expect("more than SNAPSHOTS kept");
                forgotten.extend(kept.remove(&oldest));
            }
            (out, forgotten)
        };
        drop(forgotten);
        out
    }

    /// Keeps `searcher` readable for [`SNAPSHOT_TTL`] from now.
    pub(super) fn pin(&self, searcher: &Searcher) {
        let now = Instant::now();
        self.update(|kept| {
            kept.entry(searcher.generation().generation_id())
                .and_modify(|pinned| pinned.used = now)
                .or_insert_with(|| Pinned {
                    searcher: searcher.clone(),
                    used: now,
                });
        });
    }

    /// The segments the kept searchers read.
    pub(super) fn segments(&self) -> HashSet<SegmentId> {
        self.update(|kept| {
            kept.values()
                .flat_map(|pinned| pinned.searcher.segment_readers().iter())
                .map(SegmentReader::segment_id)
                .collect()
        })
    }

    /// Forgets every snapshot.
    pub(super) fn clear(&self) {
        let all = self.update(std::mem::take);
        drop(all);
    }
}
