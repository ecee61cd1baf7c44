//! Renderings of a signed bulletin. Each embeds the signed JSON and is a
//! pure function of it, so verification can re-render and compare bytes.

use std::fmt::Write;

use crate::sign::SignedBulletin;
use crate::svg::{chart, esc, map};
use crate::{ReportError, SectionData};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The signed JSON itself.
    Json,
    /// Markdown with the signed JSON in a fenced block at the end.
    Md,
    /// Self-contained HTML (inline CSS and SVG) with the signed JSON inside.
    Html,
    /// PDF typeset by typst with embedded fonts; the signed JSON is attached.
    Pdf,
}

impl Format {
    /// Parses `json|md|html|pdf`.
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "json" => Some(Format::Json),
            "md" | "markdown" => Some(Format::Md),
            "html" => Some(Format::Html),
            "pdf" => Some(Format::Pdf),
            _ => None,
        }
    }

    /// The usual file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Md => "md",
            Format::Html => "html",
            Format::Pdf => "pdf",
        }
    }

    /// The MIME type.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Md => "text/markdown; charset=utf-8",
            Format::Html => "text/html; charset=utf-8",
            Format::Pdf => "application/pdf",
        }
    }
}

const MD_FENCE: &str = "```json truce-signed-bulletin\n";
const HTML_OPEN: &str = "<script type=\"application/json\" id=\"truce-signed-bulletin\">";

fn signed_json(s: &SignedBulletin) -> String {
    serde_json::to_string_pretty(s).expect("bulletins serialise")
}

/// A figure as printed: whole numbers without decimals, others with two.
pub(crate) fn fmt_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.2}")
    }
}

/// Renders `s` in `format`.
pub fn render(s: &SignedBulletin, format: Format) -> Result<Vec<u8>, ReportError> {
    Ok(match format {
        Format::Json => {
            let mut j = signed_json(s);
            j.push('\n');
            j.into_bytes()
        }
        Format::Md => markdown(s).into_bytes(),
        Format::Html => html(s).into_bytes(),
        Format::Pdf => crate::pdf::pdf(s, &signed_json(s))?,
    })
}

/// Finds the signed bulletin inside a rendering.
pub fn extract_signed(bytes: &[u8], format: Format) -> Result<SignedBulletin, ReportError> {
    let bad = |m: &str| ReportError::Mismatch(m.to_string());
    let text = std::str::from_utf8(bytes).map_err(|_| bad("the file is not UTF-8 text"))?;
    let json = match format {
        Format::Json => text.to_string(),
        Format::Md => {
            let start = text
                .rfind(MD_FENCE)
                .ok_or_else(|| bad("no signed bulletin block found"))?
                + MD_FENCE.len();
            let end = text[start..]
                .find("\n```")
                .ok_or_else(|| bad("unterminated signed bulletin block"))?;
            text[start..start + end].to_string()
        }
        Format::Html => {
            let start = text
                .find(HTML_OPEN)
                .ok_or_else(|| bad("no signed bulletin found in the page"))?
                + HTML_OPEN.len();
            let end = text[start..]
                .find("</script>")
                .ok_or_else(|| bad("unterminated signed bulletin"))?;
            text[start..start + end].replace("<\\/", "</")
        }
        Format::Pdf => {
            return Err(bad(
                "read the signed JSON beside the PDF (same name, .json)",
            ));
        }
    };
    serde_json::from_str(&json).map_err(|e| bad(&format!("the signed bulletin is not valid: {e}")))
}

