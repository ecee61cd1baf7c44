//! Open-source intake: candidate facts from press releases, wire stories,
//! ministry statements and situation reports.
//!
//! Pure functions: text (plain, or HTML stripped of page furniture) plus an
//! optional publication date in, candidate [`Fact`]s out. Every fact carries
//! the byte span (`start`, `end`) of the input it came from and that text.
//! Extraction is rule-based behind the [`Extractor`] trait, so a statistical
//! model can be added later without touching callers. Nothing here reads
//! files, opens sockets or downloads anything: the gazetteer
//! (`data/am_az_places.csv`, GeoNames, CC BY 4.0) and the actor table are
//! compiled in.
//!
//! ```
//! use truce_intake::{Document, Extractor, FactData, RuleExtractor};
//! let doc = Document::plain("A convoy delivered 120 tonnes of flour to Khankendi on 12 March 2024.");
//! let facts = RuleExtractor::default().extract(&doc);
//! assert!(facts.iter().any(|f| matches!(&f.data, FactData::Quantity(q) if q.value == 120.0)));
//! ```
#![forbid(unsafe_code)]

mod actors;
mod context;
mod dates;
pub mod eval;
mod events;
mod gazetteer;
mod html;
mod quantity;
mod text;

/// Calendar dates (re-exported from `jiff`).
pub use jiff::civil::Date;
use serde::{Deserialize, Serialize};

pub use actors::{ACTORS_CSV, ActorRecord, ActorTable};
pub use context::{Context, contexts};
pub use gazetteer::{GAZETTEER_CSV, Gazetteer, PlaceRecord};
pub use html::strip_html;

/// Errors of this crate (data tables, expected-fact files).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The gazetteer CSV could not be read.
    #[error("gazetteer: {0}")]
    Gazetteer(String),
    /// The actor table could not be read.
    #[error("actor table: {0}")]
    Actors(String),
    /// An expected-facts file could not be read.
    #[error("expected facts: {0}")]
    Expected(String),
}

/// How the input is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Plain text.
    #[default]
    Plain,
    /// An HTML page; tags, scripts and page furniture are skipped.
    Html,
}

impl Format {
    /// Guesses the format from a file name (`.html`, `.htm` -> HTML).
    pub fn from_name(name: &str) -> Format {
        let l = name.to_ascii_lowercase();
        if l.ends_with(".html") || l.ends_with(".htm") || l.ends_with(".xhtml") {
            Format::Html
        } else {
            Format::Plain
        }
    }
}

/// One input document.
#[derive(Debug, Clone, Copy)]
pub struct Document<'a> {
    /// The whole input; spans are byte offsets into it.
    pub text: &'a str,
    /// Plain text or HTML.
    pub format: Format,
    /// Publication date: resolves "on Thursday", "yesterday", "12 March".
    pub published: Option<Date>,
}

impl<'a> Document<'a> {
    /// A plain-text document without a publication date.
    pub fn plain(text: &'a str) -> Self {
        Document {
            text,
            format: Format::Plain,
            published: None,
        }
    }

    /// Sets the publication date.
    pub fn published(mut self, date: Option<Date>) -> Self {
        self.published = date;
        self
    }

    /// Sets the format.
    pub fn format(mut self, format: Format) -> Self {
        self.format = format;
        self
    }
}

/// A candidate fact with where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fact {
    /// What was found.
    #[serde(flatten)]
    pub data: FactData,
    /// Byte offset of the first byte in the input (a char boundary).
    pub start: usize,
    /// Byte offset after the last byte in the input (a char boundary).
    pub end: usize,
    /// The words the fact came from (for HTML: with tags removed).
    pub text: String,
}

/// The kinds of fact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FactData {
    /// A figure: tonnes delivered, persons returned, posts, rounds of talks...
    Quantity(Quantity),
    /// A place resolved through the gazetteer.
    Place(Place),
    /// A calendar day.
    Date(DateFact),
    /// A party, state or organisation.
    Actor(Actor),
    /// The type of event a sentence reports.
    Event(Event),
}

