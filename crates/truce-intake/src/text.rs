//! Tokens, sentences and numbers: the one pass every extractor reads.
//!
//! Tokens are byte ranges of the input, so every span built from them lies
//! on char boundaries. Keyword tests use an ASCII-lowercased copy of the
//! text (same byte offsets, still valid UTF-8).

use std::ops::Range;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tk {
    /// Letters and digits starting with a letter (or a non-ASCII alphanumeric).
    Word,
    /// Digits with thousands or decimal separators (`1,200.5`, `12.03.2024`).
    Num,
    /// Any other single character.
    Punct,
}

/// One token: a byte range and what precedes it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Token {
    pub start: usize,
    pub end: usize,
    pub kind: Tk,
    /// Newlines in the whitespace before the token (saturating).
    pub nl: u8,
    /// Whitespace directly before the token.
    pub space: bool,
}

/// A tokenised text with sentence boundaries.
pub(crate) struct Text<'a> {
    pub src: &'a str,
    lower: String,
    pub toks: Vec<Token>,
    /// Token index ranges, one per sentence.
    pub sents: Vec<Range<usize>>,
}

fn is_apos(c: char) -> bool {
    matches!(c, '\'' | '’' | 'ʼ' | 'ʻ' | '`')
}

impl<'a> Text<'a> {
    pub fn new(src: &'a str) -> Self {
        let toks = tokenize(src);
        let lower = src.to_ascii_lowercase();
        let mut t = Text {
            src,
            lower,
            toks,
            sents: Vec::new(),
        };
        t.sents = t.split_sentences();
        t
    }

    /// The token as written.
    pub fn tok(&self, i: usize) -> &'a str {
        let t = self.toks[i];
        &self.src[t.start..t.end]
    }

    /// The token with ASCII letters lowercased.
    pub fn low(&self, i: usize) -> &str {
        let t = self.toks[i];
        &self.lower[t.start..t.end]
    }

    /// The token as gazetteer and actor keys are written (lowercase, one apostrophe).
    pub fn norm(&self, i: usize) -> std::borrow::Cow<'_, str> {
        let w = self.tok(i);
        if w.is_ascii() && !w.contains(['`']) {
            std::borrow::Cow::Borrowed(self.low(i))
        } else {
            std::borrow::Cow::Owned(crate::gazetteer::norm_token(w))
        }
    }

    /// The lowercased token, or "" past the end.
    pub fn low_at(&self, i: usize) -> &str {
        if i < self.toks.len() { self.low(i) } else { "" }
    }

    pub fn is(&self, i: usize, words: &[&str]) -> bool {
        i < self.toks.len() && words.contains(&self.low(i))
    }

    pub fn kind(&self, i: usize) -> Option<Tk> {
        self.toks.get(i).map(|t| t.kind)
    }

    /// True when the token starts with an uppercase letter or a letter of a
    /// script without case (Georgian, Arabic, CJK...).
    pub fn capitalised(&self, i: usize) -> bool {
        let c = self.tok(i).chars().next().unwrap_or(' ');
        c.is_uppercase() || (c.is_alphabetic() && !c.is_lowercase())
    }

    fn split_sentences(&self) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        let n = self.toks.len();
        let mut start = 0;
        for i in 0..n {
            if i > start {
                let t = self.toks[i];
                let boundary_before = t.nl >= 2
                    || (t.nl == 1 && {
                        let c = self.tok(i).chars().next().unwrap_or(' ');
                        !c.is_lowercase()
                    });
                if boundary_before {
                    out.push(start..i);
                    start = i;
                }
            }
            let t = self.toks[i];
            if t.kind == Tk::Punct && i + 1 < n {
                let c = self.src.as_bytes()[t.start];
                let next = self.toks[i + 1];
                if matches!(c, b'.' | b'!' | b'?') && next.space && next.nl == 0 {
                    let nc = self.tok(i + 1).chars().next().unwrap_or(' ');
                    let starts_new = nc.is_uppercase()
                        || nc.is_ascii_digit()
                        || matches!(nc, '"' | '“' | '«' | '(' | '\'' | '‘');
                    if starts_new && !(c == b'.' && i > 0 && self.abbreviation(i - 1)) {
                        out.push(start..i + 1);
                        start = i + 1;
                    }
                }
            }
        }
        if start < n {
            out.push(start..n);
        }
        out
    }

    fn abbreviation(&self, i: usize) -> bool {
        if self.toks[i].kind != Tk::Word || self.toks[i].end != self.toks[i + 1].start {
            return false;
        }
        let w = self.tok(i);
        (w.chars().count() == 1 && w.chars().all(|c| c.is_uppercase()))
            || matches!(
                self.low(i),
                "mr" | "mrs"
                    | "ms"
                    | "dr"
                    | "gen"
                    | "col"
                    | "lt"
                    | "maj"
                    | "capt"
                    | "sgt"
                    | "st"
                    | "no"
                    | "nos"
                    | "approx"
                    | "vs"
                    | "etc"
                    | "jan"
                    | "feb"
                    | "aug"
                    | "sept"
                    | "oct"
                    | "nov"
                    | "dec"
                    | "e.g"
                    | "i.e"
                    | "u.s"
                    | "prof"
                    | "sq"
            )
    }
}

