//! The stacks of the manifests directory as the applier last saw them: each stack's files, their
//! objects, the outcome of its last apply and when to try a failed one again. A scan of the
//! directory (every second) tells which stacks changed — a file added, edited or removed, a
//! stack directory made — and which went away; only those are applied, plus the failed ones
//! when their backoff has passed. Files are compared by content, so an editor that replaces a
//! file, a `cp -p` that keeps its time, or a bind mount all count, and a rewrite with the same
//! content does not.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use tokio::time::Instant;

use super::apply::Outcome;
use super::manifests::{Broken, Files, Stack, parse_stack, read_files, valid_stack_name};
use super::prune::Wants;

/// The first wait before a failed stack is applied again; it doubles up to [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_mins(1);

/// The stack directories of a scan, by name: their files, or why they could not be read.
pub type Scan = BTreeMap<String, Result<Files, String>>;

/// Reads every stack directory under `dir` (a subdirectory, or a link to one).
pub fn scan(dir: &Path) -> std::io::Result<Scan> {
    let mut stacks = Scan::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if !entry.path().is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let files = read_files(&entry.path()).map_err(|e| format!("cannot read the stack: {e}"));
        stacks.insert(name, files);
    }
    Ok(stacks)
}

/// One stack as last seen.
#[derive(Debug)]
pub struct StackState {
    files: Result<Files, String>,
    pub parsed: Stack,
    /// The last apply's outcome in this term as leader (none: not applied yet).
    pub outcome: Option<Outcome>,
    retry: Option<(Instant, Duration)>,
}

impl StackState {
    fn new(name: &str, files: Result<Files, String>) -> Self {
        let parsed = match &files {
            _ if !valid_stack_name(name) => Stack {
                broken: vec![Broken {
                    file: String::new(),
                    error: "the directory's name cannot be a label value (at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit), so the stack is not applied".to_owned(),
                }],
                ..Stack::default()
            },
            Ok(files) => parse_stack(name, files),
            Err(error) => Stack {
                broken: vec![Broken {
                    file: String::new(),
                    error: error.clone(),
                }],
                ..Stack::default()
            },
        };
        Self {
            files,
            parsed,
            outcome: None,
            retry: None,
        }
    }

    /// What pruning may take of this stack's objects.
    pub fn wants(&self) -> Wants<'_> {
        match &self.outcome {
            Some(outcome) if self.parsed.broken.is_empty() => Wants::Only {
                ids: &outcome.wanted,
                uids: &outcome.uids,
            },
            _ => Wants::Everything,
        }
    }

    /// Records an apply: a failed one is tried again after a backoff that doubles each time.
    pub fn applied(&mut self, outcome: Outcome, now: Instant) {
        self.retry = if outcome.failures.is_empty() {
            None
        } else {
            let wait = self
                .retry
                .map_or(RETRY_FIRST, |(_, wait)| (wait * 2).min(RETRY_MAX));
            Some((now + wait, wait))
        };
        self.outcome = Some(outcome);
    }

    /// Records that the stack could not be applied at all (discovery failed).
    pub fn not_applied(&mut self, now: Instant) {
        let wait = self
            .retry
            .map_or(RETRY_FIRST, |(_, wait)| (wait * 2).min(RETRY_MAX));
        self.retry = Some((now + wait, wait));
    }

    fn due(&self, now: Instant) -> bool {
        self.retry.is_some_and(|(at, _)| at <= now)
    }
}

/// Every stack as last seen.
#[derive(Debug, Default)]
pub struct Stacks {
    pub by_name: BTreeMap<String, StackState>,
}

/// What a scan changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// New stacks and stacks whose files differ.
    pub changed: Vec<String>,
    pub removed: Vec<String>,
}

