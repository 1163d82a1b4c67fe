//! A bound on what one evaluation may cost. The interpreter counts nothing while it runs, so the
//! cost is estimated before it starts from the program's shape and its input: every node of the
//! program once, times the widest collection it could iterate for each level of nested
//! comprehension (`all`, `exists`, `map`, `filter`). Kubernetes refuses a call above its
//! per-call limit; so does `Program::eval`.

use cel::Value;

/// Kubernetes' `PerCallLimit`: the most one expression may cost.
pub const PER_CALL_LIMIT: u64 = 1_000_000;

/// The estimated cost of a program of `nodes` nodes, `depth` comprehensions deep, over inputs
/// whose widest collection has `width` entries.
pub fn estimate(nodes: u64, depth: u32, width: u64) -> u64 {
    nodes.saturating_mul(width.max(1).saturating_pow(depth))
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
        assert_eq!(estimate(10, 0, 1000), 10);
        assert_eq!(estimate(10, 2, 100), 100_000);
        assert!(estimate(10, 3, 200) > PER_CALL_LIMIT);
        assert_eq!(estimate(u64::MAX, 9, u64::MAX), u64::MAX);
    }
}