fn tokenize(s: &str) -> Vec<Token> {
    let b = s.as_bytes();
    let mut toks = Vec::with_capacity(s.len() / 5 + 1);
    let mut i = 0;
    let mut nl: u8 = 0;
    let mut space = false;
    while i < b.len() {
        let c = b[i];
        let (end, kind) = if c < 128 {
            match c {
                b'\n' => {
                    nl = nl.saturating_add(1);
                    space = true;
                    i += 1;
                    continue;
                }
                b' ' | b'\t' | b'\r' | 0x0b | 0x0c => {
                    space = true;
                    i += 1;
                    continue;
                }
                b'0'..=b'9' => (scan_number(b, i), Tk::Num),
                _ if c.is_ascii_alphabetic() => (scan_word(s, i), Tk::Word),
                _ => (i + 1, Tk::Punct),
            }
        } else {
            let ch = s[i..].chars().next().unwrap_or(' ');
            let l = ch.len_utf8();
            if ch.is_whitespace() {
                if matches!(ch, '\u{2028}' | '\u{2029}' | '\u{85}') {
                    nl = nl.saturating_add(1);
                }
                space = true;
                i += l;
                continue;
            }
            if ch.is_alphanumeric() {
                (scan_word(s, i), Tk::Word)
            } else {
                (i + l, Tk::Punct)
            }
        };
        toks.push(Token {
            start: i,
            end,
            kind,
            nl,
            space,
        });
        nl = 0;
        space = false;
        i = end;
    }
    toks
}

/// Digits, then groups of a separator and digits. Narrow and no-break
/// spaces count as thousands separators before exactly three digits.
fn scan_number(b: &[u8], mut i: usize) -> usize {
    let digits = |b: &[u8], mut j: usize| {
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        j
    };
    i = digits(b, i);
    loop {
        if i + 1 < b.len() && matches!(b[i], b',' | b'.') && b[i + 1].is_ascii_digit() {
            i = digits(b, i + 1);
            continue;
        }
        // U+00A0 (C2 A0) and U+202F (E2 80 AF) before three digits.
        let sep = if b[i..].starts_with(&[0xC2, 0xA0]) {
            2
        } else if b[i..].starts_with(&[0xE2, 0x80, 0xAF]) {
            3
        } else {
            0
        };
        if sep > 0 {
            let d = digits(b, i + sep);
            if d - (i + sep) == 3 {
                i = d;
                continue;
            }
        }
        return i;
    }
}

