//! Quantities: a number, a unit or counted noun, and a category decided by
//! the words around it in the same sentence.

use crate::dates::DateHit;
use crate::text::{Text, Tk};
use crate::{Category, FactData, Qualifier, Quantity, Raw, Unit};

/// What the other extractors found, for context.
pub(crate) struct Ctx<'a> {
    /// Tokens that belong to a date.
    pub used: &'a [bool],
    /// Actor mentions: token range and actor id.
    pub actors: &'a [(usize, usize, String)],
    /// Dates (for "since <date>").
    pub dates: &'a [DateHit],
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Noun {
    Generic,
    Child,
    Detainee,
    Soldier,
    Displaced,
    Returnee,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Head {
    Person(Noun),
    Post,
    MapPackage,
    Round,
    Violation,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Cue {
    Kill,
    Injure,
    Detain,
    Release,
    Return,
    Shelter,
    Displace,
}

fn cue(w: &str) -> Option<Cue> {
    Some(match w {
        "killed" | "died" | "dead" | "deaths" | "fatalities" | "perished" | "killing" | "lives" => {
            Cue::Kill
        }
        "injured" | "wounded" | "hurt" | "injuring" | "wounding" | "injuries" => Cue::Injure,
        "detained" | "captured" | "arrested" | "apprehended" | "abducted" | "detaining"
        | "captivity" | "detain" | "capture" | "detention" | "held" => Cue::Detain,
        "released" | "freed" | "repatriated" | "exchanged" | "handed" | "transferred"
        | "exchange" | "release" | "repatriation" | "releasing" | "swap" | "hands" | "handing"
        | "transfer" => Cue::Release,
        "returned" | "return" | "returning" | "resettled" | "returnees" | "back" => Cue::Return,
        "sheltered" | "housed" | "accommodated" | "staying" | "hosted" | "lodged"
        | "accommodating" | "sheltering" | "shelter" | "shelters" | "accommodation" | "hotels"
        | "dormitories" | "hostels" => Cue::Shelter,
        "displaced" | "fled" | "evacuated" | "uprooted" | "refugees" | "idps" | "evacuees"
        | "fleeing" | "evacuation" => Cue::Displace,
        _ => return None,
    })
}

fn person_noun(w: &str) -> Option<Noun> {
    Some(match w {
        "children" | "child" | "minors" | "minor" | "kids" | "boys" | "girls" => Noun::Child,
        "prisoners" | "prisoner" | "pows" | "detainees" | "detainee" | "captives" | "hostages" => {
            Noun::Detainee
        }
        "servicemen" | "serviceman" | "soldiers" | "soldier" | "troops" | "conscripts"
        | "personnel" | "officers" | "guards" | "sappers" | "deminers" | "servicemembers" => {
            Noun::Soldier
        }
        "refugees" | "idps" | "evacuees" => Noun::Displaced,
        "returnees" => Noun::Returnee,
        "people" | "persons" | "person" | "residents" | "resident" | "civilians" | "civilian"
        | "inhabitants" | "individuals" | "citizens" | "nationals" | "villagers" | "women"
        | "men" | "patients" | "workers" | "migrants" | "farmers" | "shepherds" | "employees"
        | "pensioners" | "students" => Noun::Generic,
        _ => return None,
    })
}

const FUNCTION_WORDS: &[&str] = &[
    "of", "and", "or", "were", "was", "is", "are", "be", "been", "have", "has", "had", "will",
    "would", "in", "at", "on", "to", "from", "by", "with", "for", "the", "a", "an", "that",
    "which", "who", "this", "these", "since", "after", "before", "during", "per", "each", "into",
    "than", "as", "but", "not", "no", "out", "their", "its", "his", "her", "they", "it", "we",
];

const BLOCK_NOUNS: &[&str] = &[
    "trucks",
    "truck",
    "lorries",
    "lorry",
    "vehicles",
    "vehicle",
    "buses",
    "bus",
    "convoys",
    "convoy",
    "villages",
    "village",
    "houses",
    "homes",
    "days",
    "day",
    "hours",
    "weeks",
    "months",
    "years",
    "times",
    "km",
    "kilometres",
    "kilometers",
    "tonnes",
    "tons",
    "cars",
    "flights",
    "shipments",
    "containers",
    "apartments",
    "schools",
    "sites",
    "districts",
    "settlements",
];

const MINE_WORDS: &[&str] = &[
    "mine",
    "mines",
    "minefield",
    "minefields",
    "mined",
    "landmine",
    "landmines",
    "minefiled",
];
const TALK_WORDS: &[&str] = &[
    "talks",
    "negotiations",
    "discussions",
    "consultations",
    "meetings",
    "dialogue",
];
const VIOLATION_NOUNS: &[&str] = &["violations", "violation", "breaches", "breach"];

fn aid_keyword(t: &Text, k: usize) -> Option<Category> {
    let w = t.low(k);
    Some(match w {
        "food" | "foodstuffs" | "foodstuff" | "flour" | "wheat" | "grain" | "grains" | "rice"
        | "sugar" | "pasta" | "buckwheat" | "bread" | "canned" | "vegetables" | "fruit"
        | "meat" | "dairy" | "milk" | "potatoes" | "provisions" | "groceries" | "cereals"
        | "beans" | "lentils" | "salt" | "tea" | "barley" => Category::AidFood,
        "oil" => {
            if k > 0 && t.is(k - 1, &["cooking", "sunflower", "vegetable", "edible"]) {
                Category::AidFood
            } else {
                Category::AidFuel
            }
        }
        "fuel" | "diesel" | "petrol" | "gasoline" | "kerosene" | "lpg" | "gas" | "propane"
        | "coal" | "firewood" => Category::AidFuel,
        "medical" | "medicine" | "medicines" | "medication" | "medications" | "pharmaceutical"
        | "pharmaceuticals" | "drugs" | "vaccines" | "insulin" | "medicaments" => {
            Category::AidMedical
        }
        "construction" | "cement" | "concrete" | "bricks" | "timber" | "lumber" | "rebar"
        | "steel" | "roofing" | "gravel" | "asphalt" => Category::AidConstruction,
        "building" if t.is(k + 1, &["material", "materials", "supplies"]) => {
            Category::AidConstruction
        }
        "aid" | "cargo" | "goods" | "supplies" | "relief" | "items" | "assistance" => {
            Category::AidCargo
        }
        _ => return None,
    })
}

enum UnitKind {
    Mass(f64),
    Area(f64),
    Dist(f64),
}

/// A unit at token `j` (after an optional hyphen): kind with factor, token after it.
fn unit_at(t: &Text, j: usize, b: usize) -> Option<(UnitKind, usize)> {
    let mut k = j;
    let hyphen = t.low_at(k) == "-" && !t.toks.get(k).is_some_and(|x| x.space);
    if hyphen {
        k += 1;
    }
    if k >= b || t.kind(k) != Some(Tk::Word) {
        return None;
    }
    let next = t.low_at(k + 1);
    let (u, end) = match t.low(k) {
        "tonnes" | "tons" | "tonne" | "ton" | "t" | "mt" | "tn" => (UnitKind::Mass(1.0), k + 1),
        "metric" if matches!(next, "tonnes" | "tons" | "tonne" | "ton") => {
            (UnitKind::Mass(1.0), k + 2)
        }
        "kg" | "kilograms" | "kilogrammes" | "kilos" | "kilogram" => (UnitKind::Mass(1e-3), k + 1),
        "hectares" | "hectare" | "ha" => (UnitKind::Area(1e4), k + 1),
        "square" | "sq" => {
            let mut m = k + 1;
            if t.low_at(m) == "." {
                m += 1;
            }
            match t.low_at(m) {
                "metres" | "meters" | "metre" | "meter" | "m" => (UnitKind::Area(1.0), m + 1),
                "kilometres" | "kilometers" | "kilometre" | "kilometer" | "km" => {
                    (UnitKind::Area(1e6), m + 1)
                }
                _ => return None,
            }
        }
        "m2" | "m²" | "sqm" => (UnitKind::Area(1.0), k + 1),
        "km2" | "km²" => (UnitKind::Area(1e6), k + 1),
        "km" | "kilometres" | "kilometers" | "kilometre" | "kilometer" => {
            (UnitKind::Dist(1.0), k + 1)
        }
        "metres" | "meters" => (UnitKind::Dist(1e-3), k + 1),
        _ => return None,
    };
    if end > b {
        return None;
    }
    if hyphen
        && matches!(u, UnitKind::Mass(_))
        && matches!(
            t.low_at(end),
            "truck"
                | "trucks"
                | "lorry"
                | "lorries"
                | "vehicle"
                | "vehicles"
                | "trailer"
                | "trailers"
        )
    {
        return None;
    }
    Some((u, end))
}

/// The counted noun after a number: (head, token after it).
fn head_noun(t: &Text, ctx: &Ctx, j: usize, b: usize, sent_a: usize) -> Option<(Head, usize)> {
    let mut k = j;
    // "one of its soldiers"
    if t.is(k, &["of"]) && t.is(k + 1, &["its", "their", "the", "our", "his", "them"]) {
        if let Some(n) = person_noun(t.low_at(k + 2)) {
            return Some((Head::Person(n), k + 3));
        }
        return None;
    }
    let mut mods = 0;
    while k < b && mods <= 3 {
        match t.kind(k) {
            Some(Tk::Word) => {}
            Some(Tk::Punct) if t.tok(k) == "-" && !t.toks[k].space => {
                k += 1;
                continue;
            }
            _ => return None,
        }
        let w = t.low(k);
        // "80 Armenians": a plural actor name counts people.
        if let Some((_, e, _)) = actor_at(ctx, k)
            && t.tok(e - 1).ends_with('s')
        {
            return Some((Head::Person(Noun::Generic), *e));
        }
        if let Some(n) = person_noun(w) {
            let end = if n == Noun::Detainee && t.is(k + 1, &["of"]) && t.is(k + 2, &["war"]) {
                k + 3
            } else {
                k + 1
            };
            return Some((Head::Person(n), end));
        }
        match w {
            "posts" | "post" | "outposts" | "outpost" => return Some((Head::Post, k + 1)),
            "points" if k > 0 && t.is(k - 1, &["observation"]) => return Some((Head::Post, k + 1)),
            "packages" | "package" | "sets" | "set" | "maps" | "map" | "files" | "copies"
            | "batches" => {
                let near = (j..(k + 6).min(b)).any(|m| MINE_WORDS.contains(&t.low(m)));
                if near {
                    // "packages of minefield maps": the span runs to "maps".
                    let mut end = k + 1;
                    for m in k + 1..(k + 5).min(b) {
                        if matches!(t.low(m), "maps" | "map" | "records" | "forms") {
                            end = m + 1;
                        }
                    }
                    return Some((Head::MapPackage, end));
                }
                return None;
            }
            "rounds" | "round" => {
                let near = (k + 1..(k + 5).min(b)).find(|&m| TALK_WORDS.contains(&t.low(m)));
                return near.map(|m| (Head::Round, m + 1));
            }
            "violations" | "violation" | "breaches" | "breach" => {
                return Some((Head::Violation, k + 1));
            }
            "times" => {
                let violated = (sent_a..b).any(|m| {
                    let w = t.low(m);
                    w.starts_with("violat") || w.starts_with("breach")
                });
                return violated.then_some((Head::Violation, k + 1));
            }
            "cases" | "incidents" | "instances" => {
                let near = (k + 1..(k + 5).min(b)).find(|&m| VIOLATION_NOUNS.contains(&t.low(m)));
                return near.map(|m| (Head::Violation, m + 1));
            }
            _ => {}
        }
        if FUNCTION_WORDS.contains(&w) || w.ends_with("ing") || BLOCK_NOUNS.contains(&w) {
            return None;
        }
        mods += 1;
        k += 1;
    }
    None
}

/// A qualifier ending right before token `i`: (qualifier, first token).
fn qualifier(t: &Text, a: usize, i: usize) -> Option<(Qualifier, usize)> {
    let w1 = if i > a { t.low(i - 1) } else { "" };
    let w2 = if i > a + 1 { t.low(i - 2) } else { "" };
    let w3 = if i > a + 2 { t.low(i - 3) } else { "" };
    Some(match (w3, w2, w1) {
        ("in", "excess", "of") => (Qualifier::MoreThan, i - 3),
        (_, "more" | "greater", "than") => (Qualifier::MoreThan, i - 2),
        (_, "less" | "fewer", "than") => (Qualifier::LessThan, i - 2),
        (_, "up", "to") => (Qualifier::UpTo, i - 2),
        (_, "upwards", "of") => (Qualifier::MoreThan, i - 2),
        (_, "at", "least") => (Qualifier::MoreThan, i - 2),
        (_, "an", "estimated") => (Qualifier::About, i - 2),
        (_, prev, "over")
            if !matches!(
                prev,
                "handed"
                    | "hand"
                    | "hands"
                    | "handing"
                    | "turned"
                    | "passed"
                    | "took"
                    | "taken"
                    | "signed"
            ) =>
        {
            (Qualifier::MoreThan, i - 1)
        }
        (_, _, "above" | "exceeding") => (Qualifier::MoreThan, i - 1),
        (_, _, "under" | "below") => (Qualifier::LessThan, i - 1),
        (
            _,
            _,
            "about" | "around" | "approximately" | "approx" | "some" | "roughly" | "nearly"
            | "almost" | "circa" | "estimated" | "~",
        ) => (Qualifier::About, i - 1),
        _ => return None,
    })
}

fn excluded(t: &Text, a: usize, i: usize, j: usize) -> bool {
    let next = t.low_at(j);
    if matches!(
        next,
        "%" | "percent"
            | "per"
            | "dollars"
            | "euros"
            | "manats"
            | "manat"
            | "drams"
            | "dram"
            | "usd"
            | "eur"
            | "amd"
            | "azn"
            | "rubles"
            | "roubles"
            | ":"
            | "st"
            | "nd"
            | "rd"
            | "th"
            | "am"
            | "pm"
            | "a.m"
            | "p.m"
    ) && !(next == "per" && t.is(j + 1, &["day", "week", "month"]))
    {
        return true;
    }
    if i > a && matches!(t.tok(i - 1), "$" | "€" | "£" | "₽" | "#" | "№") {
        return true;
    }
    i > a
        && t.is(
            i - 1,
            &["usd", "eur", "amd", "azn", "no", "resolution", "article"],
        )
        && t.capitalised(i - 1)
}

/// A period phrase in the sentence: "in two days", "over the past 24 hours",
/// "since 1 May".
fn period(t: &Text, a: usize, b: usize, dates: &[DateHit]) -> Option<String> {
    for k in a..b {
        let w = t.low(k);
        if w == "since" {
            let i = dates.partition_point(|d| d.a < k + 1);
            if let Some(d) = dates.get(i).filter(|d| d.a == k + 1) {
                return Some(t.src[t.span(k, d.b)].to_string());
            }
            continue;
        }
        if !matches!(w, "in" | "over" | "during" | "within" | "for") {
            continue;
        }
        let mut m = k + 1;
        if t.is(m, &["the"]) {
            m += 1;
        }
        if t.is(m, &["past", "last", "previous", "next", "first", "same"]) {
            m += 1;
        }
        let mut had_number = false;
        if m < b && (t.is(m, &["a", "one"]) || t.number_at(m).is_some()) {
            m = t.number_at(m).map(|(_, e)| e).unwrap_or(m + 1);
            had_number = true;
        }
        if t.low_at(m) == "-" {
            m += 1;
        }
        if m < b
            && t.is(
                m,
                &[
                    "hour", "hours", "day", "days", "week", "weeks", "month", "months", "year",
                    "years",
                ],
            )
            && (had_number
                || t.is(
                    m - 1,
                    &["past", "last", "previous", "next", "first", "same"],
                ))
        {
            if t.is(m, &["hour"]) && t.is(m + 1, &["period"]) {
                m += 1;
            }
            return Some(t.src[t.span(k, m + 1)].to_string());
        }
    }
    None
}

fn actor_in(ctx: &Ctx, a: usize, b: usize) -> Option<String> {
    let from = ctx.actors.partition_point(|(s, _, _)| *s < a);
    ctx.actors[from..]
        .iter()
        .take_while(|(s, _, _)| *s < b)
        .find(|(_, e, _)| *e <= b)
        .map(|(_, _, id)| id.clone())
}

/// The actor mention starting at token `k` (mentions are sorted by start).
fn actor_at<'c>(ctx: &'c Ctx, k: usize) -> Option<&'c (usize, usize, String)> {
    let i = ctx.actors.partition_point(|(s, _, _)| *s < k);
    ctx.actors.get(i).filter(|(s, _, _)| *s == k)
}

