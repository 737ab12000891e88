//! Time: the injected clock, and the date-time formats notifications carry.
//!
//! "Now" is never read behind the caller's back: the verifier asks its [`Clock`], so tests and
//! replays pin it with [`FixedClock`].

use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current Unix time in seconds.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Seconds since the Unix epoch.
    fn now_unix(&self) -> i64;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
        }
    }
}

/// A clock stopped at one instant, for tests and replays.
///
/// ```
/// use wechatpay_notify::time::{Clock, FixedClock};
/// assert_eq!(FixedClock(1_710_048_759).now_unix(), 1_710_048_759);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct FixedClock(pub i64);

impl Clock for FixedClock {
    fn now_unix(&self) -> i64 {
        self.0
    }
}

/// `true` when the 14 ASCII digits `yyyyMMddHHmmss` name a real civil date and time.
pub(crate) fn valid_civil(d: &[u8]) -> bool {
    if d.len() != 14 || !d.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let n = |r: std::ops::Range<usize>| {
        d[r].iter()
            .fold(0u32, |acc, c| acc * 10 + u32::from(c - b'0'))
    };
    let (y, mo, da, h, mi, s) = (n(0..4), n(4..6), n(6..8), n(8..10), n(10..12), n(12..14));
    (1..=12).contains(&mo) && da >= 1 && da <= days_in_month(y, mo) && h < 24 && mi < 60 && s < 61
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400) => 29,
        _ => 28,
    }
}

/// Parses an RFC 3339 date-time (`2015-05-20T13:29:35+08:00`, `…35.120+08:00`, `…Z`) into
/// Unix seconds.
pub(crate) fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let layout = b"dddd-dd-ddTdd:dd:dd";
    let mut compact = [0u8; 14];
    let mut j = 0;
    for (c, l) in b[..19].iter().zip(layout) {
        match l {
            b'd' if c.is_ascii_digit() => {
                compact[j] = *c;
                j += 1;
            }
            b'T' if *c == b'T' || *c == b't' => {}
            b'-' | b':' if c == l => {}
            _ => return None,
        }
    }
    if !valid_civil(&compact) {
        return None;
    }
    let mut rest = &b[19..];
    if rest.first() == Some(&b'.') {
        let digits = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        rest = &rest[1 + digits..];
    }
    let offset = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2]
            if [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()) =>
        {
            let h = i64::from((h1 - b'0') * 10 + (h2 - b'0'));
            let m = i64::from((m1 - b'0') * 10 + (m2 - b'0'));
            if h > 23 || m > 59 {
                return None;
            }
            let o = h * 3600 + m * 60;
            if *sign == b'-' { -o } else { o }
        }
        _ => return None,
    };
    let n = |r: std::ops::Range<usize>| {
        compact[r]
            .iter()
            .fold(0i64, |acc, c| acc * 10 + i64::from(c - b'0'))
    };
    let minute_of_day = n(8..10) * 60 + n(10..12);
    // A leap second (:60) exists only in the last minute of a UTC day.
    if n(12..14) == 60 && (minute_of_day * 60 - offset).rem_euclid(86_400) != 86_340 {
        return None;
    }
    let days = days_from_civil(n(0..4), n(4..6), n(6..8));
    Some(days * 86_400 + minute_of_day * 60 + n(12..14) - offset)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_to_unix() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2015-05-20T13:29:35+08:00"),
            Some(1_432_099_775)
        );
        assert_eq!(
            parse_rfc3339("2015-05-20T13:29:35.120+08:00"),
            Some(1_432_099_775)
        );
        assert_eq!(parse_rfc3339("2024-02-29T00:00:00Z"), Some(1_709_164_800));
        assert_eq!(parse_rfc3339("2023-02-29T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("2015-05-20T13:29:35+0800"), None);
        assert_eq!(parse_rfc3339("2015-05-20T13:29:35."), None);
        // Leap seconds only at 23:59:60 UTC.
        assert!(parse_rfc3339("2016-12-31T23:59:60Z").is_some());
        assert!(parse_rfc3339("2017-01-01T07:59:60+08:00").is_some());
        assert_eq!(parse_rfc3339("2015-05-20T13:29:60+08:00"), None);
        assert_eq!(parse_rfc3339("2015-05-20T23:59:60+08:00"), None);
    }
}
