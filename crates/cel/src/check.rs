//! What the type checker of cel-go would catch that a parser alone does not, as far as it
//! matters here: references to variables the environment does not declare. Also the program's
//! shape that bounds its cost (how many nodes run at each depth of nested comprehensions).

use cel::common::ast::{EntryExpr, Expr, IdedExpr};

/// Names that are types or constants of CEL, never variables.
const BUILT_IN: &[&str] = &[
    "bool",
    "int",
    "uint",
    "double",
    "string",
    "bytes",
    "list",
    "map",
    "null_type",
    "type",
    "dyn",
];

/// What a walk of a program found.
#[derive(Debug, Default)]
pub struct Shape {
    /// How many nodes sit at each depth of nested comprehensions (`[0]`: outside any).
    pub nodes_at_depth: Vec<u64>,
    /// Free identifiers (not bound by a comprehension), with the node that names them.
    pub free: Vec<(String, u64)>,
}

/// Walks `expr`.
pub fn shape(expr: &IdedExpr) -> Shape {
    let mut shape = Shape::default();
    walk(expr, &mut Vec::new(), 0, &mut shape);
    shape
}

fn walk(expr: &IdedExpr, bound: &mut Vec<String>, depth: u32, shape: &mut Shape) {
    let level = depth as usize;
    if shape.nodes_at_depth.len() <= level {
        shape.nodes_at_depth.resize(level + 1, 0);
    }
    shape.nodes_at_depth[level] += 1;
    match &expr.expr {
        Expr::Ident(name) => {
            if !bound.iter().any(|b| b == name) && !BUILT_IN.contains(&name.as_str()) {
                shape.free.push((name.clone(), expr.id));
            }
        }
        Expr::Call(call) => {
            if let Some(target) = &call.target {
                walk(target, bound, depth, shape);
            }
            for arg in &call.args {
                walk(arg, bound, depth, shape);
            }
        }
        Expr::Comprehension(c) => {
            walk(&c.iter_range, bound, depth, shape);
            walk(&c.accu_init, bound, depth, shape);
            let before = bound.len();
            bound.push(c.iter_var.clone());
            bound.extend(c.iter_var2.clone());
            bound.push(c.accu_var.clone());
            for inner in [&c.loop_cond, &c.loop_step] {
                walk(inner, bound, depth + 1, shape);
            }
            walk(&c.result, bound, depth, shape);
            bound.truncate(before);
        }
        Expr::List(list) => {
            for element in &list.elements {
                walk(element, bound, depth, shape);
            }
        }
        Expr::Map(map) => entries(map.entries.iter().map(|e| &e.expr), bound, depth, shape),
        Expr::Struct(s) => entries(s.entries.iter().map(|e| &e.expr), bound, depth, shape),
        Expr::Select(select) => walk(&select.operand, bound, depth, shape),
        Expr::Literal(_) | Expr::Unspecified => {}
    }
}

fn entries<'a>(
    entries: impl Iterator<Item = &'a EntryExpr>,
    bound: &mut Vec<String>,
    depth: u32,
    shape: &mut Shape,
) {
    for entry in entries {
        match entry {
            EntryExpr::MapEntry(e) => {
                walk(&e.key, bound, depth, shape);
                walk(&e.value, bound, depth, shape);
            }
            EntryExpr::StructField(f) => walk(&f.value, bound, depth, shape),
        }
    }
}