fn push(out: &mut Vec<Raw>, t: &Text, a: usize, b: usize, q: Quantity) {
    let r = t.span(a, b);
    out.push(Raw {
        start: r.start,
        end: r.end,
        data: FactData::Quantity(q),
    });
}

/// "no ceasefire violations were recorded", "did not record any violations".
fn zero_violations(t: &Text, i: usize, b: usize) -> Option<usize> {
    let w = t.low(i);
    let starts = matches!(w, "no" | "zero")
        || (w == "any"
            && (i.saturating_sub(4)..i).any(|k| t.is(k, &["not", "never", "t", "without"])));
    if !starts {
        return None;
    }
    (i + 1..(i + 4).min(b))
        .find(|&k| VIOLATION_NOUNS.contains(&t.low(k)))
        .map(|k| k + 1)
}

pub(crate) fn find(t: &Text, ctx: &Ctx, out: &mut Vec<Raw>) {
    for sent in &t.sents {
        let (a, b) = (sent.start, sent.end);
        let mut people_before = false;
        let mut i = a;
        while i < b {
            if let Some(end) = zero_violations(t, i, b) {
                let q = Quantity {
                    category: Category::ViolationsCeasefire,
                    value: 0.0,
                    unit: Unit::Count,
                    qualifier: None,
                    party: None,
                    period: period(t, a, b, ctx.dates),
                };
                push(out, t, i, end, q);
                i = end;
                continue;
            }
            if ctx.used[i] {
                i += 1;
                continue;
            }
            let Some((value, j)) = t.number_at(i) else {
                i += 1;
                continue;
            };
            if j > b || excluded(t, a, i, j) {
                i = j.max(i + 1);
                continue;
            }
            let (qual, qa) = match qualifier(t, a, i) {
                Some((q, s)) => (Some(q), s),
                None => (None, i),
            };
            if let Some((u, end)) = unit_at(t, j, b) {
                if matches!(u, UnitKind::Area(_)) && !clearance_context(t, a, b, qa, end) {
                    i = end;
                    continue;
                }
                let (category, unit, f) = match u {
                    UnitKind::Mass(f) => (aid_category(t, a, b, qa, end), Unit::Tonne, f),
                    UnitKind::Area(f) => (Category::MinesAreaCleared, Unit::SquareMetre, f),
                    UnitKind::Dist(f) => (Category::Distance, Unit::Kilometre, f),
                };
                let q = Quantity {
                    category,
                    value: round(value * f),
                    unit,
                    qualifier: qual,
                    party: None,
                    period: period(t, a, b, ctx.dates),
                };
                push(out, t, qa, end, q);
                i = end;
                continue;
            }
            let head = head_noun(t, ctx, j, b, a).or_else(|| {
                // "... and 12 were injured", "three others died", "31,000 of
                // them were staying", "some 6,000 in hotels"
                let mut k = j;
                let mut span_end = j;
                if t.is(k, &["others", "other", "more", "people"]) {
                    k += 1;
                    span_end = k;
                }
                if t.is(k, &["of"]) && t.is(k + 1, &["them", "whom"]) {
                    k += 2;
                }
                let aux = t.is(k, &["were", "was", "have", "had", "are", "is"]);
                if aux {
                    k += 1;
                }
                while t.is(k, &["been", "still", "now", "currently", "being", "also"]) {
                    k += 1;
                }
                if !aux && people_before && t.is(k, &["in", "at"]) {
                    let shelter =
                        (k + 1..(k + 4).min(b)).any(|m| cue(t.low(m)) == Some(Cue::Shelter));
                    return shelter.then_some((Head::Person(Noun::Generic), span_end.max(j)));
                }
                ((people_before || aux) && k < b && cue(t.low(k)).is_some())
                    .then_some((Head::Person(Noun::Generic), span_end.max(j)))
            });
            let Some((head, end)) = head else {
                i = j;
                continue;
            };
            let remains = matches!(head, Head::Person(_))
                && (qa.saturating_sub(3).max(a)..qa)
                    .any(|k| t.is(k, &["remains", "bodies", "corpses"]));
            if remains {
                i = end;
                continue;
            }
            let (category, unit) = match head {
                Head::Person(noun) => match person_category(t, ctx, a, b, qa, j, end, noun) {
                    Some(c) => (c, Unit::Person),
                    None => {
                        i = end;
                        continue;
                    }
                },
                Head::Post => (Category::PostsObservation, Unit::Count),
                Head::MapPackage => (Category::MinesMapPackages, Unit::Count),
                Head::Round => (Category::TalksRounds, Unit::Count),
                Head::Violation => (Category::ViolationsCeasefire, Unit::Count),
            };
            let end = if matches!(head, Head::Person(_)) {
                end.min(if t.is(j, &["were", "was"]) { j } else { end })
            } else {
                end
            };
            let party = if unit == Unit::Person {
                people_before = true;
                party_of(t, ctx, category, j, end, b)
            } else {
                None
            };
            let q = Quantity {
                category,
                value: round(value),
                unit,
                qualifier: qual,
                party,
                period: period(t, a, b, ctx.dates),
            };
            push(out, t, qa, end.max(j), q);
            i = end.max(j);
        }
    }
}

