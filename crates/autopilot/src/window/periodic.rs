//! The `periodic` strategy: a window on some days of the week, from a time of day, for a length.
//!
//! As in k0s: day names are English (`Monday` … `Sunday`; every day when none is given), the
//! start is `HH:MM` in the time zone of the time asked about (the controller's local time), the
//! length is a Go duration. Unlike k0s, which compares with today's start only, a window that
//! runs past midnight stays open into the next day, and an unknown day name is an error rather
//! than a day that never comes.

use std::time::Duration;

use chrono::{DateTime, Datelike as _, Days, NaiveDate, NaiveTime, TimeZone};

use super::WindowError;
use crate::api::PeriodicUpgradeStrategy;

const DAY_NAMES: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Indexed from Monday.
    days: [bool; 7],
    start: NaiveTime,
    length: Duration,
}

impl Window {
    pub fn parse(spec: &PeriodicUpgradeStrategy) -> Result<Self, WindowError> {
        let mut days = [spec.days.is_empty(); 7];
        for day in &spec.days {
            let index = DAY_NAMES
                .iter()
                .position(|name| name.eq_ignore_ascii_case(day.trim()))
                .ok_or_else(|| WindowError::Day { day: day.clone() })?;
            days[index] = true;
        }
        Ok(Self {
            days,
            start: parse_start(&spec.start_time)?,
            length: super::duration::parse(&spec.length)?,
        })
    }

    /// Whether `at` is inside a window (start included, end excluded).
    pub fn is_open<Tz: TimeZone>(&self, at: &DateTime<Tz>) -> bool {
        // Windows that began on earlier days may still be open: look back as many days as a
        // window lasts.
        let lookback = self.length.as_secs().div_ceil(86_400);
        (0..=lookback).any(|back| {
            at.date_naive()
                .checked_sub_days(Days::new(back))
                .and_then(|day| self.start_on(day, &at.timezone()))
                .is_some_and(|start| {
                    let end = start.clone() + self.length;
                    start <= *at && *at < end
                })
        })
    }

    /// `at` when the window is open, else the start of the next window (within a week).
    pub fn next_open<Tz: TimeZone>(&self, at: &DateTime<Tz>) -> Option<DateTime<Tz>> {
        if self.length.is_zero() {
            return None;
        }
        if self.is_open(at) {
            return Some(at.clone());
        }
        (0..=7).find_map(|ahead| {
            at.date_naive()
                .checked_add_days(Days::new(ahead))
                .and_then(|day| self.start_on(day, &at.timezone()))
                .filter(|start| start > at)
        })
    }

    /// The window's start on `day`, if it has one that day (a listed day, and a start time that
    /// exists there: a daylight-saving gap skips it).
    fn start_on<Tz: TimeZone>(&self, day: NaiveDate, tz: &Tz) -> Option<DateTime<Tz>> {
        let weekday = day.weekday().num_days_from_monday() as usize;
        if !self.days[weekday] {
            return None;
        }
        tz.from_local_datetime(&day.and_time(self.start)).earliest()
    }
}

