//! `refguard generate`: man pages and shell completions generated from the clap definitions
//! of this very binary, so they can never disagree with `--help` (one source of truth).
//! Hidden from help and completions: it is for `install.sh`, packagers and CI.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{CommandFactory, Subcommand};
use clap_complete::Shell;

use super::{Cli, EXIT_OK};

/// What to generate.
#[derive(Debug, Subcommand)]
pub enum GenerateCommand {
    /// Write refguard.1 and one page per subcommand (refguard-audit-verify.1, ...) into DIR,
    /// creating it if needed.
    Man {
        /// The directory to write the pages to, e.g. PREFIX/share/man/man1.
        dir: PathBuf,
    },
    /// Print the completion script for SHELL on standard output.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: Shell,
    },
}

/// Runs `refguard generate`.
pub fn run(what: GenerateCommand) -> anyhow::Result<u8> {
    match what {
        GenerateCommand::Man { dir } => {
            let pages = man_pages(&dir)?;
            for page in pages {
                println!("{}", page.display());
            }
        }
        GenerateCommand::Completions { shell } => {
            let mut out = std::io::stdout().lock();
            clap_complete::generate(shell, &mut Cli::command(), "refguard", &mut out);
            out.flush().context("write the completion script")?;
        }
    }
    Ok(EXIT_OK)
}

/// Writes every page into `dir` and returns their paths, sorted: `refguard.1` and one page
/// per visible subcommand at every level, named after its path (`refguard-policy-lint.1`).
fn man_pages(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    clap_mangen::generate_to(Cli::command(), dir)
        .with_context(|| format!("write man pages into {}", dir.display()))?;
    let mut pages: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("refguard") && n.ends_with(".1"))
        })
        .collect();
    pages.sort();
    Ok(pages)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every visible command at every level has a page, and no page is about `help` or a
    /// hidden command: new subcommands get their page without anyone editing a list.
    #[test]
    fn one_page_per_visible_command() {
        fn names(cmd: &clap::Command, prefix: &str, out: &mut Vec<String>) {
            out.push(format!("{prefix}.1"));
            for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
                names(sub, &format!("{prefix}-{}", sub.get_name()), out);
            }
        }
        let mut want = Vec::new();
        names(&Cli::command(), "refguard", &mut want);
        want.sort();
        let dir = tempfile::tempdir().expect("temp dir");
        let pages = man_pages(dir.path()).expect("pages");
        let got: Vec<String> = pages
            .iter()
            .map(|p| p.file_name().expect("name").to_string_lossy().into_owned())
            .collect();
        assert_eq!(got, want);
        assert!(
            got.contains(&"refguard-audit-verify.1".to_string()),
            "{got:?}"
        );
        assert!(
            !got.iter()
                .any(|n| n.contains("help") || n.contains("generate"))
        );
        let top = std::fs::read_to_string(dir.path().join("refguard.1")).expect("read");
        assert!(
            top.starts_with(".ie \\n(.g .ds Aq") || top.contains(".TH refguard 1"),
            "{top}"
        );
        assert!(top.contains("refguard\\-audit(1)"), "{top}");
    }
}
