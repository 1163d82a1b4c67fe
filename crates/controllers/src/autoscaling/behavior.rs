//! `spec.behavior`: stabilization windows and rate limits on top of the calculator's
//! recommendation, with Kubernetes' defaults (up: no window, at most double or +4 pods per step;
//! down: the highest recommendation of the last 300 s, any amount per step). Rate limits are
//! applied to the current size at each step; the policies' periods are not tracked.

use std::time::{Duration, Instant};

use k8s_openapi::api::autoscaling::v2::{HPAScalingRules, HorizontalPodAutoscalerBehavior};

/// Past recommendations of one autoscaler, newest last.
#[derive(Debug, Default, Clone)]
pub struct History(Vec<(Instant, u32)>);

/// The longest window kept (scale-down's default and the API's maximum is an hour).
const KEEP: Duration = Duration::from_hours(1);

impl History {
    pub fn record(&mut self, now: Instant, replicas: u32) {
        self.0
            .retain(|(at, _)| now.saturating_duration_since(*at) <= KEEP);
        self.0.push((now, replicas));
    }

    fn within(&self, now: Instant, window: Duration) -> impl Iterator<Item = u32> + '_ {
        self.0
            .iter()
            .filter(move |(at, _)| now.saturating_duration_since(*at) <= window)
            .map(|(_, r)| *r)
    }
}

struct Rules {
    window: Duration,
    /// Each policy's limit for the current size; `None` when scaling this way is disabled.
    limit: Option<u32>,
}

fn rules(rules: Option<&HPAScalingRules>, up: bool, current: u32) -> Rules {
    let default_window = if up { 0 } else { 300 };
    let window = rules
        .and_then(|r| r.stabilization_window_seconds)
        .unwrap_or(default_window);
    let policies: Vec<(String, i32)> = match rules.and_then(|r| r.policies.as_ref()) {
        Some(policies) => policies
            .iter()
            .map(|p| (p.type_.clone(), p.value))
            .collect(),
        None if up => vec![("Percent".into(), 100), ("Pods".into(), 4)],
        None => vec![("Percent".into(), 100)],
    };
    let select = rules
        .and_then(|r| r.select_policy.as_deref())
        .unwrap_or("Max");
    let current_f = f64::from(current);
    let limits = policies.iter().map(|(kind, value)| {
        let value = u32::try_from(*value).unwrap_or(0);
        match (kind.as_str(), up) {
            ("Pods", true) => current.saturating_add(value),
            ("Pods", false) => current.saturating_sub(value),
            (_, true) => ceil(current_f * (1.0 + f64::from(value) / 100.0)),
            (_, false) => ceil(current_f * (1.0 - f64::from(value) / 100.0)),
        }
    });
    // `Max` picks the policy allowing the largest change.
    let limit = match (select, up) {
        ("Disabled", _) => None,
        ("Min", true) | ("Max", false) => limits.min(),
        _ => limits.max(),
    };
    Rules {
        window: Duration::from_secs(u64::try_from(window).unwrap_or(0)),
        limit,
    }
}

/// The replicas to set, from the clamped recommendation `desired` at `current` replicas, after
/// it was recorded in `history`.
pub fn stabilize(
    behavior: Option<&HorizontalPodAutoscalerBehavior>,
    history: &History,
    now: Instant,
    current: u32,
    desired: u32,
) -> u32 {
    match desired.cmp(&current) {
        std::cmp::Ordering::Greater => {
            let up = rules(behavior.and_then(|b| b.scale_up.as_ref()), true, current);
            // The lowest recommendation of the window: a brief spike does not scale up.
            let stable = history
                .within(now, up.window)
                .min()
                .unwrap_or(desired)
                .max(current);
            up.limit.map_or(current, |limit| stable.min(limit))
        }
        std::cmp::Ordering::Less => {
            let down = rules(behavior.and_then(|b| b.scale_down.as_ref()), false, current);
            // The highest recommendation of the window: a brief dip does not scale down.
            let stable = history
                .within(now, down.window)
                .max()
                .unwrap_or(desired)
                .min(current);
            down.limit.map_or(current, |limit| stable.max(limit))
        }
        std::cmp::Ordering::Equal => current,
    }
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn ceil(value: f64) -> u32 {
    value.ceil().max(0.0) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::autoscaling::v2::HPAScalingPolicy;

    #[test]
    fn defaults_double_up_at_once_and_hold_down_for_five_minutes() {
        let t0 = Instant::now();
        let mut history = History::default();
        history.record(t0, 20);
        // Up: at most double or +4 from 2.
        assert_eq!(stabilize(None, &history, t0, 2, 20), 6);
        assert_eq!(stabilize(None, &history, t0, 10, 20), 20);
        // Down within 300 s of a recommendation of 20: held at the current 10.
        history.record(t0 + Duration::from_mins(1), 1);
        assert_eq!(
            stabilize(None, &history, t0 + Duration::from_mins(1), 10, 1),
            10
        );
        // After the window only the low recommendation is left.
        let later = t0 + Duration::from_secs(400);
        history.record(later, 1);
        assert_eq!(stabilize(None, &history, later, 10, 1), 1);
    }

    #[test]
    fn explicit_rules_and_disabled_directions() {
        let t0 = Instant::now();
        let mut history = History::default();
        history.record(t0, 1);
        let behavior = HorizontalPodAutoscalerBehavior {
            scale_down: Some(HPAScalingRules {
                stabilization_window_seconds: Some(0),
                policies: Some(vec![HPAScalingPolicy {
                    type_: "Pods".into(),
                    value: 2,
                    period_seconds: 60,
                }]),
                select_policy: None,
            }),
            scale_up: Some(HPAScalingRules {
                select_policy: Some("Disabled".into()),
                ..HPAScalingRules::default()
            }),
        };
        assert_eq!(stabilize(Some(&behavior), &history, t0, 10, 1), 8);
        assert_eq!(stabilize(Some(&behavior), &history, t0, 3, 9), 3);
    }
}
