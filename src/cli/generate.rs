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
            // Into memory first: the generator panics on a write error (a closed pipe).
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "refguard", &mut script);
            let mut out = std::io::stdout().lock();
            out.write_all(&script)
                .and_then(|()| out.flush())
                .context("write the completion script")?;
        }
    }
    Ok(EXIT_OK)
}

/// Writes every page into `dir` and returns their paths, sorted: `refguard.1` and one page
/// per visible subcommand at every level, named after its path (`refguard-policy-lint.1`).
/// The same walk as `clap_mangen::generate_to`, with the footer naming refguard and its
/// version on every page, and the text after the options kept as written (it holds the hook
/// files and the environment table, which roff would otherwise run into one paragraph).
fn man_pages(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    let mut root = Cli::command();
    root.build();
    let source = format!("refguard {}", env!("CARGO_PKG_VERSION"));
    let mut pages = Vec::new();
    let mut todo = vec![root];
    while let Some(cmd) = todo.pop() {
        todo.extend(cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
        let page = clap_mangen::Man::new(cmd.clone())
            .source(source.clone())
            .manual("refguard manual");
        let path = dir.join(page.get_filename());
        let mut out = Vec::new();
        render(&page, &cmd, &mut out).with_context(|| format!("render {}", path.display()))?;
        std::fs::write(&path, out).with_context(|| format!("write {}", path.display()))?;
        pages.push(path);
    }
    pages.sort();
    Ok(pages)
}

/// One page: clap_mangen's sections, with the after-help text as a NOTES section in
/// no-fill mode.
fn render(
    page: &clap_mangen::Man,
    cmd: &clap::Command,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    page.render_title(out)?;
    page.render_name_section(out)?;
    page.render_synopsis_section(out)?;
    page.render_description_section(out)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        page.render_options_section(out)?;
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        page.render_subcommands_section(out)?;
    }
    if let Some(notes) = cmd.get_after_long_help().or_else(|| cmd.get_after_help()) {
        let mut roff = roff::Roff::new();
        roff.control("SH", ["NOTES"]).control("nf", []);
        for line in notes.to_string().lines() {
            roff.text([roff::roman(line)]);
        }
        roff.control("fi", []);
        roff.to_writer(out)?;
    }
    if cmd.get_version().is_some() {
        page.render_version_section(out)?;
    }
    Ok(())
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
