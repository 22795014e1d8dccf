//! Where the worker, the console and the simulator read the time. Domain code never reads
//! a clock; the edges do, through this, so that tests can hold time still and
//! the demo can run it faster.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};

#[derive(Clone)]
enum Source {
    System,
    Scaled {
        start: DateTime<Utc>,
        origin: Instant,
        speed: f64,
    },
    Manual(Arc<Mutex<DateTime<Utc>>>),
}

/// A clock. Cloning shares it.
#[derive(Clone)]
pub struct Clock(Source);

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self(Source::System)
    }

    /// A clock that starts at `start` and runs `speed` times faster than
    /// wall time.
    pub fn scaled(start: DateTime<Utc>, speed: f64) -> Self {
        Self(Source::Scaled {
            start,
            origin: Instant::now(),
            speed: if speed.is_finite() && speed > 0.0 {
                speed
            } else {
                1.0
            },
        })
    }

    /// A clock that moves only when told; returns the handle that moves it.
    pub fn manual(start: DateTime<Utc>) -> (Self, ManualClock) {
        let cell = Arc::new(Mutex::new(start));
        (Self(Source::Manual(Arc::clone(&cell))), ManualClock(cell))
    }

    /// The time now.
    pub fn now(&self) -> DateTime<Utc> {
        match &self.0 {
            Source::System => Utc::now(),
            Source::Scaled {
                start,
                origin,
                speed,
            } => {
                let wall = origin.elapsed().as_secs_f64() * speed;
                #[allow(clippy::cast_possible_truncation)]
                let micros = (wall * 1e6) as i64;
                *start + Duration::microseconds(micros)
            }
            Source::Manual(cell) => *cell.lock().unwrap_or_else(|p| p.into_inner()),
        }
    }

    /// How many clock seconds pass per wall second.
    pub fn speed(&self) -> f64 {
        match &self.0 {
            Source::Scaled { speed, .. } => *speed,
            _ => 1.0,
        }
    }
}

/// Moves a manual clock.
#[derive(Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: Duration) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t += d;
    }

    /// Sets the clock.
    pub fn set(&self, to: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = to;
    }
}
