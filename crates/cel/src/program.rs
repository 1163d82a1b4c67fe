//! A compiled expression and its evaluation.

use std::fmt;

use cel::{Context, Value};

use crate::{check, cost, environment, errors};

/// One compiled expression.
pub struct Program {
    source: String,
    compiled: cel::Program,
    shape: check::Shape,
}

impl fmt::Debug for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Program")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// Why an evaluation gave no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvalError {
    /// The estimated cost is above `PER_CALL_LIMIT`; nothing was evaluated.
    CostLimit,
    /// The interpreter's error (`No such key: x`, a missing overload, …).
    Failed(String),
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // cel-go's words, which Kubernetes matches and quotes.
            EvalError::CostLimit => f.write_str("operation cancelled: actual cost limit exceeded"),
            EvalError::Failed(e) => f.write_str(e),
        }
    }
}

/// Compiles `source`, which may name only the variables in `declared`. The error is cel-go's
/// text (`ERROR: <input>:1:6: …`), one line per error.
pub fn compile(source: &str, declared: &[&str]) -> Result<Program, String> {
    let env = environment::shared();
    let program = env.compile(source).map_err(|errs| {
        errs.errors
            .iter()
            .map(|e| {
                let line = usize::try_from(e.pos.0).unwrap_or(1).max(1);
                let column = usize::try_from(e.pos.1).unwrap_or(1).max(1);
                errors::located(source, line, column, &e.msg)
            })
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    let shape = check::shape(program.expression());
    let undeclared: Vec<String> = shape
        .free
        .iter()
        .filter(|(name, _)| !declared.contains(&name.as_str()))
        .map(|(name, id)| {
            let (line, column) = position(source, program.source_info().offset_for(*id));
            errors::located(
                source,
                line,
                column,
                &format!("undeclared reference to '{name}' (in container '')"),
            )
        })
        .collect();
    if !undeclared.is_empty() {
        return Err(undeclared.join("\n"));
    }
    Ok(Program {
        source: source.to_owned(),
        compiled: program,
        shape,
    })
}

/// Line and column (from 1) of a byte offset into `source`.
fn position(source: &str, offset: Option<(u32, u32)>) -> (usize, usize) {
    let start = offset
        .map_or(0, |(start, _)| start as usize)
        .min(source.len());
    let before = &source[..start];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

impl Program {
    /// The expression as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the expression names `variable` (a rule naming `oldSelf` is a transition rule).
    pub fn uses(&self, variable: &str) -> bool {
        self.shape.free.iter().any(|(name, _)| name == variable)
    }

    /// The estimated cost of evaluating the expression with `activation`.
    pub fn cost(&self, activation: &[(String, Value)]) -> u64 {
        let width = activation
            .iter()
            .map(|(_, v)| cost::widest(v))
            .max()
            .unwrap_or(0);
        cost::estimate(&self.shape.nodes_at_depth, width)
    }

    /// Evaluates the expression with `activation`, unless its estimated cost is above the limit.
    pub fn eval(&self, activation: &[(String, Value)]) -> Result<Value, EvalError> {
        if self.cost(activation) > cost::PER_CALL_LIMIT {
            return Err(EvalError::CostLimit);
        }
        let mut context = Context::with_env(environment::shared());
        for (name, value) in activation {
            context.add_variable_from_value(name.clone(), value.clone());
        }
        self.compiled
            .execute(&context)
            .map_err(|e| EvalError::Failed(cel_go_text(&e.to_string())))
    }
}

/// The interpreter's error in cel-go's words where they differ only in case (`no such key`),
/// which Kubernetes quotes.
fn cel_go_text(error: &str) -> String {
    match error.strip_prefix("No such key") {
        Some(rest) => format!("no such key{rest}"),
        None => error.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::to_value;
    use serde_json::json;

    fn run(source: &str, this: &serde_json::Value) -> Result<Value, EvalError> {
        compile(source, &["self"])
            .expect("compiles")
            .eval(&[("self".into(), to_value(this))])
    }

    #[test]
    fn rules_see_self_and_kubernetes_functions() {
        let spec = json!({"replicas": 3, "name": "web-1", "ports": [80, 443]});
        for rule in [
            "self.replicas <= 5",
            "self.name.startsWith('web') && self.name.matches('^[a-z]+-[0-9]$')",
            "size(self.ports) == 2 && self.ports.all(p, p > 0) && self.ports.exists(p, p == 443)",
            "self.ports.map(p, p * 2).filter(p, p > 200) == [886]",
            "has(self.name) && !has(self.missing)",
            "self.name.split('-')[1] == '1' && self.name.upperAscii() == 'WEB-1'",
        ] {
            assert_eq!(run(rule, &spec), Ok(Value::Bool(true)), "{rule}");
        }
    }

    #[test]
    fn errors_read_as_cel_go_writes_them() {
        let err = compile("self.replicas >", &["self"]).unwrap_err();
        assert!(err.starts_with("ERROR: <input>:1:"), "{err}");
        assert!(err.contains("\n | self.replicas >\n | ."), "{err}");
        let err = compile("self.a == other", &["self"]).unwrap_err();
        assert_eq!(
            err,
            "ERROR: <input>:1:11: undeclared reference to 'other' (in container '')\n | self.a == other\n | ..........^"
        );
        assert!(compile("self.all(x, x > 0)", &["self"]).is_ok());
        assert!(
            compile("oldSelf == self", &["self", "oldSelf"])
                .unwrap()
                .uses("oldSelf")
        );
    }

    #[test]
    fn costly_calls_are_refused() {
        let items: Vec<i64> = (0..200).collect();
        let rule = "self.all(a, self.all(b, self.all(c, a + b + c >= 0)))";
        assert_eq!(run(rule, &json!(items)), Err(EvalError::CostLimit));
        assert_eq!(run(rule, &json!([1, 2])), Ok(Value::Bool(true)));
        // Forty entries cost well under the limit: only the innermost nodes run 40³ times.
        let forty: Vec<i64> = (0..40).collect();
        assert_eq!(run(rule, &json!(forty)), Ok(Value::Bool(true)));
    }
}
