//! Failed logins slow down: after `FREE` failures in a row for one user
//! name, each further attempt waits twice as long as the one before (from
//! 2 s, at most [`LONGEST`] s), whether the name exists or not. Pure: the
//! clock is passed in. Kept per worker process.
//!
//! **Growing delays, not a lock-out.** A request on the bus carries no
//! trustworthy source address, so the throttle can only key on the user
//! name, and anyone can type any name. A hard lock (say 15 minutes after
//! five failures) would let an anonymous party keep a real user out for
//! as long as it cares to send one wrong password per lock. With delays
//! capped at one minute, a real user waits at most a minute for a try,
//! while a guesser gets at most one guess a minute per name: Argon2 and a
//! decent password make that worthless.
//!
//! **Counted before checked.** [`Throttle::reserve`] counts an attempt as
//! failed before its password is checked (a success forgives it), so a
//! burst of concurrent attempts cannot all pass the check before any of
//! them is counted.
//!
//! **Bounded.** At most [`KEEP`] names are remembered (names are capped at
//! 64 bytes by the login); a full table first forgets names whose delay
//! has run out, then the one whose delay ends first.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

/// Failures allowed before attempts are held back.
pub const FREE: u32 = 5;
const FIRST: i64 = 2;
/// The longest delay, in seconds.
pub const LONGEST: i64 = 60;
/// A name whose last failure is this old starts again from nothing.
const FORGET_AFTER: i64 = 15 * 60;
/// Names remembered at most.
pub const KEEP: usize = 10_000;

#[derive(Debug, Default)]
pub struct Throttle {
    /// Failures in a row, until when the name waits, and the last failure.
    by_name: HashMap<String, Entry>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    until: DateTime<Utc>,
    last: DateTime<Utc>,
}

impl Throttle {
    /// `Err(seconds)` while `name` must wait.
    pub fn check(&self, name: &str, now: DateTime<Utc>) -> Result<(), i64> {
        match self.by_name.get(name) {
            Some(e) if e.until > now => Err((e.until - now).num_seconds().max(1)),
            _ => Ok(()),
        }
    }

    /// Checks `name` and, when it may try, counts the attempt as failed
    /// in advance: call [`Throttle::succeeded`] if the password was right.
    pub fn reserve(&mut self, name: &str, now: DateTime<Utc>) -> Result<(), i64> {
        self.check(name, now)?;
        self.failed(name, now);
        Ok(())
    }

    pub fn failed(&mut self, name: &str, now: DateTime<Utc>) {
        if self.by_name.len() >= KEEP && !self.by_name.contains_key(name) {
            self.by_name
                .retain(|_, e| e.until > now && (now - e.last).num_seconds() < FORGET_AFTER);
            if self.by_name.len() >= KEEP
                && let Some(first) = self
                    .by_name
                    .iter()
                    .min_by_key(|(_, e)| e.until)
                    .map(|(k, _)| k.clone())
            {
                self.by_name.remove(&first);
            }
        }
        let entry = self.by_name.entry(name.to_string()).or_insert(Entry {
            failures: 0,
            until: now,
            last: now,
        });
        if (now - entry.last).num_seconds() >= FORGET_AFTER {
            entry.failures = 0;
        }
        entry.failures = entry.failures.saturating_add(1);
        entry.last = now;
        if entry.failures >= FREE {
            let wait = (FIRST << (entry.failures - FREE).min(20)).min(LONGEST);
            entry.until = now + Duration::seconds(wait);
        }
    }

    pub fn succeeded(&mut self, name: &str) {
        self.by_name.remove(name);
    }

    /// Names remembered now.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
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

    #[test]
    fn a_burst_is_counted_before_any_password_is_checked() {
        let mut t = Throttle::default();
        let now = DateTime::UNIX_EPOCH;
        let passed = (0..200).filter(|_| t.reserve("ana", now).is_ok()).count();
        assert_eq!(passed, FREE as usize);
    }

    #[test]
    fn nobody_can_lock_a_user_out_for_more_than_a_minute_a_try() {
        let mut t = Throttle::default();
        let mut now = DateTime::UNIX_EPOCH;
        // An attacker fails as often as it is let, for a day.
        for _ in 0..2_000 {
            if t.reserve("ana", now).is_ok() {
                continue;
            }
            now += Duration::seconds(1);
        }
        match t.check("ana", now) {
            Ok(()) => {}
            Err(wait) => assert!(wait <= LONGEST, "waited {wait} s"),
        }
    }

    #[test]
    fn a_flood_of_names_is_bounded() {
        let mut t = Throttle::default();
        let now = DateTime::UNIX_EPOCH;
        for i in 0..KEEP + 500 {
            let _ = t.reserve(&format!("name-{i}"), now);
        }
        assert!(t.len() <= KEEP);
    }
}
