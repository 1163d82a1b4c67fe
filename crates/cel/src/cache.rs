//! Compiled programs kept by source: the same few rules and policies judge every write.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::Program;

/// `compile(source, declared)`, once per distinct pair.
pub fn compiled(source: &str, declared: &[&str]) -> Result<Arc<Program>, String> {
    type Programs = HashMap<(String, String), Arc<Program>>;
    static PROGRAMS: Mutex<Option<Programs>> = Mutex::new(None);
    /// More distinct programs than this and the cache starts again.
    const KEPT: usize = 1024;
    let key = (declared.join(","), source.to_owned());
    if let Some(program) = PROGRAMS
        .lock()
        .expect("program cache poisoned")
        .as_ref()
        .and_then(|p| p.get(&key))
    {
        return Ok(program.clone());
    }
    let program = Arc::new(crate::compile(source, declared)?);
    let mut programs = PROGRAMS.lock().expect("program cache poisoned");
    let programs = programs.get_or_insert_with(HashMap::new);
    if programs.len() >= KEPT {
        programs.clear();
    }
    programs.insert(key, program.clone());
    Ok(program)
}
