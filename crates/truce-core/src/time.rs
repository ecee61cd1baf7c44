//! Times as a mission records them: an instant plus how precisely it is
//! known, never implausibly in the future.

use jiff::{SignedDuration, Timestamp};

use crate::error::ValidationErrors;

/// How far ahead of the server's clock a reported time may be: observers'
/// devices drift and time zones get confused, but not by more than this.
pub const MAX_CLOCK_SKEW: SignedDuration = SignedDuration::from_hours(24);

/// Earliest time a mission record may carry; older dates are typing errors.
pub const EARLIEST: Timestamp = Timestamp::constant(631_152_000, 0); // 1990-01-01T00:00:00Z

/// Checks that `t` is neither implausibly old nor in the future relative to `now`.
pub fn check_plausible(t: Timestamp, now: Timestamp, field: &str, errs: &mut ValidationErrors) {
    if t > now + MAX_CLOCK_SKEW {
        errs.push(field, format!("{t} is in the future"));
    } else if t < EARLIEST {
        errs.push(field, format!("{t} is before {EARLIEST}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn year_3000_rejected() {
        let now: Timestamp = "2026-11-21T00:00:00Z".parse().unwrap();
        let mut e = ValidationErrors::default();
        check_plausible(
            "3000-01-01T00:00:00Z".parse().unwrap(),
            now,
            "occurred_at",
            &mut e,
        );
        assert_eq!(e.0[0].field, "occurred_at");
        let mut ok = ValidationErrors::default();
        check_plausible("2026-11-21T12:00:00Z".parse().unwrap(), now, "t", &mut ok);
        assert!(ok.0.is_empty());
    }
}