/// Alphanumerics, with apostrophes inside (`Step'anakert`), but a
/// possessive `'s` at the end stays a separate token.
fn scan_word(s: &str, start: usize) -> usize {
    let it = s[start..].char_indices();
    let mut end = start;
    for (off, c) in it {
        if c.is_alphanumeric() {
            end = start + off + c.len_utf8();
            continue;
        }
        if is_apos(c) && end == start + off {
            let rest = &s[start + off + c.len_utf8()..];
            let mut r = rest.chars();
            match r.next() {
                Some(n) if n.is_alphabetic() => {
                    if matches!(n, 's' | 'S') && !r.next().is_some_and(|x| x.is_alphanumeric()) {
                        break;
                    }
                    end = start + off + c.len_utf8();
                    continue;
                }
                _ => break,
            }
        }
        // Combining marks (e.g. the dot of a lowercased İ) stay in the word.
        if ('\u{300}'..='\u{36f}').contains(&c) && end == start + off {
            end = start + off + c.len_utf8();
            continue;
        }
        break;
    }
    end
}

/// The value of a numeric token: `1,200`, `1.5`, `12 000` (no-break
/// space), European `2,5`. `None` for date-like tokens (`12.03.2024`).
pub(crate) fn num_value(s: &str) -> Option<f64> {
    let groups: Vec<&str> = s
        .split([',', '.', '\u{a0}', '\u{202f}'])
        .filter(|g| !g.is_empty())
        .collect();
    let seps: Vec<char> = s
        .chars()
        .filter(|c| matches!(c, ',' | '.' | '\u{a0}' | '\u{202f}'))
        .collect();
    if seps.is_empty() {
        return s.parse().ok();
    }
    let dots = seps.iter().filter(|&&c| c == '.').count();
    let commas = seps.iter().filter(|&&c| c == ',').count();
    if dots >= 2 && commas == 0 && groups[1..].iter().any(|g| g.len() != 3) {
        return None; // 12.03.2024
    }
    let mut cleaned = String::with_capacity(s.len());
    let last_sep = seps[seps.len() - 1];
    let last_group = groups[groups.len() - 1];
    // The decimal mark: a '.' after commas or alone; a single ',' not followed by 3 digits.
    let decimal = if dots == 1 && commas >= 1 {
        Some('.')
    } else if commas == 1 && dots == 0 && last_group.len() != 3 {
        Some(',')
    } else if dots == 1 && commas == 0 && seps.len() == 1 {
        Some('.')
    } else {
        None
    };
    for (k, g) in groups.iter().enumerate() {
        if k > 0 && k == groups.len() - 1 && decimal == Some(last_sep) {
            cleaned.push('.');
        }
        cleaned.push_str(g);
    }
    cleaned.parse().ok()
}

fn small_number(w: &str) -> Option<f64> {
    Some(match w {
        "zero" => 0.0,
        "one" => 1.0,
        "two" => 2.0,
        "three" => 3.0,
        "four" => 4.0,
        "five" => 5.0,
        "six" => 6.0,
        "seven" => 7.0,
        "eight" => 8.0,
        "nine" => 9.0,
        "ten" => 10.0,
        "eleven" => 11.0,
        "twelve" => 12.0,
        "thirteen" => 13.0,
        "fourteen" => 14.0,
        "fifteen" => 15.0,
        "sixteen" => 16.0,
        "seventeen" => 17.0,
        "eighteen" => 18.0,
        "nineteen" => 19.0,
        "twenty" => 20.0,
        "thirty" => 30.0,
        "forty" => 40.0,
        "fifty" => 50.0,
        "sixty" => 60.0,
        "seventy" => 70.0,
        "eighty" => 80.0,
        "ninety" => 90.0,
        "dozen" => 12.0,
        _ => return None,
    })
}

