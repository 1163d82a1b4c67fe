//! Cron schedules as CronJobs take them (the standard five fields of Kubernetes' cron library):
//! minute, hour, day of month, month, day of week; `*`, `?`, lists, ranges, steps, month and
//! day names, and the `@yearly`/`@monthly`/`@weekly`/`@daily`/`@hourly` shorthands. As in Vixie
//! cron, when both day fields are restricted a day matching either one is run.

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan as _};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    /// Whether a day field was `*` or `?`: then only the other one restricts days.
    any_day: bool,
    any_weekday: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unparseable schedule {schedule:?}: {reason}")]
pub struct Error {
    schedule: String,
    reason: String,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// How far a search for the next or previous run goes (a 29 February falls within 8 years).
const SEARCH_YEARS: i16 = 9;

impl Schedule {
    pub fn parse(schedule: &str) -> Result<Self, Error> {
        let fail = |reason: String| Error {
            schedule: schedule.to_owned(),
            reason,
        };
        let expanded = match schedule.trim() {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            other => other,
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(fail(format!(
                "expected exactly 5 fields, found {}",
                fields.len()
            )));
        }
        let field = |text: &str, min: u32, max: u32, names: &[&str]| {
            parse_field(text, min, max, names).map_err(&fail)
        };
        let mut weekdays = field(fields[4], 0, 7, &WEEKDAYS)?;
        // 7 is Sunday too.
        if weekdays & (1 << 7) != 0 {
            weekdays |= 1;
        }
        // Only an unrestricted field is "any" (as robfig/cron: `*/2` restricts, `*/1` does not).
        let starred = |text: &str| matches!(text, "*" | "?" | "*/1" | "?/1");
        Ok(Self {
            minutes: field(fields[0], 0, 59, &[])?,
            hours: field(fields[1], 0, 23, &[])?,
            days: field(fields[2], 1, 31, &[])?,
            months: field(fields[3], 1, 12, &MONTHS)?,
            weekdays,
            any_day: starred(fields[2]),
            any_weekday: starred(fields[4]),
        })
    }

    fn day_matches(&self, date: Date) -> bool {
        let day = self.days & (1 << date.day()) != 0;
        let weekday = self.weekdays & (1 << date.weekday().to_sunday_zero_offset()) != 0;
        if self.any_day || self.any_weekday {
            day && weekday
        } else {
            day || weekday
        }
    }

    fn month_matches(&self, date: Date) -> bool {
        self.months & (1 << date.month()) != 0
    }

    /// The first run strictly after `after`, in time zone `zone`.
    pub fn next_after(&self, after: Timestamp, zone: &TimeZone) -> Option<Timestamp> {
        let start = zone.to_datetime(after);
        let mut at = minute_of(start).checked_add(1.minute()).ok()?;
        let limit = start.year().checked_add(SEARCH_YEARS)?;
        while at.year() < limit {
            let date = at.date();
            if !self.month_matches(date) {
                at = date
                    .first_of_month()
                    .checked_add(1.month())
                    .ok()?
                    .to_datetime(Time::midnight());
            } else if !self.day_matches(date) {
                at = date.tomorrow().ok()?.to_datetime(Time::midnight());
            } else if self.hours & (1 << at.hour()) == 0 {
                at = minute_of(at)
                    .with()
                    .minute(0)
                    .build()
                    .ok()?
                    .checked_add(1.hour())
                    .ok()?;
            } else if self.minutes & (1 << at.minute()) == 0 {
                at = at.checked_add(1.minute()).ok()?;
            } else {
                let run = zone.to_ambiguous_timestamp(at).compatible().ok()?;
                // A local time skipped or repeated by a clock change may map back in time.
                if run > after {
                    return Some(run);
                }
                at = at.checked_add(1.minute()).ok()?;
            }
        }
        None
    }

    /// The last run at or before `at`, in time zone `zone`.
    pub fn last_until(&self, until: Timestamp, zone: &TimeZone) -> Option<Timestamp> {
        let end = zone.to_datetime(until);
        let mut at = minute_of(end);
        let limit = end.year().checked_sub(SEARCH_YEARS)?;
        while at.year() > limit {
            let date = at.date();
            let last_minute = Time::new(23, 59, 0, 0).ok()?;
            if !self.month_matches(date) {
                at = date
                    .first_of_month()
                    .yesterday()
                    .ok()?
                    .to_datetime(last_minute);
            } else if !self.day_matches(date) {
                at = date.yesterday().ok()?.to_datetime(last_minute);
            } else if self.hours & (1 << at.hour()) == 0 {
                at = at
                    .with()
                    .minute(0)
                    .build()
                    .ok()?
                    .checked_sub(1.minute())
                    .ok()?;
            } else if self.minutes & (1 << at.minute()) == 0 {
                at = at.checked_sub(1.minute()).ok()?;
            } else {
                let run = zone.to_ambiguous_timestamp(at).compatible().ok()?;
                if run <= until {
                    return Some(run);
                }
                at = at.checked_sub(1.minute()).ok()?;
            }
        }
        None
    }
}

fn minute_of(at: DateTime) -> DateTime {
    at.with()
        .second(0)
        .subsec_nanosecond(0)
        .build()
        .unwrap_or(at)
}

/// One field as a bit set of the values it matches.
fn parse_field(text: &str, min: u32, max: u32, names: &[&str]) -> Result<u64, String> {
    let mut bits = 0u64;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => {
                let step: u32 = step
                    .parse()
                    .map_err(|_| format!("invalid step {step:?} in {text:?}"))?;
                if step == 0 {
                    return Err(format!("step of zero in {text:?}"));
                }
                (range, Some(step))
            }
            None => (part, None),
        };
        let (first, last) = if range == "*" || range == "?" {
            (min, max)
        } else if let Some((first, last)) = range.split_once('-') {
            (value(first, min, names)?, value(last, min, names)?)
        } else {
            let first = value(range, min, names)?;
            // `5/10` runs from 5 to the end of the range.
            (first, if step.is_some() { max } else { first })
        };
        if first < min || last > max || first > last {
            return Err(format!("{range:?} is beyond {min}-{max}"));
        }
        for v in (first..=last).step_by(step.unwrap_or(1) as usize) {
            bits |= 1 << v;
        }
    }
    Ok(bits)
}