impl FactData {
    /// `quantity`, `place`, `date`, `actor` or `event`.
    pub fn kind(&self) -> &'static str {
        match self {
            FactData::Quantity(_) => "quantity",
            FactData::Place(_) => "place",
            FactData::Date(_) => "date",
            FactData::Actor(_) => "actor",
            FactData::Event(_) => "event",
        }
    }
}

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident => $s:literal,)+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vm])* #[serde(rename = $s)] $v,)+
        }
        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$v,)+];
            /// The wire name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s,)+ }
            }
            /// Parses the wire name.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some($name::$v),)+ _ => None }
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum! {
    /// What a quantity counts or weighs.
    Category {
        /// Humanitarian cargo, aid or goods in general (t).
        AidCargo => "aid.cargo",
        /// Fuel (t).
        AidFuel => "aid.fuel",
        /// Food (t).
        AidFood => "aid.food",
        /// Medicines and medical supplies (t).
        AidMedical => "aid.medical",
        /// Construction or building material (t).
        AidConstruction => "aid.construction",
        /// Persons housed or accommodated at a site.
        PeopleSheltered => "people.sheltered",
        /// Children among a group just mentioned.
        PeopleChildren => "people.children",
        /// Displaced persons who returned home.
        PeopleReturned => "people.returned",
        /// Persons displaced.
        PeopleDisplaced => "people.displaced",
        /// Prisoners of war, detainees or persons held who were returned or released.
        PeopleDetaineesReturned => "people.detainees_returned",
        /// Persons captured or detained.
        PeopleDetained => "people.detained",
        /// Persons killed.
        PeopleKilled => "people.killed",
        /// Persons injured.
        PeopleInjured => "people.injured",
        /// Observation posts.
        PostsObservation => "posts.observation",
        /// Packages or sets of minefield maps handed over.
        MinesMapPackages => "mines.map_packages",
        /// Area cleared of mines (m2).
        MinesAreaCleared => "mines.area_cleared",
        /// A distance, e.g. an advance or incursion (km).
        Distance => "distance",
        /// Rounds of talks or discussions.
        TalksRounds => "talks.rounds",
        /// Ceasefire violations recorded (0 when none were).
        ViolationsCeasefire => "violations.ceasefire",
    }
}

string_enum! {
    /// Normalised units.
    Unit {
        /// Metric tonnes.
        Tonne => "t",
        /// Square metres.
        SquareMetre => "m2",
        /// Kilometres.
        Kilometre => "km",
        /// Persons.
        Person => "person",
        /// A count of things.
        Count => "count",
    }
}

string_enum! {
    /// How exact a figure is.
    Qualifier {
        /// "over", "more than", "at least".
        MoreThan => "more_than",
        /// "up to".
        UpTo => "up_to",
        /// "about", "around", "some", "nearly".
        About => "about",
        /// "less than", "fewer than", "under".
        LessThan => "less_than",
    }
}

string_enum! {
    /// The type of event a sentence reports.
    EventType {
        /// Firing, shelling or another breach of the ceasefire.
        CeasefireViolation => "ceasefire_violation",
        /// Another incident: explosion, mine blast, casualties.
        Incident => "incident",
        /// A convoy or delivery of aid or goods.
        Delivery => "delivery",
        /// An exchange or handover of detainees, remains or maps.
        Exchange => "exchange",
        /// A meeting or round of talks.
        Meeting => "meeting",
        /// An agreement reached or signed.
        Agreement => "agreement",
        /// A statement, announcement or declaration.
        Statement => "statement",
    }
}

/// A figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quantity {
    /// What it counts or weighs.
    pub category: Category,
    /// The value in `unit`.
    pub value: f64,
    /// The normalised unit.
    pub unit: Unit,
    /// Bounds or approximation, when the text gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qualifier: Option<Qualifier>,
    /// The actor id of the side it concerns (e.g. who received returned detainees).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party: Option<String>,
    /// The period the figure covers, as written ("in two days", "since 1 May").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
}

/// A place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Place {
    /// The name as written.
    pub name: String,
    /// The gazetteer's main name.
    pub canonical: String,
    /// GeoNames id, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geonameid: Option<u64>,
    /// Latitude, WGS84.
    pub lat: f64,
    /// Longitude, WGS84.
    pub lon: f64,
    /// Country code as filed by GeoNames.
    pub country_code: String,
}

/// A calendar day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DateFact {
    /// The day.
    pub date: Date,
    /// Resolved against the publication date ("on Thursday", "yesterday", or a day without year).
    pub relative: bool,
}

/// An actor or party.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Actor {
    /// The name as written.
    pub name: String,
    /// The actor id from the actor table.
    pub actor: String,
    /// `state`, `mission`, `organisation`, ...
    pub actor_kind: String,
}

/// The event type of one sentence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The type.
    pub event_type: EventType,
    /// The word that decided it.
    pub trigger: String,
}

