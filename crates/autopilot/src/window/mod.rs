//! When an UpdateConfig lets the cluster update: a weekly maintenance window (`periodic`) or the
//! times of a cron expression (`cron`, the older strategy). Pure functions of a time, in any
//! time zone; the poller passes the controller's local time, as k0s does.

mod cron;
mod duration;
mod periodic;

use chrono::{DateTime, TimeZone};

pub use cron::Cron;
pub use periodic::Window;

use crate::api::{UpgradeStrategy, UpgradeStrategyType};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    #[error("upgradeStrategy.periodic.days: {day:?} is not a day (Monday … Sunday)")]
    Day { day: String },
    #[error("upgradeStrategy.periodic.startTime: {start:?} is not a time of day (HH:MM)")]
    StartTime { start: String },
    #[error("upgradeStrategy.periodic.length: {length:?}: {reason}")]
    Length { length: String, reason: String },
    #[error("upgradeStrategy.cron: {expression:?}: {reason}")]
    Cron { expression: String, reason: String },
    #[error("upgradeStrategy.type: unknown update strategy type (periodic or cron)")]
    NoType,
}

/// An UpdateConfig's strategy, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    Periodic(Window),
    Cron(Cron),
}

impl Schedule {
    /// The schedule of an upgrade strategy. With no `type`, a cron expression means `cron`
    /// (k0s's older UpdateConfigs have only `cron`); else the type must be given, as k0s requires.
    pub fn parse(strategy: &UpgradeStrategy) -> Result<Self, WindowError> {
        let type_ = match strategy.type_ {
            Some(type_) => type_,
            None if !strategy.cron.is_empty() => UpgradeStrategyType::Cron,
            None => return Err(WindowError::NoType),
        };
        match type_ {
            UpgradeStrategyType::Periodic => Window::parse(&strategy.periodic).map(Self::Periodic),
            UpgradeStrategyType::Cron => Cron::parse(&strategy.cron).map(Self::Cron),
        }
    }

    /// Whether an update may start at `at`: inside the window, or in a minute the cron
    /// expression names.
    pub fn is_open<Tz: TimeZone>(&self, at: &DateTime<Tz>) -> bool {
        match self {
            Self::Periodic(window) => window.is_open(at),
            Self::Cron(cron) => cron.matches(at),
        }
    }

    /// When it next opens at or after `at` (`at` itself when open), within a year; `None` when
    /// it never does (a cron expression for 30 February).
    pub fn next_open<Tz: TimeZone>(&self, at: &DateTime<Tz>) -> Option<DateTime<Tz>> {
        match self {
            Self::Periodic(window) => window.next_open(at),
            Self::Cron(cron) => cron.next(at),
        }
    }
}