fn value(text: &str, min: u32, names: &[&str]) -> Result<u32, String> {
    if let Some(position) = names.iter().position(|n| n.eq_ignore_ascii_case(text)) {
        let offset = u32::try_from(position).map_err(|e| e.to_string())?;
        return Ok(min + offset);
    }
    text.parse()
        .map_err(|_| format!("{text:?} is not a number or a name"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn next(schedule: &str, after: &str) -> String {
        Schedule::parse(schedule)
            .unwrap()
            .next_after(at(after), &TimeZone::UTC)
            .unwrap()
            .to_string()
    }

    #[test]
    fn every_minute_and_steps() {
        assert_eq!(
            next("* * * * *", "2026-01-01T10:00:30Z"),
            "2026-01-01T10:01:00Z"
        );
        assert_eq!(
            next("*/15 * * * *", "2026-01-01T10:01:00Z"),
            "2026-01-01T10:15:00Z"
        );
        assert_eq!(
            next("5/20 9-10 * * *", "2026-01-01T10:45:00Z"),
            "2026-01-02T09:05:00Z"
        );
        assert_eq!(
            next("@hourly", "2026-01-01T23:00:00Z"),
            "2026-01-02T00:00:00Z"
        );
    }

    #[test]
    fn names_and_the_two_day_fields() {
        // 2026-01-01 is a Thursday; Monday the 5th comes before the 15th.
        assert_eq!(
            next("0 9 15 * MON", "2026-01-01T00:00:00Z"),
            "2026-01-05T09:00:00Z"
        );
        // With the day of week starred, only the day of month counts.
        assert_eq!(
            next("0 9 15 * *", "2026-01-01T00:00:00Z"),
            "2026-01-15T09:00:00Z"
        );
        assert_eq!(
            next("0 0 29 feb *", "2026-03-01T00:00:00Z"),
            "2028-02-29T00:00:00Z"
        );
        assert_eq!(
            next("0 0 * * 7", "2026-01-01T00:00:00Z"),
            "2026-01-04T00:00:00Z"
        );
        // A stepped day of month restricts: odd days or Mondays (the 3rd comes first).
        assert_eq!(
            next("0 9 */2 * 1", "2026-01-02T00:00:00Z"),
            "2026-01-03T09:00:00Z"
        );
    }

    #[test]
    fn time_zones() {
        let zone = TimeZone::get("Europe/Berlin").unwrap();
        let schedule = Schedule::parse("30 2 * * *").unwrap();
        // 02:30 Berlin is 01:30 UTC in winter.
        let run = schedule
            .next_after(at("2026-01-10T00:00:00Z"), &zone)
            .unwrap();
        assert_eq!(run.to_string(), "2026-01-10T01:30:00Z");
        // On 29 March 2026 02:30 does not exist in Berlin: the run is at 03:30 local.
        let run = schedule
            .next_after(at("2026-03-29T00:00:00Z"), &zone)
            .unwrap();
        assert_eq!(run.to_string(), "2026-03-29T01:30:00Z");
    }

    #[test]
    fn the_last_run_until_a_time() {
        let schedule = Schedule::parse("0 */6 * * *").unwrap();
        let last = schedule
            .last_until(at("2026-01-01T13:59:59Z"), &TimeZone::UTC)
            .unwrap();
        assert_eq!(last.to_string(), "2026-01-01T12:00:00Z");
        let exact = schedule
            .last_until(at("2026-01-01T12:00:00Z"), &TimeZone::UTC)
            .unwrap();
        assert_eq!(exact.to_string(), "2026-01-01T12:00:00Z");
    }

    #[test]
    fn bad_schedules_are_refused() {
        for bad in [
            "* * * *",
            "60 * * * *",
            "* * 0 * *",
            "*/0 * * * *",
            "* * * foo *",
            "5-1 * * * *",
        ] {
            assert!(Schedule::parse(bad).is_err(), "{bad}");
        }
    }
}
