//! Compile errors in cel-go's words and layout, which Kubernetes quotes verbatim:
//! `ERROR: <input>:1:6: Syntax error: …` followed by the line and a caret under the column.

/// One error at `line`:`column` (both from 1) of `source`.
pub fn located(source: &str, line: usize, column: usize, message: &str) -> String {
    let at = format!("ERROR: <input>:{line}:{column}: {message}");
    match source.lines().nth(line.saturating_sub(1)) {
        Some(snippet) => {
            let dots = ".".repeat(column.saturating_sub(1));
            format!("{at}\n | {snippet}\n | {dots}^")
        }
        None => at,
    }
}
