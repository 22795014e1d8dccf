//! The snapshots the api hands out page by page, kept so that their later
//! pages can be read, and who may read them.
//!
//! A snapshot belongs to the user and the scope that took it: anyone else
//! asking for its id is told `not-found`, exactly as for an id that never
//! existed. Ids are 128 random bits, so they cannot be walked. The cache is
//! bounded in entries, in estimated bytes and per user; the oldest entries
//! go first.
//!
//! Taking a snapshot holds the worker's publish lock only until the
//! store's read view is fixed (`Store::fleet_snapshot`); the reads run
//! after it, beside ingest. So that a flood of snapshot requests cannot
//! hold up ingest even that often (nor copy the fleet once per request),
//! callers of one scope share one take: a request
//! that arrives while a take of its scope is under way waits for it and
//! gets the same immutable snapshot, and a snapshot taken in the last
//! [`SHARE_FOR`] is handed out again. That is consistent: a console
//! follows the events from the snapshot's `events_seq + 1`, and events
//! carry whole states. At most [`TAKES_AT_ONCE`] takes run at a time, and
//! one user has at most [`PER_USER`] snapshot requests in flight.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::domain::model::DeviceRow;
use crate::store::Scope;

use crate::api::{ApiError, ErrorCode, Snapshot};

/// How long a taken snapshot stays available for its remaining pages.
pub const KEEP: Duration = Duration::from_secs(120);
/// A snapshot this young is handed to another caller of the same scope.
pub const SHARE_FOR: Duration = Duration::from_secs(2);
/// Snapshots kept at most (all users).
pub const MAX_ENTRIES: usize = 256;
/// Snapshots kept at most for one user.
pub const MAX_PER_USER: usize = 4;
/// Estimated bytes of kept snapshots at most. Entries share their
/// snapshots, so this is an upper bound of what they hold.
pub const MAX_BYTES: usize = 256 << 20;
/// Snapshot requests of one user in flight at once; more are `busy`.
pub const PER_USER: usize = 2;
/// Takes (store reads under the publish lock) running at once.
pub const TAKES_AT_ONCE: usize = 2;

/// A kept snapshot and who may read it.
struct Entry {
    at: Instant,
    owner: String,
    scope: Scope,
    bytes: usize,
    snap: Arc<Snapshot>,
}

/// The newest snapshot of one scope, shared between callers.
type Shared = Arc<tokio::sync::Mutex<Option<(Instant, Arc<Snapshot>)>>>;

#[derive(Default)]
struct Inner {
    kept: HashMap<String, Entry>,
    bytes: usize,
    in_flight: HashMap<String, usize>,
    shared: HashMap<Scope, Shared>,
}

/// The api's snapshots (one per api server).
pub struct Snapshots {
    inner: Mutex<Inner>,
    takes: tokio::sync::Semaphore,
}

impl Default for Snapshots {
    fn default() -> Self {
        Self {
            inner: Mutex::default(),
            takes: tokio::sync::Semaphore::new(TAKES_AT_ONCE),
        }
    }
}

/// A user's snapshot request in flight; counted down when dropped.
pub struct InFlight<'a> {
    cache: &'a Snapshots,
    user: String,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut inner = self.cache.lock();
        if let Some(n) = inner.in_flight.get_mut(&self.user) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                inner.in_flight.remove(&self.user);
            }
        }
    }
}

/// An estimate of what a snapshot holds in memory.
pub fn estimated_bytes(snap: &Snapshot) -> usize {
    fn row(r: &DeviceRow) -> usize {
        std::mem::size_of::<DeviceRow>()
            + r.name.as_str().len()
            + r.site_name.as_str().len()
            + r.firmware.as_str().len()
            + 64
    }
    std::mem::size_of::<Snapshot>()
        + snap.devices.iter().map(row).sum::<usize>()
        + snap.incidents.len() * 1_024
}

