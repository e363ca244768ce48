//! RFC 3339 timestamps (`2026-11-24T21:00:00Z`) to and from [`SystemTime`].
//!
//! Hand-written rather than taken from a crate in the tree: it also reads what old AWS CLI
//! versions wrote in their caches (`UTC` for `Z`, a space for `T`), which the crates refuse,
//! and it is smaller than the glue around one.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Parses an RFC 3339 date-time into a [`SystemTime`].
///
/// Accepts `T`, `t` or a space between date and time, fractional seconds of any length,
/// and `Z`, `z`, `UTC` (written by old AWS CLI versions) or a `+HH:MM` / `-HH:MM` offset.
/// Returns `None` for anything else, and for times before 1970.
pub(crate) fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let s = text.trim().as_bytes();
    if s.len() < 19 {
        return None;
    }
    let year = digits(s, 0, 4)?;
    let month = digits(s, 5, 2)?;
    let day = digits(s, 8, 2)?;
    let hour = digits(s, 11, 2)?;
    let minute = digits(s, 14, 2)?;
    let second = digits(s, 17, 2)?;
    if s[4] != b'-' || s[7] != b'-' || !matches!(s[10], b'T' | b't' | b' ') {
        return None;
    }
    if s[13] != b':' || s[16] != b':' {
        return None;
    }
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    // A leap second (:60) is read as the last second of the minute.
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &s[19..];
    let mut nanos: u64 = 0;
    if let Some(fraction) = rest.strip_prefix(b".") {
        let len = fraction.iter().take_while(|b| b.is_ascii_digit()).count();
        if len == 0 {
            return None;
        }
        for (i, b) in fraction[..len].iter().enumerate() {
            if i < 9 {
                nanos = nanos * 10 + u64::from(b - b'0');
            }
        }
        for _ in len..9 {
            nanos *= 10;
        }
        rest = &fraction[len..];
    }
    let offset_seconds: i64 = match rest {
        b"Z" | b"z" | b"UTC" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let hours = digits(&[*h1, *h2], 0, 2)?;
            let minutes = digits(&[*m1, *m2], 0, 2)?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let magnitude = hours * 3600 + minutes * 60;
            if *sign == b'+' { magnitude } else { -magnitude }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second.min(59) - offset_seconds;
    let seconds = u64::try_from(seconds).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(seconds) + Duration::from_nanos(nanos))
}

/// Formats a [`SystemTime`] as RFC 3339 in UTC with whole seconds (`2026-11-24T21:00:00Z`).
pub(crate) fn format_rfc3339(time: SystemTime) -> String {
    let seconds = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = i64::try_from(seconds / 86_400).unwrap_or(i64::MAX / 86_400 - 1);
    let rem = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Formats a [`SystemTime`] as RFC 3339 in the local time zone with its offset at that
/// moment and whole seconds (`2026-11-24T22:00:00+01:00`, `--local-time`). The zone is the
/// C library's: `TZ`, else `/etc/localtime`. Where no offset can be read (not Unix, a time
/// the C library cannot convert) the time is shown in UTC (`Z`).
pub(crate) fn format_local(time: SystemTime) -> String {
    let seconds = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let seconds = i64::try_from(seconds).unwrap_or(i64::MAX / 2);
    match local_offset(seconds) {
        Some(offset) => format_with_offset(seconds, offset),
        None => format_rfc3339(time),
    }
}

/// `seconds` after the epoch as RFC 3339 at `offset` seconds east of UTC (`+HH:MM`).
fn format_with_offset(seconds: i64, offset: i32) -> String {
    let local = seconds.saturating_add(i64::from(offset));
    let (year, month, day) = civil_from_days(local.div_euclid(86_400));
    let rem = local.rem_euclid(86_400);
    let sign = if offset < 0 { '-' } else { '+' };
    let minutes = offset.unsigned_abs() / 60;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60,
        minutes / 60,
        minutes % 60
    )
}

/// The local time zone's offset from UTC, in seconds east, at `seconds` after the epoch.
#[cfg(unix)]
fn local_offset(seconds: i64) -> Option<i32> {
    // The type is inferred from localtime_r (musl deprecates naming `time_t`); it is 32 bits
    // on some platforms, so the conversion is not useless everywhere.
    #[allow(clippy::useless_conversion)]
    let t = seconds.try_into().ok()?;
    // SAFETY: an all-zero `tm` is a valid value of this plain C struct.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: localtime_r writes only into `tm`, which outlives the call, and reads `t`.
    // It reads TZ from the environment, which awsideman never changes while running.
    let converted = unsafe { libc::localtime_r(&t, &mut tm) };
    if converted.is_null() {
        return None;
    }
    i32::try_from(tm.tm_gmtoff).ok()
}

