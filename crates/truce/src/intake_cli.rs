//! `truce intake extract`: candidate facts from press releases, bulletins
//! and pages, one JSON object per line (see the `truce-intake` crate).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use truce_intake::{Document, Extractor, Format, RuleExtractor};

/// Subcommands of `truce intake`.
#[derive(Subcommand)]
pub enum IntakeCmd {
    /// Print candidate facts (quantities, places, dates, actors, events) as JSON Lines.
    Extract {
        /// Publication date (YYYY-MM-DD): resolves "on Thursday", "yesterday", "12 March".
        #[arg(long)]
        published: Option<jiff::civil::Date>,
        /// Treat every file as HTML (default: by extension, .html/.htm).
        #[arg(long)]
        html: bool,
        /// Text or HTML files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// Runs a `truce intake` subcommand.
pub fn run(cmd: IntakeCmd) -> Result<()> {
    match cmd {
        IntakeCmd::Extract {
            published,
            html,
            files,
        } => {
            let ex = RuleExtractor::default();
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            for file in files {
                let bytes =
                    std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
                let text = match String::from_utf8(bytes) {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!(
                            "warning: {} is not valid UTF-8; offsets refer to the text with invalid bytes replaced",
                            file.display()
                        );
                        String::from_utf8_lossy(e.as_bytes()).into_owned()
                    }
                };
                let name = file.display().to_string();
                let format = if html {
                    Format::Html
                } else {
                    Format::from_name(&name)
                };
                let doc = Document {
                    text: &text,
                    format,
                    published,
                };
                for fact in ex.extract(&doc) {
                    let mut v = serde_json::to_value(&fact)?;
                    if let Some(o) = v.as_object_mut() {
                        o.insert("file".into(), name.clone().into());
                    }
                    serde_json::to_writer(&mut out, &v)?;
                    out.write_all(b"\n")?;
                }
            }
            out.flush()?;
        }
    }
    Ok(())
}
