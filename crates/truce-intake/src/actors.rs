//! Actors and parties by name, from a data table (`data/actors.csv`): no
//! party is named in code.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use crate::gazetteer::norm_token;
use crate::text::{Text, Tk};

/// The built-in actor table: `id,kind,names` with `|`-separated names.
pub const ACTORS_CSV: &str = include_str!("../data/actors.csv");

/// One actor or party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorRecord {
    /// Stable id, e.g. the slug of the party in the mission's data.
    pub id: String,
    /// `state`, `mission`, `organisation`, ...
    pub kind: String,
}

/// A name index over actors.
#[derive(Debug)]
pub struct ActorTable {
    actors: Vec<ActorRecord>,
    /// Normalised name -> (actor, the alias when it must match exactly, e.g. acronyms).
    index: HashMap<String, (u32, Option<String>)>,
    first: HashSet<String>,
    max_tokens: usize,
}

impl ActorTable {
    /// Parses a table with the columns `id,kind,names`.
    pub fn from_csv(text: &str) -> Result<Self, crate::Error> {
        let mut rdr = csv::Reader::from_reader(text.as_bytes());
        let mut actors = Vec::new();
        let mut index = HashMap::new();
        let mut max_tokens = 1;
        for rec in rdr.records() {
            let rec = rec.map_err(|e| crate::Error::Actors(e.to_string()))?;
            let (Some(id), Some(kind), Some(names)) = (rec.get(0), rec.get(1), rec.get(2)) else {
                return Err(crate::Error::Actors("a row needs id,kind,names".into()));
            };
            let a = actors.len() as u32;
            actors.push(ActorRecord {
                id: id.to_string(),
                kind: kind.to_string(),
            });
            for n in names.split('|').map(str::trim).filter(|n| !n.is_empty()) {
                let t = Text::new(n);
                let key: Vec<String> = (0..t.toks.len()).map(|i| norm_token(t.tok(i))).collect();
                max_tokens = max_tokens.max(key.len());
                let exact = (n
                    .chars()
                    .filter(|c| c.is_alphabetic())
                    .all(char::is_uppercase))
                .then(|| n.to_string());
                index.entry(key.join(" ")).or_insert((a, exact));
            }
        }
        let first = index
            .keys()
            .map(|k: &String| k.split(' ').next().unwrap_or("").to_string())
            .collect();
        Ok(ActorTable {
            actors,
            index,
            first,
            max_tokens,
        })
    }

    /// The built-in table.
    pub fn builtin() -> &'static ActorTable {
        static A: LazyLock<ActorTable> = LazyLock::new(|| {
            ActorTable::from_csv(ACTORS_CSV).expect("the built-in actor table parses")
        });
        &A
    }

    /// Every actor.
    pub fn actors(&self) -> &[ActorRecord] {
        &self.actors
    }

    /// Longest actor name starting at token `i`: (actor, token after it).
    pub(crate) fn match_at(&self, t: &Text, i: usize, end: usize) -> Option<(&ActorRecord, usize)> {
        if t.toks[i].kind != Tk::Word || !t.capitalised(i) {
            return None;
        }
        let k0 = t.norm(i);
        if !self.first.contains(k0.as_ref()) {
            return None;
        }
        let mut key = k0.into_owned();
        let mut found = None;
        let check = |key: &str, j: usize| {
            self.index.get(key).and_then(|(a, exact)| match exact {
                Some(e) if t.src[t.toks[i].start..t.toks[j - 1].end] != *e => None,
                _ => Some((*a, j)),
            })
        };
        if let Some(f) = check(&key, i + 1) {
            found = Some(f);
        }
        let mut j = i + 1;
        while j < end && j - i < self.max_tokens && t.toks[j].nl == 0 {
            key.push(' ');
            key.push_str(&t.norm(j));
            j += 1;
            if let Some(f) = check(&key, j) {
                found = Some(f);
            }
        }
        found.map(|(a, j)| (&self.actors[a as usize], j))
    }
}
