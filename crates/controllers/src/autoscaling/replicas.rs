//! How many replicas a resource metric asks for (Kubernetes' replica calculator): the ratio of
//! the pods' usage to the target, within a 10 % tolerance; pods without figures yet are assumed
//! to use nothing when scaling up and exactly the target when scaling down, so that they never
//! push the decision further than the measured pods do.

/// Within this fraction of the target nothing changes.
pub const TOLERANCE: f64 = 0.1;

/// One pod's use of the resource and what it requests (for utilization targets).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PodUsage {
    pub usage: f64,
    pub request: f64,
}

/// What the metric aims at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// Percent of the pods' requests.
    Utilization(f64),
    /// Absolute use per pod.
    AverageValue(f64),
}

/// The calculator's answer: replicas, and the current value to report (utilization percent or
/// average value).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Recommendation {
    pub replicas: u32,
    pub current: f64,
}

/// Pods the calculator cannot use as they are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unmeasured {
    /// Running pods without figures yet.
    pub missing: u32,
    /// Pods starting up (Pending, or CPU still from their start): left out, and counted as idle
    /// when the measured pods ask for more.
    pub unready: u32,
}

/// Replicas for `measured` pods with figures and the `unmeasured` rest, now at `current`
/// replicas.
pub fn recommend(
    current: u32,
    measured: &[PodUsage],
    unmeasured: Unmeasured,
    target: Target,
) -> Result<Recommendation, String> {
    if measured.is_empty() {
        return Err("no pod has metrics yet".into());
    }
    let usage: f64 = measured.iter().map(|p| p.usage).sum();
    #[allow(clippy::cast_precision_loss)] // pod counts are small
    let count = measured.len() as f64;
    // What one pod should use, and the figure reported as current.
    let (per_pod_target, value) = match target {
        Target::Utilization(percent) => {
            let requests: f64 = measured.iter().map(|p| p.request).sum();
            if requests <= 0.0 {
                return Err("missing request for the resource".into());
            }
            (requests / count * percent / 100.0, usage * 100.0 / requests)
        }
        Target::AverageValue(average) => (average, usage / count),
    };
    let ratio = usage / (count * per_pod_target);
    let keep = Recommendation {
        replicas: current,
        current: value,
    };
    let scale_up_with_unready = unmeasured.unready > 0 && ratio > 1.0;
    if unmeasured.missing == 0 && !scale_up_with_unready {
        if (ratio - 1.0).abs() <= TOLERANCE {
            return Ok(keep);
        }
        return Ok(Recommendation {
            replicas: ceil(ratio * count),
            current: value,
        });
    }
    // Missing pods: scaling down, they use the target; scaling up, nothing. Unready pods use
    // nothing, and only when scaling up.
    let missing = f64::from(unmeasured.missing);
    let mut assumed = usage;
    let mut pods = count + missing;
    if ratio < 1.0 {
        assumed += missing * per_pod_target;
    }
    if scale_up_with_unready {
        pods += f64::from(unmeasured.unready);
    }
    let new_ratio = assumed / (pods * per_pod_target);
    // The assumption must not reverse the direction, and a change within tolerance is none.
    if (new_ratio - 1.0).abs() <= TOLERANCE || (ratio > 1.0) != (new_ratio > 1.0) {
        return Ok(keep);
    }
    Ok(Recommendation {
        replicas: ceil(new_ratio * pods),
        current: value,
    })
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn ceil(value: f64) -> u32 {
    value.ceil().max(0.0) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn missing(missing: u32) -> Unmeasured {
        Unmeasured {
            missing,
            unready: 0,
        }
    }

    fn pods(usages: &[f64], request: f64) -> Vec<PodUsage> {
        usages
            .iter()
            .map(|u| PodUsage { usage: *u, request })
            .collect()
    }

    #[test]
    fn utilization_scales_by_the_ratio_within_tolerance() {
        // 2 pods at 100 % of their 100m request, target 50 %: 4 pods.
        let r = recommend(
            2,
            &pods(&[0.1, 0.1], 0.1),
            missing(0),
            Target::Utilization(50.0),
        )
        .unwrap();
        assert_eq!(r.replicas, 4);
        assert!((r.current - 100.0).abs() < 1e-9);
        // 54 % against 50 %: within 10 %, unchanged.
        let r = recommend(
            3,
            &pods(&[0.054; 3], 0.1),
            missing(0),
            Target::Utilization(50.0),
        )
        .unwrap();
        assert_eq!(r.replicas, 3);
        // Idle: down to one (the caller applies minReplicas).
        let r = recommend(
            5,
            &pods(&[0.0; 5], 0.1),
            missing(0),
            Target::Utilization(50.0),
        )
        .unwrap();
        assert_eq!(r.replicas, 0);
        assert!(recommend(1, &pods(&[0.1], 0.0), missing(0), Target::Utilization(50.0)).is_err());
        assert!(recommend(1, &[], missing(1), Target::Utilization(50.0)).is_err());
    }

    #[test]
    fn average_values_and_missing_pods() {
        // 3 pods using 300 MB in all, 50 MB each wanted: 6.
        let r = recommend(
            3,
            &pods(&[100.0; 3], 0.0),
            missing(0),
            Target::AverageValue(50.0),
        )
        .unwrap();
        assert_eq!(r.replicas, 6);
        // Scaling up with a pod without figures: it counts as using nothing.
        // 2 measured at 200 % + 1 missing at 0 → ratio (0.4/0.3)/0.5 = 2.67 → 8.
        let r = recommend(
            3,
            &pods(&[0.2, 0.2], 0.1),
            missing(1),
            Target::Utilization(50.0),
        )
        .unwrap();
        assert_eq!(r.replicas, 8);
        // Scaling down with a missing pod: it counts at the target, which softens the drop.
        // 2 measured at 10 % + 1 at 50 % → 70 % of 3 requests... ratio 0.4667 → 2.
        let r = recommend(
            3,
            &pods(&[0.01, 0.01], 0.1),
            missing(1),
            Target::Utilization(50.0),
        )
        .unwrap();
        assert_eq!(r.replicas, 2);
        // A missing pod that turns a small rise into none: unchanged.
        let r = recommend(
            2,
            &pods(&[0.06], 0.1),
            missing(1),
            Target::Utilization(50.0),
        )
        .unwrap();
        assert_eq!(r.replicas, 2);
    }

    #[test]
    fn unready_pods_count_as_idle_only_when_scaling_up() {
        let unready = |unready| Unmeasured {
            missing: 0,
            unready,
        };
        // 1 ready pod at 200 % + 2 starting: (0.2 / 3) / 0.05 = 1.33 → 4.
        let r = recommend(3, &pods(&[0.2], 0.1), unready(2), Target::Utilization(50.0)).unwrap();
        assert_eq!(r.replicas, 4);
        // At 120 % with 2 starting: 0.4 after counting them, the direction flips: unchanged.
        let r = recommend(
            3,
            &pods(&[0.06], 0.1),
            unready(2),
            Target::Utilization(50.0),
        )
        .unwrap();
        assert_eq!(r.replicas, 3);
        // Scaling down, starting pods are left out: 1 pod at 10 % → 1.
        let r = recommend(
            3,
            &pods(&[0.01], 0.1),
            unready(2),
            Target::Utilization(50.0),
        )
        .unwrap();
        assert_eq!(r.replicas, 1);
    }
}
