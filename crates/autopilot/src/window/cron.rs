//! The `cron` strategy (deprecated in k0s, still accepted): updates are checked at the times of a
//! cron expression, `@hourly` when none is given. Five fields (minute, hour, day of month, month,
//! day of week) or six with leading seconds (robfig/cron's form, which k0s uses; the seconds are
//! ignored: the granularity is a minute), `*`, `?`, lists, ranges, steps, month and day names,
//! and the `@yearly` … `@hourly` shorthands.

use chrono::{DateTime, Datelike as _, Duration, TimeZone, Timelike as _};

use super::WindowError;

const DEFAULT: &str = "@hourly";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: u64,
    hours: u64,
    days_of_month: u64,
    months: u64,
    days_of_week: u64,
    /// Whether day of month and day of week were both restricted: then either may match, as in
    /// every cron.
    either_day: bool,
}

struct Field {
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const MINUTE: Field = Field {
    min: 0,
    max: 59,
    names: &[],
};
const HOUR: Field = Field {
    min: 0,
    max: 23,
    names: &[],
};
const DAY_OF_MONTH: Field = Field {
    min: 1,
    max: 31,
    names: &[],
};
const MONTH: Field = Field {
    min: 1,
    max: 12,
    names: &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ],
};
const DAY_OF_WEEK: Field = Field {
    min: 0,
    max: 7,
    names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
};

impl Cron {
    pub fn parse(expression: &str) -> Result<Self, WindowError> {
        let expression = expression.trim();
        let expanded = match if expression.is_empty() {
            DEFAULT
        } else {
            expression
        } {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            other => other,
        };
        let bad = |reason: String| WindowError::Cron {
            expression: expression.to_owned(),
            reason,
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        let fields = match fields.len() {
            5 => &fields[..],
            6 => &fields[1..],
            n => return Err(bad(format!("{n} fields, expected 5 (or 6 with seconds)"))),
        };
        let parse = |text: &str, field: &Field| parse_field(text, field).map_err(&bad);
        let mut days_of_week = parse(fields[4], &DAY_OF_WEEK)?;
        // 7 is Sunday too.
        if days_of_week & (1 << 7) != 0 {
            days_of_week |= 1;
        }
        let restricted = |text: &str| !matches!(text, "*" | "?");
        Ok(Self {
            minutes: parse(fields[0], &MINUTE)?,
            hours: parse(fields[1], &HOUR)?,
            days_of_month: parse(fields[2], &DAY_OF_MONTH)?,
            months: parse(fields[3], &MONTH)?,
            days_of_week,
            either_day: restricted(fields[2]) && restricted(fields[4]),
        })
    }

    /// Whether the minute of `at` is one the expression names.
    pub fn matches<Tz: TimeZone>(&self, at: &DateTime<Tz>) -> bool {
        let bit = |set: u64, value: u32| set & (1 << value) != 0;
        let day_of_month = bit(self.days_of_month, at.day());
        let day_of_week = bit(self.days_of_week, at.weekday().num_days_from_sunday());
        let day = if self.either_day {
            day_of_month || day_of_week
        } else {
            day_of_month && day_of_week
        };
        day && bit(self.minutes, at.minute())
            && bit(self.hours, at.hour())
            && bit(self.months, at.month())
    }

    /// `at` when its minute matches, else the next matching minute, within a year.
    pub fn next<Tz: TimeZone>(&self, at: &DateTime<Tz>) -> Option<DateTime<Tz>> {
        if self.matches(at) {
            return Some(at.clone());
        }
        let start = at.clone()
            - Duration::seconds(i64::from(at.second()))
            - Duration::nanoseconds(i64::from(at.nanosecond()));
        (1..=366 * 24 * 60)
            .map(|minutes| start.clone() + Duration::minutes(minutes))
            .find(|candidate| self.matches(candidate))
    }
}

/// One field as a bit set of the values it names.
fn parse_field(text: &str, field: &Field) -> Result<u64, String> {
    let mut set = 0u64;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => {
                let step: u32 = step
                    .parse()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| format!("{part:?}: the step must be a positive number"))?;
                (range, step)
            }
            None => (part, 1),
        };
        let (low, high) = match range {
            "*" | "?" => (field.min, field.max),
            _ => match range.split_once('-') {
                Some((low, high)) => (value(low, field)?, value(high, field)?),
                // `a/n` runs from a to the end of the field, as in robfig/cron.
                None if part.contains('/') => (value(range, field)?, field.max),
                None => {
                    let v = value(range, field)?;
                    (v, v)
                }
            },
        };
        if low > high {
            return Err(format!("{part:?}: the range is backwards"));
        }
        for v in (low..=high).step_by(step as usize) {
            set |= 1 << v;
        }
    }
    Ok(set)
}

