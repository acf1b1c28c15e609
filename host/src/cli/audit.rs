//! `isotherm audit verify`: the audit trail checked end to end.

use std::path::PathBuf;

use clap::Subcommand;

use super::EXIT_FAILED;

#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Re-hash every record: exit 0 when the chain and every checkpoint hold, 1 naming
    /// the first record that does not (edited, removed, reordered, or a cut-off tail).
    Verify {
        /// The log (default: $ISOTHERM_AUDIT_LOG or ~/.local/state/isotherm/audit.jsonl).
        log: Option<PathBuf>,
    },
}

pub fn audit(action: &AuditAction) -> i32 {
    match action {
        AuditAction::Verify { log } => {
            let log = log.as_deref().map(crate::audit::Log::new).unwrap_or_else(crate::audit::log);
            match log.verify() {
                Ok(v) => {
                    println!("{}: {} record(s) intact, {} checkpoint(s) hold; tree head {}", log.path().display(), v.records, v.checkpoints, v.root);
                    if v.unchecked > 0 {
                        println!(
                            "  the last {} record(s) are after the last checkpoint (an append was interrupted): only the chain vouches for them",
                            v.unchecked
                        );
                    }
                    if v.incomplete_tail {
                        println!("  the last line is an incomplete record (a writer was interrupted); the next append removes it");
                    }
                    0
                }
                Err(e) => {
                    eprintln!("error: audit log: {e}");
                    EXIT_FAILED
                }
            }
        }
    }
}