fn markdown(s: &SignedBulletin) -> String {
    let b = &s.bulletin;
    let mut o = String::new();
    let _ = writeln!(o, "# {} — daily bulletin\n", b.mission);
    let _ = writeln!(
        o,
        "Period: {} to {} (UTC). Previous period: {} to {}.\n",
        b.period.from, b.period.to, b.previous.from, b.previous.to
    );
    if let Some(n) = &b.notice {
        let _ = writeln!(o, "> {n}\n");
    }
    for sec in &b.sections {
        md_section(&mut o, sec);
    }
    let _ = writeln!(
        o,
        "---\n\nComputed from journal entry {} (hash {}). Signed with Ed25519 key {}.\n",
        b.journal.seq, b.journal.hash, s.signature.public_key
    );
    let _ = write!(o, "{MD_FENCE}{}\n```\n", signed_json(s));
    o
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn md_section(o: &mut String, sec: &SectionData) {
    let _ = writeln!(o, "## {}\n", sec.title);
    for line in &sec.sentences {
        let _ = writeln!(o, "{line}\n");
    }
    if !sec.figures.is_empty() {
        let _ = writeln!(o, "| Figure | Value | Previous period |\n|---|---:|---:|");
        for f in &sec.figures {
            let _ = writeln!(
                o,
                "| {} | {} | {} |",
                md_cell(&f.label),
                fmt_value(f.value),
                f.previous.map(fmt_value).unwrap_or_default()
            );
        }
        o.push('\n');
    }
    if let Some(t) = &sec.table {
        let _ = writeln!(
            o,
            "| {} |",
            t.columns
                .iter()
                .map(|c| md_cell(c))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        let _ = writeln!(o, "|{}", "---|".repeat(t.columns.len()));
        for r in &t.rows {
            let _ = writeln!(
                o,
                "| {} |",
                r.iter().map(|c| md_cell(c)).collect::<Vec<_>>().join(" | ")
            );
        }
        o.push('\n');
    }
}

const CSS: &str = "body{font-family:'Noto Sans','Noto Sans Armenian','DejaVu Sans',sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a;line-height:1.45}h1{font-size:1.6rem}h2{font-size:1.2rem;border-bottom:1px solid #ccc;padding-bottom:.2rem;margin-top:2rem}table{border-collapse:collapse;margin:.6rem 0;width:100%}th,td{border:1px solid #ccc;padding:.25rem .45rem;text-align:left;vertical-align:top}td.n{text-align:right}.notice{background:#fff4ce;border:1px solid #e0c060;padding:.5rem .8rem}.meta{color:#444;font-size:.9rem}figure{margin:.8rem 0}svg{max-width:100%;height:auto}";

/// What the map shows, in words, from the classes it draws.
pub(crate) fn map_caption(m: &crate::MapFigure) -> String {
    if m.areas.iter().any(|a| a.2 == "hazard") {
        "Areas of responsibility (blue), open hazard areas (brown) and the period's recorded violations (red).".into()
    } else {
        "Areas of responsibility and the period's recorded violations.".into()
    }
}

fn html(s: &SignedBulletin) -> String {
    let b = &s.bulletin;
    let mut o = String::new();
    let _ = write!(
        o,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{} — bulletin {} to {}</title><style>{CSS}</style></head><body>\n",
        esc(&b.mission),
        b.period.from,
        b.period.to
    );
    let _ = writeln!(o, "<h1>{} — daily bulletin</h1>", esc(&b.mission));
    let _ = writeln!(
        o,
        "<p class=\"meta\">Period {} to {} (UTC); previous period {} to {}.</p>",
        b.period.from, b.period.to, b.previous.from, b.previous.to
    );
    if let Some(n) = &b.notice {
        let _ = writeln!(o, "<p class=\"notice\">{}</p>", esc(n));
    }
    for sec in &b.sections {
        let _ = writeln!(
            o,
            "<section id=\"{}\"><h2>{}</h2>",
            esc(&sec.id),
            esc(&sec.title)
        );
        for line in &sec.sentences {
            let _ = writeln!(o, "<p>{}</p>", esc(line));
        }
        if !sec.figures.is_empty() {
            o.push_str("<table><thead><tr><th>Figure</th><th>Value</th><th>Previous period</th></tr></thead><tbody>\n");
            for f in &sec.figures {
                let _ = writeln!(
                    o,
                    "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                    esc(&f.label),
                    fmt_value(f.value),
                    f.previous.map(fmt_value).unwrap_or_default()
                );
            }
            o.push_str("</tbody></table>\n");
        }
        if let Some(c) = &sec.chart {
            let _ = writeln!(
                o,
                "<figure>{}<figcaption>{}</figcaption></figure>",
                chart(c),
                esc(&c.title)
            );
        }
        if let Some(m) = &sec.map {
            let _ = writeln!(
                o,
                "<figure>{}<figcaption>{}</figcaption></figure>",
                map(m),
                esc(&map_caption(m))
            );
        }
        if let Some(t) = &sec.table {
            o.push_str("<table><thead><tr>");
            for c in &t.columns {
                let _ = write!(o, "<th>{}</th>", esc(c));
            }
            o.push_str("</tr></thead><tbody>\n");
            for r in &t.rows {
                o.push_str("<tr>");
                for c in r {
                    let _ = write!(o, "<td>{}</td>", esc(c));
                }
                o.push_str("</tr>\n");
            }
            o.push_str("</tbody></table>\n");
        }
        o.push_str("</section>\n");
    }
    let _ = writeln!(
        o,
        "<p class=\"meta\">Computed from journal entry {} (hash <code>{}</code>). Signed with Ed25519 key <code>{}</code>. Check with <code>truce bulletin verify</code>.</p>",
        b.journal.seq, b.journal.hash, s.signature.public_key
    );
    let _ = write!(
        o,
        "{HTML_OPEN}{}</script>\n</body></html>\n",
        signed_json(s).replace("</", "<\\/")
    );
    o
}