/// Not Unix: no local zone is read; times stay in UTC.
#[cfg(not(unix))]
fn local_offset(_seconds: i64) -> Option<i32> {
    None
}

/// The time `millis` milliseconds after the Unix epoch (SSO portal `expiration`).
pub(crate) fn from_epoch_millis(millis: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(millis)
}

fn digits(s: &[u8], start: usize, len: usize) -> Option<i64> {
    let slice = s.get(start..start + len)?;
    slice.iter().try_fold(0i64, |acc, b| {
        b.is_ascii_digit().then(|| acc * 10 + i64::from(b - b'0'))
    })
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01 (inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(t: SystemTime) -> u64 {
        t.duration_since(UNIX_EPOCH).unwrap().as_secs()
    }

    #[test]
    fn offsets_east_and_west_and_round_trips() {
        let t = 1_795_554_000; // 2026-11-24T21:00:00Z
        assert_eq!(format_with_offset(t, 3600), "2026-11-24T22:00:00+01:00");
        assert_eq!(
            format_with_offset(t, -5 * 3600 - 1800),
            "2026-11-24T15:30:00-05:30"
        );
        assert_eq!(format_with_offset(t, 0), "2026-11-24T21:00:00+00:00");
        assert_eq!(format_with_offset(0, -3600), "1969-12-31T23:00:00-01:00");
        for offset in [3600, -5 * 3600 - 1800, 0, 14 * 3600] {
            let text = format_with_offset(t, offset);
            assert_eq!(parse_rfc3339(&text).map(secs), Some(t as u64), "{text}");
        }
    }

    #[test]
    fn parses_utc_forms() {
        // date -u -d 2026-11-24T21:00:00Z +%s
        let t = parse_rfc3339("2026-11-24T21:00:00Z").unwrap();
        assert_eq!(secs(t), 1_795_554_000);
        assert_eq!(parse_rfc3339("2026-11-24t21:00:00z"), Some(t));
        assert_eq!(parse_rfc3339("2026-11-24 21:00:00Z"), Some(t));
        assert_eq!(parse_rfc3339("2026-11-24T21:00:00UTC"), Some(t));
        assert_eq!(parse_rfc3339("2026-11-24T21:00:00+00:00"), Some(t));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(UNIX_EPOCH));
        assert_eq!(
            secs(parse_rfc3339("2000-02-29T12:34:56Z").unwrap()),
            951_827_696
        );
    }

    #[test]
    fn fractions_and_offsets() {
        let t = parse_rfc3339("2026-11-24T21:37:20.508885Z").unwrap();
        let d = t.duration_since(UNIX_EPOCH).unwrap();
        assert_eq!(d.as_secs(), 1_795_556_240);
        assert_eq!(d.subsec_nanos(), 508_885_000);
        let long = parse_rfc3339("2026-11-24T21:00:00.1234567891234Z").unwrap();
        assert_eq!(
            long.duration_since(UNIX_EPOCH).unwrap().subsec_nanos(),
            123_456_789
        );
        let plus = parse_rfc3339("2026-11-24T23:30:00+02:30").unwrap();
        assert_eq!(secs(plus), 1_795_554_000);
        let minus = parse_rfc3339("2026-11-24T16:00:00-05:00").unwrap();
        assert_eq!(secs(minus), 1_795_554_000);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "2026-11-24",
            "2026-11-24T21:00:00",
            "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2026-11-24T24:00:00Z",
            "2026-11-24T21:00:00.Z",
            "2026-11-24T21:00:00+0000",
            "2026-11-24T21:00:00 Z",
            "1969-12-31T23:59:59Z",
            "2O26-11-24T21:00:00Z",
            "2026-11-24T21:00:00Zjunk",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats_and_round_trips() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_554_000);
        assert_eq!(format_rfc3339(t), "2026-11-24T21:00:00Z");
        assert_eq!(format_rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        for s in [0u64, 951_827_696, 4_102_444_800, 1_709_164_800] {
            let t = UNIX_EPOCH + Duration::from_secs(s);
            assert_eq!(parse_rfc3339(&format_rfc3339(t)), Some(t));
        }
        assert_eq!(
            from_epoch_millis(1_795_554_000_500),
            UNIX_EPOCH + Duration::from_millis(1_795_554_000_500)
        );
    }
}
