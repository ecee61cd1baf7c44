//! HXL hashtags (Humanitarian Exchange Language): a row of `#tag+attribute`
//! cells under the header that says what each column holds, whatever the
//! header text. Attribute order does not matter (`#geo+lat` is `#geo+lat`
//! however written); columns without a tag are ignored, as HXL says.

use crate::columns::{COLUMNS, index_of};

/// The canonical form of a hashtag (lower case, attributes sorted), or
/// `None` when the cell is not a hashtag.
pub fn normalise(cell: &str) -> Option<String> {
    let s = cell.trim().to_ascii_lowercase();
    let rest = s.strip_prefix('#')?;
    let mut parts = rest.split('+').map(str::trim);
    let tag = parts.next()?;
    let ok = |p: &str| {
        let mut ch = p.chars();
        ch.next().is_some_and(|c| c.is_ascii_lowercase())
            && ch.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    if !ok(tag) {
        return None;
    }
    let mut attrs: Vec<&str> = parts.collect();
    if !attrs.iter().all(|a| ok(a)) {
        return None;
    }
    attrs.sort_unstable();
    attrs.dedup();
    let mut out = format!("#{tag}");
    for a in attrs {
        out.push('+');
        out.push_str(a);
    }
    Some(out)
}

/// Whether a row is an HXL tag row: at least one hashtag, and every
/// non-empty cell a hashtag.
pub fn is_tag_row(cells: &[String]) -> bool {
    let mut any = false;
    for c in cells {
        if c.trim().is_empty() {
            continue;
        }
        if normalise(c).is_none() {
            return false;
        }
        any = true;
    }
    any
}

/// Tags other tools write for the same fields.
const ALIASES: &[(&str, &str)] = &[
    ("#date+occurred", "occurred_at"),
    ("#org", "actor1"),
    ("#org+name", "actor1"),
    ("#loc", "location_name"),
    ("#adm1", "admin1"),
    ("#adm1+name", "admin1"),
    ("#description", "notes"),
    ("#meta+id", "id"),
];

/// The Truce column a hashtag stands for.
pub fn column_of(tag: &str) -> Option<usize> {
    let t = normalise(tag)?;
    COLUMNS
        .iter()
        .position(|c| normalise(c.hxl).as_deref() == Some(&t))
        .or_else(|| {
            ALIASES
                .iter()
                .find(|(a, _)| normalise(a).as_deref() == Some(&t))
                .and_then(|(_, name)| index_of(name))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_order_and_case_do_not_matter() {
        assert_eq!(normalise(" #GEO+Lat "), Some("#geo+lat".into()));
        assert_eq!(
            normalise("#affected+min+killed"),
            normalise("#affected+killed+min")
        );
        assert_eq!(normalise("geo"), None);
        assert_eq!(normalise("#geo+"), None);
        assert_eq!(
            column_of("#affected+civilians+KILLED"),
            index_of("deaths.civilians")
        );
        assert_eq!(column_of("#org+name"), index_of("actor1"));
        assert_eq!(column_of("#sector"), None);
    }

    #[test]
    fn tag_rows_are_recognised() {
        let row = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(is_tag_row(&row(&["#date", "", "#geo+lat"])));
        assert!(!is_tag_row(&row(&["#date", "2026-01-01"])));
        assert!(!is_tag_row(&row(&["", ""])));
    }
}
