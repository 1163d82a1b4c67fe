//! Atomic rule changes: one `iptables-restore --noflush` per sync. The chains named in the input
//! are replaced whole in one kernel transaction; every other chain (the host's, the CNI
//! plugins') is left as it is.

use std::path::Path;

/// One table's part of an `iptables-restore` input: its chain declarations and rules.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Table {
    pub name: &'static str,
    /// `:CHAIN - [0:0]` lines: each declared chain is created or emptied.
    pub chains: Vec<String>,
    /// `-A …` and `-X …` lines, in order.
    pub rules: Vec<String>,
}

impl Table {
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            ..Self::default()
        }
    }

    /// Declares `chain` (created, or emptied when it exists).
    pub fn chain(&mut self, chain: &str) {
        self.chains.push(format!(":{chain} - [0:0]"));
    }

    pub fn rule(&mut self, rule: String) {
        self.rules.push(rule);
    }

    fn write_to(&self, out: &mut String) {
        out.push('*');
        out.push_str(self.name);
        out.push('\n');
        for line in self.chains.iter().chain(&self.rules) {
            out.push_str(line);
            out.push('\n');
        }
        out.push_str("COMMIT\n");
    }
}

/// The restore input of `tables`.
pub fn render(tables: &[Table]) -> String {
    let mut out = String::new();
    for table in tables {
        table.write_to(&mut out);
    }
    out
}

/// Applies `tables` with `iptables_restore`, leaving chains it does not name alone.
pub fn restore(iptables_restore: &Path, tables: &[Table]) -> anyhow::Result<()> {
    crate::feed::feed(iptables_restore, &["--noflush", "--wait"], &render(tables))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_render_as_restore_input() {
        let mut nat = Table::new("nat");
        nat.chain("KUBE-SERVICES");
        nat.rule("-A KUBE-SERVICES -j RETURN".into());
        let filter = Table::new("filter");
        assert_eq!(
            render(&[nat, filter]),
            "*nat\n:KUBE-SERVICES - [0:0]\n-A KUBE-SERVICES -j RETURN\nCOMMIT\n*filter\nCOMMIT\n"
        );
    }
}