impl Stacks {
    /// Takes in a scan: changed stacks are parsed anew (and forget their last apply).
    pub fn update(&mut self, scan: Scan) -> Changes {
        let mut changes = Changes::default();
        self.by_name.retain(|name, _| {
            let kept = scan.contains_key(name);
            if !kept {
                changes.removed.push(name.clone());
            }
            kept
        });
        for (name, files) in scan {
            if self.by_name.get(&name).is_some_and(|s| s.files == files) {
                continue;
            }
            self.by_name
                .insert(name.clone(), StackState::new(&name, files));
            changes.changed.push(name);
        }
        changes
    }

    /// The stacks whose retry time has come.
    pub fn due(&self, now: Instant) -> Vec<String> {
        self.by_name
            .iter()
            .filter(|(_, s)| s.due(now))
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// What each stack directory present asks of pruning.
    pub fn wants(&self) -> HashMap<String, Wants<'_>> {
        self.by_name
            .iter()
            .map(|(name, state)| (name.clone(), state.wants()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::applier::apply::Failure;
    use crate::applier::manifests::ObjectId;

    fn files(text: &str) -> Result<Files, String> {
        let files: Files = [("a.yaml".to_owned(), text.as_bytes().to_vec())].into();
        text.is_ascii()
            .then_some(files)
            .ok_or_else(|| "not ASCII".to_owned())
    }

    const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n";

    #[test]
    fn scans_tell_new_changed_and_removed_stacks() {
        let mut stacks = Stacks::default();
        let first = stacks.update([("a".into(), files(CM)), ("b".into(), files(CM))].into());
        assert_eq!(first.changed, ["a", "b"]);
        let same = stacks.update([("a".into(), files(CM)), ("b".into(), files(CM))].into());
        assert_eq!(same, Changes::default());
        let edit = stacks.update([("a".into(), files("# edited\n"))].into());
        assert_eq!(
            edit,
            Changes {
                changed: vec!["a".into()],
                removed: vec!["b".into()],
            }
        );
        assert!(stacks.by_name["a"].parsed.manifests.is_empty());
    }

    #[test]
    fn broken_unread_unapplied_and_badly_named_stacks_keep_everything() {
        let mut stacks = Stacks::default();
        stacks.update(
            [
                ("ok".into(), files(CM)),
                ("broken".into(), files("kind: [")),
                ("unread".into(), Err("cannot read the stack: denied".into())),
                ("bad name".into(), files(CM)),
            ]
            .into(),
        );
        let now = Instant::now();
        for state in stacks.by_name.values_mut() {
            state.applied(Outcome::default(), now);
        }
        let wants = stacks.wants();
        assert!(matches!(wants["ok"], Wants::Only { .. }));
        for name in ["broken", "unread", "bad name"] {
            assert!(matches!(wants[name], Wants::Everything), "{name}");
        }
        let mut fresh = Stacks::default();
        fresh.update([("ok".into(), files(CM))].into());
        assert!(matches!(fresh.wants()["ok"], Wants::Everything));
    }

    #[test]
    fn failed_stacks_are_due_again_after_a_doubling_backoff() {
        let mut stacks = Stacks::default();
        stacks.update([("a".into(), files(CM))].into());
        let failed = || Outcome {
            failures: vec![Failure {
                file: "a.yaml".into(),
                object: ObjectId {
                    group: String::new(),
                    kind: "ConfigMap".into(),
                    namespace: None,
                    name: "c".into(),
                },
                error: "no".into(),
            }],
            ..Outcome::default()
        };
        let start = Instant::now();
        let state = stacks.by_name.get_mut("a").unwrap();
        state.applied(failed(), start);
        assert!(stacks.due(start).is_empty());
        assert_eq!(stacks.due(start + RETRY_FIRST), ["a"]);
        let state = stacks.by_name.get_mut("a").unwrap();
        state.applied(failed(), start);
        assert!(stacks.due(start + RETRY_FIRST).is_empty());
        assert_eq!(stacks.due(start + RETRY_FIRST * 2), ["a"]);
        stacks
            .by_name
            .get_mut("a")
            .unwrap()
            .applied(Outcome::default(), start);
        assert!(stacks.due(start + RETRY_MAX).is_empty());
    }
}