/// Turns a document into candidate facts.
pub trait Extractor {
    /// Candidate facts in order of their start offset. Never panics; every
    /// span lies inside `doc.text` on char boundaries.
    fn extract(&self, doc: &Document<'_>) -> Vec<Fact>;
}

/// The rule-based extractor: token rules, the gazetteer and the actor table.
#[derive(Debug, Clone, Copy)]
pub struct RuleExtractor {
    gazetteer: &'static Gazetteer,
    actors: &'static ActorTable,
}

impl Default for RuleExtractor {
    fn default() -> Self {
        RuleExtractor {
            gazetteer: Gazetteer::builtin(),
            actors: ActorTable::builtin(),
        }
    }
}

impl RuleExtractor {
    /// An extractor with other tables (leaked once: extractors live for the process).
    pub fn with_tables(gazetteer: &'static Gazetteer, actors: &'static ActorTable) -> Self {
        RuleExtractor { gazetteer, actors }
    }
}

/// A span in the analysed text plus what was found there.
pub(crate) struct Raw {
    pub start: usize,
    pub end: usize,
    pub data: FactData,
}

impl Extractor for RuleExtractor {
    fn extract(&self, doc: &Document<'_>) -> Vec<Fact> {
        match doc.format {
            Format::Plain => {
                let raws = self.analyse(doc.text, doc.published);
                raws.into_iter()
                    .map(|r| Fact {
                        text: doc.text[r.start..r.end].to_string(),
                        start: r.start,
                        end: r.end,
                        data: r.data,
                    })
                    .collect()
            }
            Format::Html => {
                let stripped = strip_html(doc.text);
                let raws = self.analyse(&stripped.text, doc.published);
                raws.into_iter()
                    .map(|r| {
                        let (start, end) = stripped.source_span(r.start, r.end);
                        Fact {
                            text: stripped.text[r.start..r.end].to_string(),
                            start,
                            end,
                            data: r.data,
                        }
                    })
                    .collect()
            }
        }
    }
}

impl RuleExtractor {
    fn analyse(&self, s: &str, published: Option<Date>) -> Vec<Raw> {
        let t = text::Text::new(s);
        let mut out = Vec::new();
        let date_hits = dates::find(&t, published);
        let mut used = vec![false; t.toks.len()];
        for h in &date_hits {
            used[h.a..h.b].iter_mut().for_each(|u| *u = true);
            let r = t.span(h.a, h.b);
            out.push(Raw {
                start: r.start,
                end: r.end,
                data: FactData::Date(DateFact {
                    date: h.date,
                    relative: h.relative,
                }),
            });
        }
        // Actors first (longest match), then places on what is left.
        let mut actor_hits = Vec::new();
        let mut place_hits = Vec::new();
        for sent in &t.sents {
            let mut i = sent.start;
            while i < sent.end {
                if let Some((a, j)) = self.actors.match_at(&t, i, sent.end)
                    && t.low_at(j) != ":"
                {
                    actor_hits.push((i, j, a.id.clone()));
                    let r = t.span(i, j);
                    out.push(Raw {
                        start: r.start,
                        end: r.end,
                        data: FactData::Actor(Actor {
                            name: t.src[r.clone()].to_string(),
                            actor: a.id.clone(),
                            actor_kind: a.kind.clone(),
                        }),
                    });
                    i = j;
                } else if let Some((p, j)) = self.gazetteer.match_at(&t, i, sent.end)
                    && !admin_area_follows(&t, j, sent.end)
                {
                    place_hits.push((i, j));
                    let r = t.span(i, j);
                    out.push(Raw {
                        start: r.start,
                        end: r.end,
                        data: FactData::Place(Place {
                            name: t.src[r.clone()].to_string(),
                            canonical: p.name.clone(),
                            geonameid: p.geonameid,
                            lat: p.lat,
                            lon: p.lon,
                            country_code: p.country_code.clone(),
                        }),
                    });
                    i = j;
                } else {
                    i += 1;
                }
            }
        }
        let ctx = quantity::Ctx {
            used: &used,
            actors: &actor_hits,
            dates: &date_hits,
        };
        quantity::find(&t, &ctx, &mut out);
        events::find(&t, &mut out);
        out.sort_by_key(|r| (r.start, r.end));
        out
    }
}

/// "Syunik province", "Syunik and Vayots Dzor provinces": a first-level
/// area named like a village, not the village.
fn admin_area_follows(t: &text::Text, j: usize, end: usize) -> bool {
    const AREA: &[&str] = &[
        "province",
        "provinces",
        "region",
        "regions",
        "marz",
        "marzes",
        "oblast",
        "governorate",
    ];
    for k in j..(j + 5).min(end) {
        if t.is(k, AREA) {
            return true;
        }
        if !(t.is(k, &["and", ","]) || (t.kind(k) == Some(text::Tk::Word) && t.capitalised(k))) {
            return false;
        }
    }
    false
}

/// Extracts with the default [`RuleExtractor`].
pub fn extract(doc: &Document<'_>) -> Vec<Fact> {
    RuleExtractor::default().extract(doc)
}
