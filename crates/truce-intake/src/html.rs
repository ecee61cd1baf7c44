//! HTML to text without losing where each character came from.
//!
//! A small tokenizer rather than a DOM parser (html5ever) because every
//! fact must point back at byte offsets of the page, which a DOM does not
//! keep. It skips scripts, styles, comments and page furniture: `nav`,
//! `aside`, `footer`, `form`, site headers, elements whose class or id says
//! `related`, `share`, `newsletter`, `author-bio`, ..., and blocks that
//! start with "Previous article", "Also read", "Read more", "©" and the like.

/// Text of an HTML page with a map back to the page's byte offsets.
#[derive(Debug, Clone)]
pub struct Stripped {
    /// The visible article text; blocks separated by blank lines.
    pub text: String,
    segs: Vec<Seg>,
}

/// `text[text_start..next.text_start]` came from `src[src_start..src_end]`.
#[derive(Debug, Clone, Copy)]
struct Seg {
    text_start: usize,
    src_start: usize,
    src_end: usize,
    verbatim: bool,
}

impl Stripped {
    /// Maps a span of [`Stripped::text`] to a span of the page (char boundaries).
    pub fn source_span(&self, start: usize, end: usize) -> (usize, usize) {
        let s = self.map_start(start);
        let e = self.map_end(end).max(s);
        (s, e)
    }

    fn seg_index(&self, off: usize) -> Option<usize> {
        let n = self.segs.partition_point(|s| s.text_start <= off);
        n.checked_sub(1)
    }

    fn map_start(&self, off: usize) -> usize {
        match self.seg_index(off) {
            None => 0,
            Some(i) => {
                let s = self.segs[i];
                if s.verbatim {
                    (s.src_start + (off - s.text_start)).min(s.src_end)
                } else {
                    s.src_start
                }
            }
        }
    }

    fn map_end(&self, off: usize) -> usize {
        if off == 0 {
            return self.map_start(0);
        }
        match self.seg_index(off - 1) {
            None => 0,
            Some(i) => {
                let s = self.segs[i];
                if s.verbatim {
                    (s.src_start + (off - s.text_start)).min(s.src_end)
                } else {
                    s.src_end
                }
            }
        }
    }
}

const SKIP_TAGS: &[&str] = &[
    "script", "style", "noscript", "nav", "aside", "footer", "form", "iframe", "svg", "button",
    "select", "head", "template", "menu", "dialog", "object", "textarea",
];
const RAW_TAGS: &[&str] = &["script", "style", "textarea", "title"];
const VOID_TAGS: &[&str] = &[
    "br", "img", "hr", "meta", "link", "input", "area", "base", "col", "embed", "source", "track",
    "wbr", "param",
];
const BLOCK_TAGS: &[&str] = &[
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "td",
    "th",
    "table",
    "section",
    "article",
    "blockquote",
    "hr",
    "dd",
    "dt",
    "dl",
    "figcaption",
    "figure",
    "main",
    "header",
    "pre",
    "address",
    "body",
    "html",
    "time",
];
const FURNITURE_MARKERS: &[&str] = &[
    "nav",
    "menu",
    "sidebar",
    "related",
    "also-read",
    "alsoread",
    "read-also",
    "readalso",
    "share",
    "social",
    "newsletter",
    "subscribe",
    "advert",
    "ad-slot",
    "adslot",
    "banner",
    "promo",
    "comment",
    "breadcrumb",
    "cookie",
    "author-bio",
    "authorbio",
    "publisher",
    "widget",
    "tags",
    "prev",
    "next-post",
    "pagination",
    "popular",
    "most-read",
    "recommend",
    "footer",
    "masthead",
    "site-header",
    "about-us",
    "copyright",
];
const FURNITURE_PREFIXES: &[&str] = &[
    "previous article",
    "next article",
    "previous post",
    "next post",
    "also read",
    "read also",
    "read more",
    "see also",
    "related:",
    "related articles",
    "related news",
    "related stories",
    "you may also like",
    "more from",
    "most read",
    "subscribe",
    "share this",
    "share:",
    "follow us",
    "sign up",
    "advertisement",
    "©",
    "copyright",
    "tags:",
    "about the publisher",
    "about the author",
    "about us",
];

struct Builder<'a> {
    src: &'a str,
    text: String,
    segs: Vec<Seg>,
    block_text: usize,
    block_segs: usize,
    pending_space: Option<(usize, usize)>,
}

