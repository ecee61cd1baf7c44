//! Scoring extracted facts against hand-labelled expectations (the corpus
//! test and the benchmark). Matching is per document and per distinct fact:
//! a figure repeated in headline and body counts once.
//!
//! Quantities match on (category, value, unit); places on GeoNames id (or
//! the gazetteer name for rows without one); dates on the day; actors on the
//! actor id; events on the event type.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use serde::Deserialize;

use crate::{Category, EventType, Fact, FactData, Format, Qualifier, Unit};

/// The hand-labelled facts of one corpus document (`NN-name.expected.json`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    /// Publication date passed to the extractor.
    #[serde(default)]
    pub published: Option<Date>,
    /// Outlet style (wire, ministry, magazine, sitrep...); informative.
    #[serde(default)]
    pub style: Option<String>,
    /// Expected quantities.
    #[serde(default)]
    pub quantities: Vec<ExpectedQuantity>,
    /// Expected places: GeoNames ids, or gazetteer names for rows without one.
    #[serde(default)]
    pub places: Vec<PlaceKey>,
    /// Expected days.
    #[serde(default)]
    pub dates: Vec<Date>,
    /// Expected actor ids.
    #[serde(default)]
    pub actors: Vec<String>,
    /// Expected event types.
    #[serde(default)]
    pub events: Vec<EventType>,
}

/// One expected quantity.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedQuantity {
    /// Category.
    pub category: Category,
    /// Value in `unit`.
    pub value: f64,
    /// Unit.
    pub unit: Unit,
    /// Qualifier, when the text gives one.
    #[serde(default)]
    pub qualifier: Option<Qualifier>,
    /// The words (informative, for the labeller).
    #[serde(default)]
    pub text: Option<String>,
}

/// How an expected place is named.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(untagged)]
pub enum PlaceKey {
    /// GeoNames id.
    Id(u64),
    /// Gazetteer main name (rows without an id).
    Name(String),
}

impl Expected {
    /// Parses an expected-facts file.
    pub fn from_json(s: &str) -> Result<Self, crate::Error> {
        serde_json::from_str(s).map_err(|e| crate::Error::Expected(e.to_string()))
    }
}

/// True positives, false positives, false negatives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Found and expected.
    pub tp: usize,
    /// Found, not expected.
    pub fp: usize,
    /// Expected, not found.
    pub fn_: usize,
}

impl Counts {
    /// tp / (tp + fp); 1 when nothing was found.
    pub fn precision(&self) -> f64 {
        if self.tp + self.fp == 0 {
            1.0
        } else {
            self.tp as f64 / (self.tp + self.fp) as f64
        }
    }
    /// tp / (tp + fn); 1 when nothing was expected.
    pub fn recall(&self) -> f64 {
        if self.tp + self.fn_ == 0 {
            1.0
        } else {
            self.tp as f64 / (self.tp + self.fn_) as f64
        }
    }
    /// Harmonic mean of precision and recall.
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
    fn add(&mut self, o: Counts) {
        self.tp += o.tp;
        self.fp += o.fp;
        self.fn_ += o.fn_;
    }
}

/// Counts per label: `quantity`, `quantity:aid.food`, `place`, `date`,
/// `actor`, `event`; plus mismatches for the report.
#[derive(Debug, Clone, Default)]
pub struct Scores {
    /// Counts by label.
    pub by_label: BTreeMap<String, Counts>,
    /// Matched quantities whose qualifier agreed / all matched quantities.
    pub qualifier_agree: (usize, usize),
    /// "doc: fp|fn label key" lines, for debugging.
    pub errors: Vec<String>,
}

impl Scores {
    /// Adds another document's scores.
    pub fn merge(&mut self, o: Scores) {
        for (k, c) in o.by_label {
            self.by_label.entry(k).or_default().add(c);
        }
        self.qualifier_agree.0 += o.qualifier_agree.0;
        self.qualifier_agree.1 += o.qualifier_agree.1;
        self.errors.extend(o.errors);
    }

    /// Counts for a label (zero when absent).
    pub fn get(&self, label: &str) -> Counts {
        self.by_label.get(label).copied().unwrap_or_default()
    }

