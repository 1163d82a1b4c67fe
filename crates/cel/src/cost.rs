//! A bound on what one evaluation may cost. The interpreter counts nothing while it runs, so the
//! cost is estimated before it starts from the program's shape and its input: each node counts
//! once, times the widest collection of the input for each comprehension (`all`, `exists`,
//! `map`, `filter`) it is nested in. Kubernetes refuses a call above its per-call limit; so does
//! `Program::eval`.

use cel::Value;

/// Kubernetes' `PerCallLimit`: the most one expression may cost.
pub const PER_CALL_LIMIT: u64 = 1_000_000;

/// Kubernetes' `RuntimeCELCostBudget`: the most all rules of one object's validation may cost.
pub const RUNTIME_BUDGET: u64 = 10_000_000;

/// The estimated cost of a program with `nodes_at_depth[d]` nodes inside `d` nested
/// comprehensions, over inputs whose widest collection has `width` entries.
pub fn estimate(nodes_at_depth: &[u64], width: u64) -> u64 {
    let mut factor = 1u64;
    let mut total = 0u64;
    for nodes in nodes_at_depth {
        total = total.saturating_add(nodes.saturating_mul(factor));
        factor = factor.saturating_mul(width.max(1));
    }
    total
}

/// The number of entries of the widest list or map in `value`, at any depth.
pub fn widest(value: &Value) -> u64 {
    match value {
        Value::List(items) => items.iter().map(widest).fold(items.len() as u64, u64::max),
        Value::Map(map) => map
            .map
            .values()
            .map(widest)
            .fold(map.map.len() as u64, u64::max),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_multiplies_by_width() {
        assert_eq!(estimate(&[10], 1000), 10);
        assert_eq!(estimate(&[4, 0, 10], 100), 100_004);
        assert!(estimate(&[5, 2, 2, 10], 200) > PER_CALL_LIMIT);
        assert_eq!(estimate(&[1, 1, u64::MAX], u64::MAX), u64::MAX);
    }
}
