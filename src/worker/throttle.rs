//! Failed logins slow down: after `FREE` failures in a row for one user
//! name, each further attempt waits twice as long as the one before (from
//! 2 s, at most 15 min), whether the name exists or not. Pure: the clock
//! is passed in. Kept per worker process.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

/// Failures allowed before attempts are held back.
pub const FREE: u32 = 5;
const FIRST: i64 = 2;
const LONGEST: i64 = 15 * 60;
/// Names remembered at most (the oldest lockouts go first).
const KEEP: usize = 10_000;

#[derive(Debug, Default)]
pub struct Throttle {
    by_name: HashMap<String, (u32, DateTime<Utc>)>,
}

impl Throttle {
    /// `Err(seconds)` while `name` must wait.
    pub fn check(&self, name: &str, now: DateTime<Utc>) -> Result<(), i64> {
        match self.by_name.get(name) {
            Some((_, until)) if *until > now => Err((*until - now).num_seconds().max(1)),
            _ => Ok(()),
        }
    }

    pub fn failed(&mut self, name: &str, now: DateTime<Utc>) {
        if self.by_name.len() >= KEEP
            && !self.by_name.contains_key(name)
            && let Some(oldest) = self
                .by_name
                .iter()
                .min_by_key(|(_, (_, until))| *until)
                .map(|(k, _)| k.clone())
        {
            self.by_name.remove(&oldest);
        }
        let entry = self.by_name.entry(name.to_string()).or_insert((0, now));
        entry.0 += 1;
        if entry.0 >= FREE {
            let wait = (FIRST << (entry.0 - FREE).min(20)).min(LONGEST);
            entry.1 = now + Duration::seconds(wait);
        }
    }

    pub fn succeeded(&mut self, name: &str) {
        self.by_name.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_past_the_free_ones_wait_longer_and_longer() {
        let mut t = Throttle::default();
        let now = DateTime::UNIX_EPOCH;
        for _ in 0..FREE {
            assert_eq!(t.check("ana", now), Ok(()));
            t.failed("ana", now);
        }
        assert_eq!(t.check("ana", now), Err(2));
        t.failed("ana", now + Duration::seconds(2));
        assert_eq!(t.check("ana", now + Duration::seconds(2)), Err(4));
        assert_eq!(t.check("bob", now), Ok(()), "per name");
        t.succeeded("ana");
        assert_eq!(t.check("ana", now), Ok(()));
    }
}