    /// A Markdown table: label, tp, fp, fn, precision, recall, F1.
    pub fn table(&self) -> String {
        let mut s = String::from(
            "| category | tp | fp | fn | precision | recall | F1 |\n|---|---:|---:|---:|---:|---:|---:|\n",
        );
        for (k, c) in &self.by_label {
            s.push_str(&format!(
                "| {k} | {} | {} | {} | {:.3} | {:.3} | {:.3} |\n",
                c.tp,
                c.fp,
                c.fn_,
                c.precision(),
                c.recall(),
                c.f1()
            ));
        }
        s
    }
}

fn qkey(c: Category, v: f64, u: Unit) -> (Category, i64, Unit) {
    (c, (v * 1000.0).round() as i64, u)
}

fn compare<K: Ord + Clone + std::fmt::Debug>(
    doc: &str,
    label: &str,
    found: &BTreeSet<K>,
    expected: &BTreeSet<K>,
    scores: &mut Scores,
    per: impl Fn(&K) -> Option<String>,
) {
    let mut add = |l: String, c: Counts| scores.by_label.entry(l).or_default().add(c);
    for k in found {
        let hit = expected.contains(k);
        let c = if hit {
            Counts {
                tp: 1,
                ..Default::default()
            }
        } else {
            Counts {
                fp: 1,
                ..Default::default()
            }
        };
        add(label.to_string(), c);
        if let Some(sub) = per(k) {
            add(format!("{label}:{sub}"), c);
        }
        if !hit {
            scores.errors.push(format!("{doc}: FP {label} {k:?}"));
        }
    }
    for k in expected.difference(found) {
        let c = Counts {
            fn_: 1,
            ..Default::default()
        };
        add(label.to_string(), c);
        if let Some(sub) = per(k) {
            add(format!("{label}:{sub}"), c);
        }
        scores.errors.push(format!("{doc}: FN {label} {k:?}"));
    }
}

/// Scores one document's facts against its expectations.
pub fn score(doc: &str, facts: &[Fact], exp: &Expected) -> Scores {
    let mut s = Scores::default();
    let mut q_found = BTreeSet::new();
    let mut q_qual: BTreeMap<(Category, i64, Unit), Option<Qualifier>> = BTreeMap::new();
    let (mut p_found, mut d_found, mut a_found, mut e_found) = (
        BTreeSet::new(),
        BTreeSet::new(),
        BTreeSet::new(),
        BTreeSet::new(),
    );
    for f in facts {
        match &f.data {
            FactData::Quantity(q) => {
                let k = qkey(q.category, q.value, q.unit);
                q_qual.entry(k).or_insert(q.qualifier);
                q_found.insert(k);
            }
            FactData::Place(p) => {
                p_found.insert(match p.geonameid {
                    Some(id) => PlaceKey::Id(id),
                    None => PlaceKey::Name(p.canonical.clone()),
                });
            }
            FactData::Date(d) => {
                d_found.insert(d.date);
            }
            FactData::Actor(a) => {
                a_found.insert(a.actor.clone());
            }
            FactData::Event(e) => {
                e_found.insert(e.event_type);
            }
        }
    }
    let q_exp: BTreeSet<_> = exp
        .quantities
        .iter()
        .map(|q| qkey(q.category, q.value, q.unit))
        .collect();
    for q in &exp.quantities {
        let k = qkey(q.category, q.value, q.unit);
        if let Some(found) = q_qual.get(&k) {
            s.qualifier_agree.1 += 1;
            if *found == q.qualifier {
                s.qualifier_agree.0 += 1;
            } else {
                s.errors.push(format!(
                    "{doc}: qualifier {k:?} found {found:?} expected {:?}",
                    q.qualifier
                ));
            }
        }
    }
    compare(doc, "quantity", &q_found, &q_exp, &mut s, |k| {
        Some(k.0.as_str().to_string())
    });
    let p_exp: BTreeSet<_> = exp.places.iter().cloned().collect();
    compare(doc, "place", &p_found, &p_exp, &mut s, |_| None);
    let d_exp: BTreeSet<_> = exp.dates.iter().copied().collect();
    compare(doc, "date", &d_found, &d_exp, &mut s, |_| None);
    let a_exp: BTreeSet<_> = exp.actors.iter().cloned().collect();
    compare(doc, "actor", &a_found, &a_exp, &mut s, |_| None);
    let e_exp: BTreeSet<_> = exp.events.iter().copied().collect();
    compare(doc, "event", &e_found, &e_exp, &mut s, |_| None);
    s
}

/// The format a corpus file name implies.
pub fn format_of(name: &str) -> Format {
    Format::from_name(name)
}