/// 128 random bits, as hex.
fn new_id() -> String {
    use ring::rand::SecureRandom as _;
    let mut b = [0u8; 16];
    if ring::rand::SystemRandom::new().fill(&mut b).is_err() {
        // The system's random source failing is not recoverable here; an
        // id nobody can read is better than a guessable one.
        return String::new();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl Snapshots {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts a request of `user`, or `busy` past [`PER_USER`].
    pub fn begin(&self, user: &str) -> Result<InFlight<'_>, ApiError> {
        let mut inner = self.lock();
        let n = inner.in_flight.entry(user.to_string()).or_insert(0);
        if *n >= PER_USER {
            return Err(ApiError::new(
                ErrorCode::Busy,
                format!("{user} already has {PER_USER} snapshots being taken; wait for them"),
            ));
        }
        *n += 1;
        Ok(InFlight {
            cache: self,
            user: user.to_string(),
        })
    }

    /// A snapshot of `scope`: a fresh shared one, or a new one from `take`.
    pub async fn take<F, Fut>(&self, scope: &Scope, take: F) -> Result<Arc<Snapshot>, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Snapshot, ApiError>>,
    {
        let shared = Arc::clone(self.lock().shared.entry(scope.clone()).or_default());
        let mut newest = shared.lock().await;
        if let Some((at, snap)) = newest.as_ref()
            && at.elapsed() < SHARE_FOR
        {
            return Ok(Arc::clone(snap));
        }
        let _permit = self
            .takes
            .acquire()
            .await
            .map_err(|_| ApiError::new(ErrorCode::Internal, "the snapshot desk is closed"))?;
        let snap = Arc::new(take().await?);
        *newest = Some((Instant::now(), Arc::clone(&snap)));
        Ok(snap)
    }

    /// Keeps `snap` for `owner` in `scope` and returns its new id.
    pub fn keep(&self, owner: &str, scope: &Scope, snap: Arc<Snapshot>) -> String {
        let id = new_id();
        let bytes = estimated_bytes(&snap);
        let mut inner = self.lock();
        let now = Instant::now();
        inner.expire(now);
        while inner.kept.values().filter(|e| e.owner == owner).count() >= MAX_PER_USER {
            inner.drop_oldest(|e| e.owner == owner);
        }
        while !inner.kept.is_empty()
            && (inner.kept.len() >= MAX_ENTRIES || inner.bytes.saturating_add(bytes) > MAX_BYTES)
        {
            inner.drop_oldest(|_| true);
        }
        if id.is_empty() || bytes > MAX_BYTES {
            return id;
        }
        inner.bytes += bytes;
        inner.kept.insert(
            id.clone(),
            Entry {
                at: now,
                owner: owner.to_string(),
                scope: scope.clone(),
                bytes,
                snap,
            },
        );
        id
    }

    /// The snapshot `id` if `owner` took it in `scope`; `not-found` for
    /// anyone else, for an id that expired and for one never issued.
    pub fn get(&self, owner: &str, scope: &Scope, id: &str) -> Result<Arc<Snapshot>, ApiError> {
        let mut inner = self.lock();
        inner.expire(Instant::now());
        inner
            .kept
            .get(id)
            .filter(|e| e.owner == owner && e.scope == *scope)
            .map(|e| Arc::clone(&e.snap))
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::NotFound,
                    "no such snapshot of yours (they last 2 minutes): take a new one",
                )
            })
    }

    /// Snapshots kept now and their estimated bytes.
    pub fn usage(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.kept.len(), inner.bytes)
    }
}

impl Inner {
    fn expire(&mut self, now: Instant) {
        let mut freed = 0;
        self.kept.retain(|_, e| {
            let keep = now.duration_since(e.at) < KEEP;
            if !keep {
                freed += e.bytes;
            }
            keep
        });
        self.bytes = self.bytes.saturating_sub(freed);
    }

    fn drop_oldest(&mut self, which: impl Fn(&Entry) -> bool) {
        let oldest = self
            .kept
            .iter()
            .filter(|(_, e)| which(e))
            .min_by_key(|(_, e)| e.at)
            .map(|(id, _)| id.clone());
        match oldest.and_then(|id| self.kept.remove(&id)) {
            Some(e) => self.bytes = self.bytes.saturating_sub(e.bytes),
            None => self.kept.clear(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Id;

    fn snap() -> Arc<Snapshot> {
        Arc::new(Snapshot {
            events_seq: 1,
            counts: Default::default(),
            devices: Vec::new(),
            incidents: Vec::new(),
        })
    }

    fn tenant(t: &str) -> Scope {
        Scope::Tenant(Id::parse(t).unwrap_or_else(|e| panic!("{e}")))
    }

    #[test]
    fn a_snapshot_is_read_only_by_its_owner_in_its_scope() {
        let s = Snapshots::default();
        let id = s.keep("ana", &Scope::All, snap());
        assert_eq!(id.len(), 32, "128 bits of hex");
        assert!(s.get("ana", &Scope::All, &id).is_ok());
        let other = s
            .get("bob", &Scope::All, &id)
            .err()
            .map(|e| e.code.as_str());
        assert_eq!(other, Some("not-found"));
        let scope = s
            .get("ana", &tenant("acme"), &id)
            .err()
            .map(|e| e.code.as_str());
        assert_eq!(scope, Some("not-found"));
        let never = s
            .get("ana", &Scope::All, "0")
            .err()
            .map(|e| e.code.as_str());
        assert_eq!(never, Some("not-found"));
        assert_ne!(s.keep("ana", &Scope::All, snap()), id, "ids are not reused");
    }

    #[test]
    fn the_cache_is_bounded_per_user_and_in_all() {
        let s = Snapshots::default();
        let first = s.keep("ana", &Scope::All, snap());
        for _ in 0..MAX_PER_USER {
            s.keep("ana", &Scope::All, snap());
        }
        assert!(s.get("ana", &Scope::All, &first).is_err(), "oldest gone");
        for i in 0..MAX_ENTRIES * 2 {
            s.keep(&format!("u{i}"), &Scope::All, snap());
        }
        assert!(s.usage().0 <= MAX_ENTRIES);
    }

    #[test]
    fn a_user_has_at_most_a_few_requests_in_flight() {
        let s = Snapshots::default();
        let a = s.begin("ana");
        let b = s.begin("ana");
        assert!(a.is_ok() && b.is_ok());
        assert_eq!(s.begin("ana").err().map(|e| e.code.as_str()), Some("busy"));
        assert!(s.begin("bob").is_ok());
        drop(a);
        assert!(s.begin("ana").is_ok());
    }
}
