//! PDF through typst, with embedded Noto fonts (Latin, Cyrillic, Armenian),
//! deterministic for a given bulletin: no creation date, stable identifier.

use std::sync::OnceLock;

use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime, Smart};
use typst::syntax::{FileId, Source};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;

use crate::render::fmt_value;
use crate::sign::SignedBulletin;
use crate::svg::{chart, map};
use crate::{ReportError, SectionData};

const FONTS: [&[u8]; 4] = [
    include_bytes!("../fonts/NotoSans-Regular.ttf"),
    include_bytes!("../fonts/NotoSans-Bold.ttf"),
    include_bytes!("../fonts/NotoSansArmenian-Regular.ttf"),
    include_bytes!("../fonts/NotoSansArmenian-Bold.ttf"),
];

fn fonts() -> &'static Vec<Font> {
    static F: OnceLock<Vec<Font>> = OnceLock::new();
    F.get_or_init(|| {
        FONTS
            .iter()
            .flat_map(|b| Font::iter(Bytes::new(*b)))
            .collect()
    })
}

struct BulletinWorld {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    main: Source,
}

impl World for BulletinWorld {
    fn library(&self) -> &LazyHash<Library> {
        &self.library
    }
    fn book(&self) -> &LazyHash<FontBook> {
        &self.book
    }
    fn main(&self) -> FileId {
        self.main.id()
    }
    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            Ok(self.main.clone())
        } else {
            Err(FileError::AccessDenied)
        }
    }
    fn file(&self, _id: FileId) -> FileResult<Bytes> {
        Err(FileError::AccessDenied)
    }
    fn font(&self, index: usize) -> Option<Font> {
        fonts().get(index).cloned()
    }
    fn today(&self, _offset: Option<typst::foundations::Duration>) -> Option<Datetime> {
        None
    }
}

/// A typst string literal.
fn lit(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '"' => o.push_str("\\\""),
            '\n' => o.push_str("\\n"),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn section(o: &mut String, sec: &SectionData) {
    o.push_str(&format!("#heading(level: 2, {})\n", lit(&sec.title)));
    for line in &sec.sentences {
        o.push_str(&format!("#par({})\n", lit(line)));
    }
    if !sec.figures.is_empty() {
        o.push_str(
            "#table(columns: (1fr, auto, auto), [*Figure*], [*Value*], [*Previous period*],\n",
        );
        for f in &sec.figures {
            o.push_str(&format!(
                "  {}, {}, {},\n",
                lit(&f.label),
                lit(&fmt_value(f.value)),
                lit(&f.previous.map(fmt_value).unwrap_or_default())
            ));
        }
        o.push_str(")\n");
    }
    if let Some(c) = &sec.chart {
        o.push_str(&format!(
            "#image(bytes({}), format: \"svg\", width: 100%)\n",
            lit(&chart(c))
        ));
        o.push_str(&format!("#par(text(size: 8pt, {}))\n", lit(&c.title)));
    }
    if let Some(m) = &sec.map {
        o.push_str(&format!(
            "#image(bytes({}), format: \"svg\", width: 80%)\n",
            lit(&map(m))
        ));
        o.push_str(&format!(
            "#par(text(size: 8pt, {}))\n",
            lit(&crate::render::map_caption(m))
        ));
    }
    if let Some(t) = &sec.table {
        o.push_str(&format!("#table(columns: {}, ", t.columns.len()));
        for c in &t.columns {
            o.push_str(&format!("strong({}), ", lit(c)));
        }
        for r in &t.rows {
            for c in r {
                o.push_str(&format!("{}, ", lit(c)));
            }
        }
        o.push_str(")\n");
    }
}

fn markup(s: &SignedBulletin, signed_json: &str) -> String {
    let b = &s.bulletin;
    let mut o = String::new();
    o.push_str(&format!(
        "#set document(title: {}, date: none)\n",
        lit(&format!(
            "{} — bulletin {} to {}",
            b.mission, b.period.from, b.period.to
        ))
    ));
    o.push_str("#set page(paper: \"a4\", margin: 2cm)\n#set text(font: (\"Noto Sans\", \"Noto Sans Armenian\"), size: 10pt)\n");
    o.push_str("#show table: set text(size: 8.5pt)\n");
    o.push_str(&format!("#pdf.attach(\"bulletin.json\", bytes({}), mime-type: \"application/json\", description: \"Signed bulletin\")\n", lit(signed_json)));
    o.push_str(&format!(
        "#heading(level: 1, {})\n",
        lit(&format!("{} — daily bulletin", b.mission))
    ));
    o.push_str(&format!(
        "#par({})\n",
        lit(&format!(
            "Period {} to {} (UTC); previous period {} to {}.",
            b.period.from, b.period.to, b.previous.from, b.previous.to
        ))
    ));
    if let Some(n) = &b.notice {
        o.push_str(&format!(
            "#block(fill: rgb(\"#fff4ce\"), inset: 6pt, width: 100%, {})\n",
            lit(n)
        ));
    }
    for sec in &b.sections {
        section(&mut o, sec);
    }
    o.push_str(&format!(
        "#par(text(size: 8pt, {}))\n",
        lit(&format!(
            "Computed from journal entry {} (hash {}). Signed with Ed25519 key {}.",
            b.journal.seq, b.journal.hash, s.signature.public_key
        ))
    ));
    o
}

pub(crate) fn pdf(s: &SignedBulletin, signed_json: &str) -> Result<Vec<u8>, ReportError> {
    let world = BulletinWorld {
        library: LazyHash::new(Library::default()),
        book: LazyHash::new(FontBook::from_fonts(fonts())),
        main: Source::detached(markup(s, signed_json)),
    };
    let doc: PagedDocument = typst::compile(&world).output.map_err(|errs| {
        ReportError::Pdf(
            errs.iter()
                .map(|e| e.message.to_string())
                .collect::<Vec<_>>()
                .join("; "),
        )
    })?;
    let options = typst_pdf::PdfOptions {
        ident: Smart::Custom(s.bulletin.journal.hash.clone()),
        timestamp: None,
        ..Default::default()
    };
    typst_pdf::pdf(&doc, &options).map_err(|errs| {
        ReportError::Pdf(
            errs.iter()
                .map(|e| e.message.to_string())
                .collect::<Vec<_>>()
                .join("; "),
        )
    })
}
