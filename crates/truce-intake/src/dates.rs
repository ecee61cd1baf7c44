//! Dates: absolute (`12 March 2024`, `March 12, 2024`, `2024-03-12`,
//! `12.03.2024`, `12 March`) and relative (`on Thursday`, `yesterday`)
//! resolved against the publication date.

use jiff::ToSpan;
use jiff::civil::{Date, Weekday};

use crate::text::{Text, Tk, num_value};

/// A date found in the text: token range and the resolved day.
pub(crate) struct DateHit {
    pub a: usize,
    pub b: usize,
    pub date: Date,
    pub relative: bool,
}

fn month(w: &str) -> Option<i8> {
    Some(match w {
        "january" | "jan" => 1,
        "february" | "feb" => 2,
        "march" | "mar" => 3,
        "april" | "apr" => 4,
        "may" => 5,
        "june" | "jun" => 6,
        "july" | "jul" => 7,
        "august" | "aug" => 8,
        "september" | "sep" | "sept" => 9,
        "october" | "oct" => 10,
        "november" | "nov" => 11,
        "december" | "dec" => 12,
        _ => return None,
    })
}

fn weekday(w: &str) -> Option<Weekday> {
    Some(match w {
        "monday" => Weekday::Monday,
        "tuesday" => Weekday::Tuesday,
        "wednesday" => Weekday::Wednesday,
        "thursday" => Weekday::Thursday,
        "friday" => Weekday::Friday,
        "saturday" => Weekday::Saturday,
        "sunday" => Weekday::Sunday,
        _ => return None,
    })
}

fn int(t: &Text, i: usize, lo: i64, hi: i64, max_len: usize) -> Option<i64> {
    if t.kind(i) != Some(Tk::Num) || t.tok(i).len() > max_len {
        return None;
    }
    let v: i64 = t.tok(i).parse().ok()?;
    (lo..=hi).contains(&v).then_some(v)
}

/// Day 1-31, also written `12th`: (day, token after it).
fn day(t: &Text, i: usize) -> Option<(i64, usize)> {
    let d = int(t, i, 1, 31, 2)?;
    if t.is(i + 1, &["st", "nd", "rd", "th"]) && t.toks[i + 1].start == t.toks[i].end {
        return Some((d, i + 2));
    }
    Some((d, i + 1))
}

fn year(t: &Text, i: usize) -> Option<i64> {
    int(t, i, 1900, 2100, 4)
}

/// Year for a day and month written without one: the publication year,
/// or the one before when that would put the day months after publication.
fn infer_year(published: Option<Date>, m: i8, d: i8) -> Option<Date> {
    let p = published?;
    let candidate = Date::new(p.year(), m, d).ok()?;
    if candidate > p.checked_add(120.days()).ok()? {
        return Date::new(p.year() - 1, m, d).ok();
    }
    Some(candidate)
}

pub(crate) fn find(t: &Text, published: Option<Date>) -> Vec<DateHit> {
    let mut out = Vec::new();
    let n = t.toks.len();
    let mut i = 0;
    while i < n {
        // A range's first day: "5 to 11 June 2021", "8-14 June", "13 and 14 September".
        if let Some((d, j)) = day(t, i)
            && t.is(j, &["to", "-", "–", "and", "until", "till"])
            && let Some(h) = at(t, j + 1, published)
            && !h.relative
            && t.kind(j + 1) == Some(Tk::Num)
        {
            if let Ok(first) = h.date.with().day(d as i8).build()
                && first < h.date
            {
                out.push(DateHit {
                    a: i,
                    b: i + 1,
                    date: first,
                    relative: false,
                });
            }
            i = h.b;
            out.push(h);
            continue;
        }
        if let Some(h) = at(t, i, published) {
            i = h.b;
            out.push(h);
        } else {
            i += 1;
        }
    }
    out
}

fn mk(a: usize, b: usize, y: i64, m: i8, d: i64, relative: bool) -> Option<DateHit> {
    let date = Date::new(i16::try_from(y).ok()?, m, i8::try_from(d).ok()?).ok()?;
    Some(DateHit {
        a,
        b,
        date,
        relative,
    })
}