/// An area counts as cleared only next to a clearance verb:
/// "cleared 1,250 hectares", "18,500 m2 were demined".
fn clearance_context(t: &Text, a: usize, b: usize, qa: usize, end: usize) -> bool {
    let clear = |k: usize| {
        let w = t.low(k);
        w.starts_with("clear") || w.starts_with("demin") || w.starts_with("cleans")
    };
    for k in (qa.saturating_sub(6).max(a)..qa).rev() {
        if t.is(k, &["and", ",", ";"]) {
            break;
        }
        if clear(k) {
            return true;
        }
    }
    (end..(end + 8).min(b))
        .take_while(|&k| !t.is(k, &["and", ",", ";"]))
        .any(clear)
}

fn round(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

fn aid_category(t: &Text, a: usize, b: usize, qa: usize, end: usize) -> Category {
    // "120 tonnes of flour and sugar"
    if t.is(end, &["of"]) {
        for k in end + 1..(end + 8).min(b) {
            if t.kind(k) == Some(Tk::Punct) && t.tok(k) != "-" {
                break;
            }
            if t.is(
                k,
                &[
                    "to", "for", "from", "into", "were", "was", "by", "on", "at", "which", "that",
                ],
            ) || t.number_at(k).is_some()
            {
                break;
            }
            if let Some(c) = aid_keyword(t, k) {
                return c;
            }
        }
    }
    // "fuel trucks carrying 80 tonnes"
    for k in (qa.saturating_sub(8).max(a)..qa).rev() {
        if let Some(c) = aid_keyword(t, k) {
            return c;
        }
    }
    Category::AidCargo
}

#[allow(clippy::too_many_arguments)]
fn person_category(
    t: &Text,
    ctx: &Ctx,
    a: usize,
    b: usize,
    qa: usize,
    j: usize,
    end: usize,
    noun: Noun,
) -> Option<Category> {
    if noun == Noun::Child {
        let incl = (qa.saturating_sub(4).max(a)..qa)
            .any(|k| t.is(k, &["including", "incl", "among", "them", "whom", "("]));
        if incl {
            return Some(Category::PeopleChildren);
        }
    }
    let sentence_has = |words: &[&str]| (a..b).any(|k| words.contains(&t.low(k)));
    let detainee_ish = matches!(noun, Noun::Detainee | Noun::Soldier)
        || (j..end).any(|k| t.is(k, &["detained", "captured", "held"]))
        || sentence_has(&[
            "prisoners",
            "pows",
            "detainees",
            "captivity",
            "captives",
            "detained",
            "swap",
            "exchange",
            "prisoner",
        ]);
    // Cues outside the quantity; a verb right before it ("released 12") wins.
    let mut best: Option<(usize, Cue)> = None;
    for k in a..b {
        if k >= qa && k < end {
            continue;
        }
        let Some(mut c) = cue(t.low(k)) else { continue };
        // "evacuated to hospital" is a casualty, not displacement.
        if c == Cue::Displace
            && t.is(k + 1, &["to"])
            && (k + 2..(k + 4).min(b)).any(|m| t.is(m, &["hospital", "hospitals"]))
        {
            c = Cue::Injure;
        }
        if c == Cue::Detain && t.low(k) == "held" && !detainee_ish {
            continue;
        }
        if c == Cue::Return
            && t.low(k) == "back"
            && !t.is(
                k.wrapping_sub(1),
                &["came", "come", "moved", "went", "brought", "sent"],
            )
        {
            continue;
        }
        let crossings = |x: usize, y: usize| {
            (x..y)
                .filter(|&m| t.is(m, &["and", ",", ";", "while", "but", "whereas"]))
                .count()
        };
        let score = if k < qa {
            if qa - k <= 2 && (k + 1..qa).all(|m| t.is(m, &["over", "back", "a", "the"])) {
                0
            } else {
                (qa - k) + 2 + 4 * crossings(k, qa)
            }
        } else {
            (k - end) + 4 * crossings(end, k)
        };
        if best.is_none_or(|(s, _)| score < s) {
            best = Some((score, c));
        }
    }
    let inside = (j..end).find_map(|k| cue(t.low(k)));
    // "killed or injured 100 people": neither figure alone.
    if let Some((_, Cue::Kill | Cue::Injure)) = best {
        let ambiguous = (a..b.saturating_sub(2)).any(|k| {
            matches!(cue(t.low(k)), Some(Cue::Kill | Cue::Injure))
                && t.is(k + 1, &["or"])
                && matches!(cue(t.low(k + 2)), Some(Cue::Kill | Cue::Injure))
        });
        if ambiguous {
            return None;
        }
    }
    // "returned to the Armenian side": handed to a party, not a return home.
    let to_party = (end..b).any(|k| {
        cue(t.low(k)) == Some(Cue::Return) && t.is(k + 1, &["to"]) && {
            let m = if t.is(k + 2, &["the"]) { k + 3 } else { k + 2 };
            actor_at(ctx, m).is_some()
        }
    });
    let chosen = best.map(|(_, c)| c).or(inside);
    let cat = match chosen {
        Some(Cue::Kill) => Category::PeopleKilled,
        Some(Cue::Injure) => Category::PeopleInjured,
        Some(Cue::Detain) => Category::PeopleDetained,
        Some(Cue::Release) => Category::PeopleDetaineesReturned,
        Some(Cue::Return) if detainee_ish || to_party => Category::PeopleDetaineesReturned,
        Some(Cue::Return) => Category::PeopleReturned,
        Some(Cue::Shelter) => Category::PeopleSheltered,
        Some(Cue::Displace) => Category::PeopleDisplaced,
        None => match noun {
            Noun::Child => Category::PeopleChildren,
            Noun::Displaced => Category::PeopleDisplaced,
            Noun::Returnee => Category::PeopleReturned,
            _ => return None,
        },
    };
    Some(cat)
}

fn party_of(t: &Text, ctx: &Ctx, cat: Category, j: usize, end: usize, b: usize) -> Option<String> {
    if matches!(
        cat,
        Category::PeopleDetaineesReturned | Category::PeopleReturned
    ) {
        // "... to Armenia", "... to the Armenian side"
        for k in end..b {
            if t.is(k, &["to"]) {
                let m = if t.is(k + 1, &["the"]) { k + 2 } else { k + 1 };
                if let Some((_, _, id)) = actor_at(ctx, m) {
                    return Some(id.clone());
                }
            }
        }
    }
    actor_in(ctx, j, end)
}