/// `HH:MM` (or `H:MM`), as Go's `15:04` layout reads it.
fn parse_start(text: &str) -> Result<NaiveTime, WindowError> {
    let bad = || WindowError::StartTime {
        start: text.to_owned(),
    };
    let (hour, minute) = text.split_once(':').ok_or_else(bad)?;
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(hour) || hour.len() > 2 || !all_digits(minute) || minute.len() != 2 {
        return Err(bad());
    }
    let (hour, minute) = (
        hour.parse().map_err(|_| bad())?,
        minute.parse().map_err(|_| bad())?,
    );
    NaiveTime::from_hms_opt(hour, minute, 0).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use chrono::{FixedOffset, Utc};

    use super::*;

    fn window(days: &[&str], start: &str, length: &str) -> Window {
        Window::parse(&PeriodicUpgradeStrategy {
            days: days.iter().map(|d| (*d).to_owned()).collect(),
            start_time: start.to_owned(),
            length: length.to_owned(),
        })
        .unwrap()
    }

    /// 2026-12-01 is a Tuesday.
    fn utc(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, day, hour, minute, 0)
            .unwrap()
    }

    #[test]
    fn the_docs_window_is_open_tuesday_and_wednesday_13_to_15() {
        let w = window(&["Tuesday", "Wednesday"], "13:00", "2h");
        assert!(w.is_open(&utc(1, 13, 0)));
        assert!(w.is_open(&utc(1, 14, 59)));
        assert!(!w.is_open(&utc(1, 15, 0)));
        assert!(!w.is_open(&utc(1, 12, 59)));
        assert!(w.is_open(&utc(2, 13, 30)));
        assert!(!w.is_open(&utc(3, 13, 30)), "Thursday");
        assert!(!w.is_open(&utc(7, 13, 30)), "Monday");
    }

    #[test]
    fn the_next_window_is_the_next_listed_day_at_the_start_time() {
        let w = window(&["Tuesday", "Wednesday"], "13:00", "2h");
        assert_eq!(w.next_open(&utc(1, 9, 0)), Some(utc(1, 13, 0)));
        assert_eq!(w.next_open(&utc(1, 14, 0)), Some(utc(1, 14, 0)), "open now");
        assert_eq!(w.next_open(&utc(1, 15, 0)), Some(utc(2, 13, 0)));
        assert_eq!(
            w.next_open(&utc(2, 16, 0)),
            Some(utc(8, 13, 0)),
            "next week"
        );
    }

    #[test]
    fn no_days_means_every_day() {
        let w = window(&[], "01:30", "30m");
        for day in 1..=7 {
            assert!(w.is_open(&utc(day, 1, 45)));
            assert!(!w.is_open(&utc(day, 2, 0)));
        }
    }

    #[test]
    fn a_window_past_midnight_stays_open_into_the_next_day() {
        let w = window(&["Saturday"], "23:00", "3h");
        assert!(w.is_open(&utc(5, 23, 30)));
        assert!(
            w.is_open(&utc(6, 1, 59)),
            "Sunday morning belongs to Saturday's window"
        );
        assert!(
            !w.is_open(&utc(6, 23, 30)),
            "Sunday has no window of its own"
        );
    }

    #[test]
    fn the_start_is_in_the_time_zone_of_the_time_asked_about() {
        let w = window(&["Tuesday"], "13:00", "1h");
        let berlin = FixedOffset::east_opt(3600).unwrap();
        let at = berlin.with_ymd_and_hms(2026, 12, 1, 13, 15, 0).unwrap();
        assert!(w.is_open(&at));
        assert!(
            !w.is_open(&at.with_timezone(&Utc)),
            "12:15 UTC is before 13:00 UTC"
        );
    }

    #[test]
    fn day_names_are_english_in_any_case_and_typos_are_errors() {
        assert!(
            Window::parse(&PeriodicUpgradeStrategy {
                days: vec!["tuesday".into(), "SUNDAY".into()],
                start_time: "9:05".into(),
                length: "1h".into(),
            })
            .is_ok()
        );
        let typo = PeriodicUpgradeStrategy {
            days: vec!["Tuesdsay".into()],
            start_time: "13:00".into(),
            length: "2h".into(),
        };
        assert_eq!(
            Window::parse(&typo),
            Err(WindowError::Day {
                day: "Tuesdsay".into()
            })
        );
    }

    #[test]
    fn start_times_are_hh_mm() {
        for bad in ["", "13", "24:00", "13:60", "1:5", "13:00:00", "ab:cd"] {
            assert!(parse_start(bad).is_err(), "{bad:?} was accepted");
        }
        assert_eq!(
            parse_start("7:05").unwrap(),
            NaiveTime::from_hms_opt(7, 5, 0).unwrap()
        );
    }

    #[test]
    fn a_zero_length_window_never_opens() {
        let w = window(&[], "13:00", "0");
        assert!(!w.is_open(&utc(1, 13, 0)));
        assert_eq!(w.next_open(&utc(1, 9, 0)), None);
    }
}