fn value(text: &str, field: &Field) -> Result<u32, String> {
    let v = match field
        .names
        .iter()
        .position(|name| name.eq_ignore_ascii_case(text))
    {
        Some(index) => u32::try_from(index).expect("few names") + field.min,
        None => text
            .parse()
            .map_err(|_| format!("{text:?} is not a number or a name"))?,
    };
    if !(field.min..=field.max).contains(&v) {
        return Err(format!("{v} is outside {}-{}", field.min, field.max));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    /// 2026-12-01 is a Tuesday.
    fn utc(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, day, hour, minute, 0)
            .unwrap()
    }

    #[test]
    fn the_docs_expression_fires_at_noon_on_tuesday_and_wednesday() {
        let cron = Cron::parse("0 12 * * TUE,WED").unwrap();
        assert!(cron.matches(&utc(1, 12, 0)));
        assert!(cron.matches(&(utc(1, 12, 0) + Duration::seconds(59))));
        assert!(!cron.matches(&utc(1, 12, 1)));
        assert!(cron.matches(&utc(2, 12, 0)));
        assert!(!cron.matches(&utc(3, 12, 0)));
        assert_eq!(cron.next(&utc(2, 12, 1)), Some(utc(8, 12, 0)));
    }

    #[test]
    fn the_default_is_hourly() {
        let cron = Cron::parse("").unwrap();
        assert_eq!(cron, Cron::parse("@hourly").unwrap());
        assert_eq!(cron.next(&utc(1, 9, 30)), Some(utc(1, 10, 0)));
    }

    #[test]
    fn six_fields_have_leading_seconds() {
        assert_eq!(
            Cron::parse("0 30 2 * * *").unwrap(),
            Cron::parse("30 2 * * *").unwrap()
        );
    }

    #[test]
    fn steps_ranges_and_lists() {
        let cron = Cron::parse("*/15 9-17 * * 1-5").unwrap();
        assert!(cron.matches(&utc(1, 9, 45)));
        assert!(!cron.matches(&utc(1, 9, 50)));
        assert!(!cron.matches(&utc(5, 10, 0)), "Saturday");
        let cron = Cron::parse("5/20 0 * * *").unwrap();
        assert!(cron.matches(&utc(1, 0, 45)));
        assert!(!cron.matches(&utc(1, 0, 0)));
    }

    #[test]
    fn day_of_month_or_day_of_week_when_both_are_given() {
        let cron = Cron::parse("0 0 1 * SUN").unwrap();
        assert!(cron.matches(&utc(1, 0, 0)), "the 1st, a Tuesday");
        assert!(cron.matches(&utc(6, 0, 0)), "a Sunday");
        assert!(!cron.matches(&utc(2, 0, 0)));
        assert!(
            Cron::parse("0 0 * * 7").unwrap().matches(&utc(6, 0, 0)),
            "7 is Sunday"
        );
    }

    #[test]
    fn bad_expressions_are_errors() {
        for bad in [
            "* * * *",
            "60 * * * *",
            "* * * * MON-FOO",
            "*/0 * * * *",
            "5-1 * * * *",
        ] {
            assert!(Cron::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn an_impossible_date_never_fires() {
        assert_eq!(Cron::parse("0 0 30 2 *").unwrap().next(&utc(1, 0, 0)), None);
    }
}