impl Builder<'_> {
    fn push(&mut self, s: &str, src_start: usize, src_end: usize, verbatim: bool) {
        if s.is_empty() {
            return;
        }
        if let Some((a, b)) = self.pending_space.take()
            && self.text.len() > self.block_text
        {
            self.segs.push(Seg {
                text_start: self.text.len(),
                src_start: a,
                src_end: b,
                verbatim: false,
            });
            self.text.push(' ');
        }
        self.segs.push(Seg {
            text_start: self.text.len(),
            src_start,
            src_end,
            verbatim,
        });
        self.text.push_str(s);
    }

    fn space(&mut self, a: usize, b: usize) {
        if self.pending_space.is_none() {
            self.pending_space = Some((a, b));
        }
    }

    /// Ends the current block at source offset `at`: drops it when it is
    /// furniture, else separates it from the next by a blank line.
    fn end_block(&mut self, at: usize) {
        self.pending_space = None;
        if self.text.len() == self.block_text {
            return;
        }
        let block = self.text[self.block_text..].trim_start();
        let lower: String = block.chars().take(40).collect::<String>().to_lowercase();
        let furniture = FURNITURE_PREFIXES.iter().any(|p| lower.starts_with(p))
            || block.to_lowercase().contains("all rights reserved");
        if furniture {
            self.text.truncate(self.block_text);
            self.segs.truncate(self.block_segs);
        }
        if !self.text.is_empty() && !self.text.ends_with("\n\n") {
            self.segs.push(Seg {
                text_start: self.text.len(),
                src_start: at,
                src_end: at,
                verbatim: false,
            });
            self.text.push_str("\n\n");
        }
        self.block_text = self.text.len();
        self.block_segs = self.segs.len();
        let _ = self.src;
    }
}

fn find_ci(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || from >= hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
        .map(|p| p + from)
}

/// The next char boundary at or after `i`.
fn boundary(s: &str, mut i: usize) -> usize {
    while i < s.len() && !s.is_char_boundary(i) {
        i += 1;
    }
    i.min(s.len())
}

struct Tag<'a> {
    name: String,
    closing: bool,
    self_closing: bool,
    attrs: &'a str,
    end: usize,
}

fn parse_tag(src: &str, i: usize) -> Option<Tag<'_>> {
    let b = src.as_bytes();
    let mut k = i + 1;
    let closing = b.get(k) == Some(&b'/');
    if closing {
        k += 1;
    }
    let name_start = k;
    while k < b.len() && (b[k].is_ascii_alphanumeric() || b[k] == b'-' || b[k] == b':') {
        k += 1;
    }
    if k == name_start || !b[name_start].is_ascii_alphabetic() {
        return None;
    }
    let name = src[name_start..k].to_ascii_lowercase();
    let attrs_start = k;
    let mut quote = 0u8;
    while k < b.len() {
        let c = b[k];
        if quote != 0 {
            if c == quote {
                quote = 0;
            }
        } else if c == b'"' || c == b'\'' {
            quote = c;
        } else if c == b'>' {
            break;
        }
        k += 1;
    }
    let end = (k + 1).min(b.len());
    let attrs = &src[attrs_start..k.min(b.len())];
    let self_closing = attrs.trim_end().ends_with('/');
    Some(Tag {
        name,
        closing,
        self_closing,
        attrs,
        end,
    })
}

fn furniture_attrs(attrs: &str) -> bool {
    let l = attrs.to_ascii_lowercase();
    for key in ["class=", "id=", "role="] {
        let mut from = 0;
        while let Some(p) = l[from..].find(key) {
            let start = from + p + key.len();
            let rest = &l[start..];
            let val = match rest.as_bytes().first() {
                Some(&q @ (b'"' | b'\'')) => rest[1..].split(q as char).next().unwrap_or(""),
                _ => rest.split([' ', '>']).next().unwrap_or(""),
            };
            if FURNITURE_MARKERS.iter().any(|m| val.contains(m))
                || (key == "role="
                    && matches!(
                        val,
                        "navigation" | "complementary" | "contentinfo" | "banner"
                    ))
            {
                return true;
            }
            from = start;
        }
    }
    false
}

fn entity(src: &str, i: usize) -> Option<(char, usize)> {
    let rest = &src[i + 1..];
    let semi = rest.bytes().take(12).position(|c| c == b';')?;
    let name = &rest[..semi];
    let c = if let Some(num) = name.strip_prefix('#') {
        let v = if let Some(h) = num.strip_prefix(['x', 'X']) {
            u32::from_str_radix(h, 16).ok()?
        } else {
            num.parse().ok()?
        };
        char::from_u32(v).filter(|c| *c != '\0')?
    } else {
        match name {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            "nbsp" => ' ',
            "ndash" => '–',
            "mdash" => '—',
            "lsquo" => '‘',
            "rsquo" => '’',
            "ldquo" => '“',
            "rdquo" => '”',
            "laquo" => '«',
            "raquo" => '»',
            "hellip" => '…',
            "middot" => '·',
            "copy" => '©',
            "deg" => '°',
            "sup2" => '²',
            "times" => '×',
            "euro" => '€',
            "shy" => '\u{ad}',
            _ => return None,
        }
    };
    Some((c, i + 1 + semi + 1))
}