fn multiplier(w: &str) -> Option<f64> {
    Some(match w {
        "hundred" => 1e2,
        "thousand" => 1e3,
        "million" | "mln" => 1e6,
        "billion" | "bn" => 1e9,
        _ => return None,
    })
}

impl Text<'_> {
    /// A number starting at token `i`: digits with an optional multiplier
    /// word (`1.2 million`), or number words (`two hundred and fifty`,
    /// `twenty-five`, `a dozen`). Returns the value and the token after it.
    pub fn number_at(&self, i: usize) -> Option<(f64, usize)> {
        let n = self.toks.len();
        match self.toks[i].kind {
            Tk::Num => {
                let v = num_value(self.tok(i))?;
                if i + 1 < n
                    && let Some(m) = multiplier(self.low(i + 1))
                {
                    return Some((v * m, i + 2));
                }
                Some((v, i + 1))
            }
            Tk::Word => {
                let mut j = i;
                if self.low(i) == "a" || self.low(i) == "an" {
                    // "a dozen", "a hundred", "a thousand"
                    if i + 1 < n
                        && (self.low(i + 1) == "dozen" || multiplier(self.low(i + 1)).is_some())
                    {
                        j = i + 1;
                    } else {
                        return None;
                    }
                }
                let mut total = 0.0;
                let mut cur = 0.0;
                let mut any = false;
                while j < n && self.toks[j].kind == Tk::Word {
                    let w = self.low(j);
                    if let Some(v) = small_number(w) {
                        let rem = cur % 100.0;
                        let fits = cur == 0.0
                            || (rem == 0.0 && cur >= 100.0 && v < 100.0)
                            || (rem >= 20.0 && rem % 10.0 == 0.0 && v < 10.0);
                        if !fits {
                            break;
                        }
                        cur += v;
                        any = true;
                        j += 1;
                        // twenty-five
                        if v >= 20.0
                            && j + 1 < n
                            && self.tok(j) == "-"
                            && let Some(u) = small_number(self.low(j + 1))
                            && u < 10.0
                        {
                            cur += u;
                            j += 2;
                        }
                    } else if let Some(m) = multiplier(w) {
                        if m == 1e2 {
                            cur = cur.max(1.0) * m;
                        } else {
                            total += cur.max(1.0) * m;
                            cur = 0.0;
                        }
                        any = true;
                        j += 1;
                    } else if w == "and"
                        && any
                        && j + 1 < n
                        && small_number(self.low(j + 1)).is_some()
                        && (total > 0.0 || cur >= 100.0)
                    {
                        j += 1;
                    } else {
                        break;
                    }
                }
                any.then_some((total + cur, j))
            }
            Tk::Punct => None,
        }
    }

    /// The byte range of tokens `a..b`.
    pub fn span(&self, a: usize, b: usize) -> Range<usize> {
        self.toks[a].start..self.toks[b - 1].end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(num_value("1,200"), Some(1200.0));
        assert_eq!(num_value("1,200.5"), Some(1200.5));
        assert_eq!(num_value("2,5"), Some(2.5));
        assert_eq!(num_value("1.5"), Some(1.5));
        assert_eq!(num_value("12\u{a0}000"), Some(12000.0));
        assert_eq!(num_value("12.03.2024"), None);
        let t = Text::new("two hundred and fifty twenty-five a dozen 1.2 million six");
        assert_eq!(t.number_at(0), Some((250.0, 4)));
        assert_eq!(t.number_at(4), Some((25.0, 7)));
        assert_eq!(t.number_at(7), Some((12.0, 9)));
        assert_eq!(t.number_at(9), Some((1.2e6, 11)));
    }

    #[test]
    fn sentences_and_possessives() {
        let t = Text::new("Gen. Smith met Armenia's envoy. Talks resumed.\nHEADLINE\nbody");
        assert_eq!(t.sents.len(), 3);
        assert!(t.toks.iter().any(|k| &t.src[k.start..k.end] == "Armenia"));
    }
}
