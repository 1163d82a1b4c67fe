//! Warnings admission adds to a write's answer (a policy binding's `Warn` action), collected
//! for the task that serves the request: plugins add them without the chain's signature
//! carrying them.

use std::cell::RefCell;

tokio::task_local! {
    static WARNINGS: RefCell<Vec<String>>;
}

/// Adds `text` to the warnings of the request being served (none is served: dropped).
pub fn add(text: String) {
    let _ = WARNINGS.try_with(|w| w.borrow_mut().push(text));
}

/// Runs `write`, returning what it returns and the warnings admission added meanwhile.
pub async fn collect<T>(write: impl Future<Output = T>) -> (T, Vec<String>) {
    WARNINGS
        .scope(RefCell::new(Vec::new()), async {
            let out = write.await;
            (out, WARNINGS.with(RefCell::take))
        })
        .await
}
