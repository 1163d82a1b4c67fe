//! The one CEL environment every program is compiled and run in: the standard library, the
//! strings and lists extensions Kubernetes enables, and its own small additions.

use std::sync::{Arc, OnceLock};

use cel::Env;
use cel::extensions;

/// The shared environment (built once: registering overloads is not free).
pub fn shared() -> Arc<Env> {
    static ENV: OnceLock<Arc<Env>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Env::stdlib();
        env.add_extension(extensions::strings)
            .expect("strings extension registers once");
        env.add_extension(extensions::lists)
            .expect("lists extension registers once");
        Arc::new(env)
    })
    .clone()
}