/// Strips tags and page furniture, keeping a map back to the page.
pub fn strip_html(src: &str) -> Stripped {
    let b = src.as_bytes();
    let mut out = Builder {
        src,
        text: String::with_capacity(src.len() / 2),
        segs: Vec::new(),
        block_text: 0,
        block_segs: 0,
        pending_space: None,
    };
    // Skipping: (tag name, depth of that tag).
    let mut skip: Option<(String, usize)> = None;
    let mut article_depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'<' {
            if b[i..].starts_with(b"<!--") {
                i = find_ci(b, i + 4, b"-->").map(|p| p + 3).unwrap_or(b.len());
                continue;
            }
            if matches!(b.get(i + 1), Some(b'!' | b'?')) {
                i = b[i..]
                    .iter()
                    .position(|&c| c == b'>')
                    .map(|p| i + p + 1)
                    .unwrap_or(b.len());
                continue;
            }
            if let Some(tag) = parse_tag(src, i) {
                let name = tag.name.as_str();
                if let Some((sname, depth)) = skip.as_mut() {
                    if name == sname && !VOID_TAGS.contains(&name) && !tag.self_closing {
                        if tag.closing {
                            *depth -= 1;
                            if *depth == 0 {
                                skip = None;
                                out.end_block(i);
                            }
                        } else {
                            *depth += 1;
                        }
                    }
                    i = tag.end;
                    continue;
                }
                if !tag.closing && RAW_TAGS.contains(&name) {
                    // Skip to the closing tag of raw-text elements.
                    let close = format!("</{name}");
                    let stop = find_ci(b, tag.end, close.as_bytes()).unwrap_or(b.len());
                    i = b[stop..]
                        .iter()
                        .position(|&c| c == b'>')
                        .map(|p| stop + p + 1)
                        .unwrap_or(b.len());
                    out.end_block(tag.end.min(b.len()));
                    continue;
                }
                if name == "article" || name == "main" {
                    if tag.closing {
                        article_depth = article_depth.saturating_sub(1);
                    } else {
                        article_depth += 1;
                    }
                }
                let skip_this = !tag.closing
                    && !tag.self_closing
                    && !VOID_TAGS.contains(&name)
                    && (SKIP_TAGS.contains(&name)
                        || (name == "header" && article_depth == 0)
                        || furniture_attrs(tag.attrs));
                if BLOCK_TAGS.contains(&name) || skip_this {
                    out.end_block(i);
                }
                if skip_this {
                    skip = Some((name.to_string(), 1));
                }
                i = tag.end;
                continue;
            }
        }
        if skip.is_some() {
            i = boundary(src, i + 1);
            continue;
        }
        if c == b'&'
            && let Some((ch, end)) = entity(src, i)
        {
            if ch.is_whitespace() {
                out.space(i, end);
            } else if ch != '\u{ad}' {
                let mut buf = [0u8; 4];
                out.push(ch.encode_utf8(&mut buf), i, end, false);
            }
            i = end;
            continue;
        }
        if c.is_ascii_whitespace() {
            let mut k = i;
            while k < b.len() && b[k].is_ascii_whitespace() {
                k += 1;
            }
            out.space(i, k);
            i = k;
            continue;
        }
        let mut k = i + 1;
        while k < b.len() && !matches!(b[k], b'<' | b'&') && !b[k].is_ascii_whitespace() {
            k += 1;
        }
        let k = boundary(src, k);
        out.push(&src[i..k], i, k, true);
        i = k;
    }
    out.end_block(b.len());
    while out.text.ends_with('\n') {
        out.text.pop();
    }
    // Drop separator segments past the end of the text.
    let len = out.text.len();
    out.segs.retain(|s| s.text_start < len);
    Stripped {
        text: out.text,
        segs: out.segs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_furniture_and_maps_offsets() {
        let page = "<html><head><title>T</title></head><body><nav>Home | News</nav>\
            <article><h1>Convoy &amp; aid</h1><p>It brought <b>120</b> tonnes.</p>\
            <p>Also read: 500 tonnes elsewhere</p></article>\
            <div class=\"related-posts\">Previous article 9 tonnes</div></body></html>";
        let s = strip_html(page);
        assert_eq!(s.text, "Convoy & aid\n\nIt brought 120 tonnes.");
        let at = s.text.find("120").unwrap();
        let (a, e) = s.source_span(at, at + 3);
        assert_eq!(&page[a..e], "120");
        let at = s.text.find("120 tonnes").unwrap();
        let (a, e) = s.source_span(at, at + "120 tonnes".len());
        assert_eq!(&page[a..e], "120</b> tonnes");
        let amp = s.text.find('&').unwrap();
        let (a, e) = s.source_span(amp, amp + 1);
        assert_eq!(&page[a..e], "&amp;");
    }
}
