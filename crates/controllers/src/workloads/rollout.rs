//! The arithmetic of a Deployment rollout, apart from the API: template hashes, surge and
//! unavailability budgets, and how many replicas each ReplicaSet gets next (Kubernetes'
//! RollingUpdate and Recreate strategies).

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// `pod-template-hash`: FNV-1a (32 bit) of the template, its decimal digits in Kubernetes'
/// safe alphabet (no vowels, no look-alikes), as `rand.SafeEncodeString` writes it.
pub fn template_hash(template: &serde_json::Value, collisions: i32) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut hash: u32 = 0x811c_9dc5;
    let text = format!("{template}{collisions}");
    for byte in text.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash.to_string()
        .bytes()
        .map(|b| char::from(ALPHABET[usize::from(b) % ALPHABET.len()]))
        .collect()
}

/// A surge or unavailability budget of `replicas`: a number, or a percentage rounded up
/// (surge) or down (unavailable).
pub fn scaled(value: Option<&IntOrString>, replicas: i32, round_up: bool, default: &str) -> i32 {
    let text = match value {
        Some(IntOrString::Int(n)) => return (*n).max(0),
        Some(IntOrString::String(s)) => s.as_str(),
        None => default,
    };
    let Some(percent) = text.strip_suffix('%').and_then(|p| p.parse::<i64>().ok()) else {
        return text.parse().unwrap_or(0);
    };
    let product = i64::from(replicas) * percent;
    let value = if round_up {
        (product + 99) / 100
    } else {
        product / 100
    };
    i32::try_from(value).unwrap_or(i32::MAX)
}

/// maxSurge and maxUnavailable of a RollingUpdate (never both zero).
pub fn budgets(
    surge: Option<&IntOrString>,
    unavailable: Option<&IntOrString>,
    replicas: i32,
) -> (i32, i32) {
    let surge = scaled(surge, replicas, true, "25%");
    let unavailable = scaled(unavailable, replicas, false, "25%");
    if surge == 0 && unavailable == 0 {
        (0, 1)
    } else {
        (surge, unavailable)
    }
}

/// maxSurge and maxUnavailable of a Deployment's RollingUpdate strategy for `replicas`.
pub fn budgets_of(spec: &k8s_openapi::api::apps::v1::DeploymentSpec, replicas: i32) -> (i32, i32) {
    let rolling = spec
        .strategy
        .as_ref()
        .and_then(|s| s.rolling_update.as_ref());
    budgets(
        rolling.and_then(|r| r.max_surge.as_ref()),
        rolling.and_then(|r| r.max_unavailable.as_ref()),
        replicas,
    )
}

/// One ReplicaSet as the rollout sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Set {
    pub replicas: i32,
    pub available: i32,
}

/// The new ReplicaSet's next replica count: up to `replicas`, within the surge.
pub fn scale_new(new: &Set, olds: &[Set], replicas: i32, surge: i32) -> i32 {
    if new.replicas >= replicas {
        return replicas;
    }
    let total: i32 = new.replicas + olds.iter().map(|s| s.replicas).sum::<i32>();
    let room = replicas + surge - total;
    if room <= 0 {
        return new.replicas;
    }
    (new.replicas + room).min(replicas)
}

/// The old ReplicaSets' next replica counts (oldest first): unhealthy replicas go first, then as
/// many available ones as keep `replicas - unavailable` available.
pub fn scale_olds(new: &Set, olds: &[Set], replicas: i32, unavailable: i32) -> Vec<i32> {
    let mut next: Vec<i32> = olds.iter().map(|s| s.replicas).collect();
    let min_available = replicas - unavailable;
    let all: i32 = new.replicas + next.iter().sum::<i32>();
    let new_unavailable = (new.replicas - new.available).max(0);
    let max_scaled_down = all - min_available - new_unavailable;
    if max_scaled_down <= 0 {
        return next;
    }
    // Replicas that are not available cost no availability to remove.
    let mut cleaned = 0;
    for (i, set) in olds.iter().enumerate() {
        let unhealthy = (next[i] - set.available).max(0);
        let cut = unhealthy.min(max_scaled_down - cleaned);
        next[i] -= cut;
        cleaned += cut;
        if cleaned >= max_scaled_down {
            return next;
        }
    }
    let available: i32 = new.available
        + olds
            .iter()
            .zip(&next)
            .map(|(s, n)| s.available.min(*n))
            .sum::<i32>();
    let mut budget = available - min_available;
    for count in &mut next {
        if budget <= 0 {
            break;
        }
        let cut = (*count).min(budget);
        *count -= cut;
        budget -= cut;
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_round_like_kubernetes() {
        assert_eq!(budgets(None, None, 10), (3, 2));
        assert_eq!(
            budgets(Some(&IntOrString::Int(0)), Some(&IntOrString::Int(0)), 3),
            (0, 1)
        );
        assert_eq!(
            budgets(
                Some(&IntOrString::String("50%".into())),
                Some(&IntOrString::Int(1)),
                3
            ),
            (2, 1)
        );
    }

    #[test]
    fn a_rolling_update_never_goes_below_min_available() {
        // 4 replicas, surge 1, unavailable 1: start with all 4 old available.
        let (replicas, surge, unavailable) = (4, 1, 1);
        let mut new = Set {
            replicas: 0,
            available: 0,
        };
        let mut olds = vec![Set {
            replicas: 4,
            available: 4,
        }];
        for _ in 0..20 {
            new.replicas = scale_new(&new, &olds, replicas, surge);
            let next = scale_olds(&new, &olds, replicas, unavailable);
            for (old, n) in olds.iter_mut().zip(next) {
                old.replicas = n;
                old.available = old.available.min(n);
            }
            let available = new.available + olds.iter().map(|s| s.available).sum::<i32>();
            assert!(available >= replicas - unavailable, "{new:?} {olds:?}");
            assert!(
                new.replicas + olds.iter().map(|s| s.replicas).sum::<i32>() <= replicas + surge
            );
            // Pods of the new set become available between steps.
            new.available = new.replicas;
        }
        assert_eq!(
            new,
            Set {
                replicas: 4,
                available: 4
            }
        );
        assert_eq!(olds[0].replicas, 0);
    }

    #[test]
    fn hashes_are_stable_and_safe() {
        let hash = template_hash(&serde_json::json!({"spec": {"containers": []}}), 0);
        assert_eq!(
            hash,
            template_hash(&serde_json::json!({"spec": {"containers": []}}), 0)
        );
        assert_ne!(
            hash,
            template_hash(&serde_json::json!({"spec": {"containers": []}}), 1)
        );
        assert!(
            hash.chars()
                .all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c))
        );
    }
}