fn at(t: &Text, i: usize, published: Option<Date>) -> Option<DateHit> {
    let n = t.toks.len();
    // A range's first day ends the text ("1-"): nothing follows to read.
    if i >= n {
        return None;
    }
    let w = t.low(i);
    match t.toks[i].kind {
        Tk::Num => {
            // 2024-03-12
            if let Some(y) = year(t, i)
                && t.low_at(i + 1) == "-"
                && t.low_at(i + 3) == "-"
                && let (Some(m), Some(d)) = (int(t, i + 2, 1, 12, 2), int(t, i + 4, 1, 31, 2))
            {
                return mk(i, i + 5, y, m as i8, d, false);
            }
            // 12.03.2024 or 12/03/2024
            let s = t.tok(i);
            if s.matches('.').count() == 2 && num_value(s).is_none() {
                let p: Vec<&str> = s.split('.').collect();
                if let (Ok(d), Ok(m), Ok(y)) =
                    (p[0].parse::<i64>(), p[1].parse::<i8>(), p[2].parse::<i64>())
                    && p[2].len() == 4
                {
                    return mk(i, i + 1, y, m, d, false);
                }
            }
            // 12 March [2024]
            let (d, j) = day(t, i)?;
            let j = if t.is(j, &["of"]) { j + 1 } else { j };
            let m = month(t.low_at(j)).filter(|_| t.capitalised(j))?;
            if let Some(y) = (j + 1 < n).then(|| year(t, j + 1)).flatten() {
                return mk(i, j + 2, y, m, d, false);
            }
            let date = infer_year(published, m, d as i8)?;
            Some(DateHit {
                a: i,
                b: j + 1,
                date,
                relative: false,
            })
        }
        Tk::Word => {
            if let Some(m) = month(w) {
                if !t.capitalised(i) {
                    return None;
                }
                // March 12[,] [2024]
                let (d, j) = day(t, i + 1).filter(|_| i + 1 < n)?;
                let k = if t.low_at(j) == "," { j + 1 } else { j };
                if k < n
                    && let Some(y) = year(t, k)
                {
                    return mk(i, k + 1, y, m, d, false);
                }
                let date = infer_year(published, m, d as i8)?;
                return Some(DateHit {
                    a: i,
                    b: j,
                    date,
                    relative: false,
                });
            }
            let p = published?;
            if let Some(wd) = weekday(w) {
                if !t.capitalised(i) {
                    return None;
                }
                // "is expected on Friday", "planned for Monday"
                let future = (i.saturating_sub(5)..i).any(|k| {
                    t.is(
                        k,
                        &["will", "expected", "planned", "scheduled", "due", "shall"],
                    )
                });
                let (a, forward) = if i > 0 && t.is(i - 1, &["next", "coming"]) {
                    (i - 1, true)
                } else if future && !(i > 0 && t.is(i - 1, &["last", "past"])) {
                    (i, true)
                } else if i > 0 && t.is(i - 1, &["last", "past"]) {
                    (i - 1, false)
                } else {
                    (i, false)
                };
                let pw = p.weekday().to_monday_zero_offset() as i64;
                let ww = wd.to_monday_zero_offset() as i64;
                let date = if forward {
                    let d = (ww - pw).rem_euclid(7);
                    p.checked_add((if d == 0 { 7 } else { d }).days()).ok()?
                } else {
                    let d = (pw - ww).rem_euclid(7);
                    let d = if d == 0 && a < i { 7 } else { d };
                    p.checked_sub(d.days()).ok()?
                };
                return Some(DateHit {
                    a,
                    b: i + 1,
                    date,
                    relative: true,
                });
            }
            let back = match w {
                "today" => 0,
                "yesterday" => 1,
                "tonight" => 0,
                _ => return None,
            };
            Some(DateHit {
                a: i,
                b: i + 1,
                date: p.checked_sub((back as i64).days()).ok()?,
                relative: true,
            })
        }
        Tk::Punct => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn dates(s: &str, p: Option<Date>) -> Vec<String> {
        let t = Text::new(s);
        find(&t, p)
            .into_iter()
            .map(|h| h.date.to_string())
            .collect()
    }

    #[test]
    fn a_range_cut_off_at_the_end_of_the_text_is_no_date() {
        // Found by the property test: "1-" read past the last token.
        for s in ["1-", "5 to", "8 and", "Talks on 5 until"] {
            assert_eq!(
                dates(s, Some(date(2024, 3, 12))),
                Vec::<String>::new(),
                "{s}"
            );
        }
    }

    #[test]
    fn absolute_and_relative() {
        let p = Some(date(2024, 3, 14)); // a Thursday
        assert_eq!(
            dates("on 12 March 2024 and March 9, 2024", p),
            ["2024-03-12", "2024-03-09"]
        );
        assert_eq!(dates("on 2 March", p), ["2024-03-02"]);
        assert_eq!(
            dates("2024-03-01 and 05.03.2024", p),
            ["2024-03-01", "2024-03-05"]
        );
        assert_eq!(dates("said on Tuesday", p), ["2024-03-12"]);
        assert_eq!(dates("said on Thursday", p), ["2024-03-14"]);
        assert_eq!(dates("yesterday", p), ["2024-03-13"]);
        assert_eq!(dates("on 30 December", p), ["2023-12-30"]);
        assert!(dates("on Tuesday", None).is_empty());
        assert!(dates("the march of the", p).is_empty());
    }
}
