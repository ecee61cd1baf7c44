//! Places by any of their names: the GeoNames-derived gazetteer of Armenia
//! and Azerbaijan (see `data/README.md`), with its multilingual alternate
//! names and ASCII transliterations of the Latin, Cyrillic and Armenian ones.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use serde::Deserialize;

use crate::text::{Text, Tk};

/// The built-in gazetteer CSV (GeoNames, CC BY 4.0).
pub const GAZETTEER_CSV: &str = include_str!("../data/am_az_places.csv");
/// Names that are never places in running text (common words), one a line.
const STOP_NAMES: &str = include_str!("../data/stop_names.txt");

/// One populated place.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaceRecord {
    /// GeoNames id, when the source row has one.
    pub geonameid: Option<u64>,
    /// The gazetteer's main name.
    pub name: String,
    /// Latitude, WGS84.
    pub lat: f64,
    /// Longitude, WGS84.
    pub lon: f64,
    /// ISO 3166-1 alpha-2 code as filed by GeoNames.
    pub country_code: String,
    /// First-level administrative division, when known.
    pub admin1_name: String,
    /// Population, when known.
    pub population: Option<u64>,
    /// GeoNames feature code (PPLC, PPLA, ...), when known.
    pub feature_code: String,
}

#[derive(Deserialize)]
struct Row {
    geonameid: Option<u64>,
    name: String,
    alt_names: String,
    lat: f64,
    lon: f64,
    country_code: String,
    admin1_name: String,
    population: Option<u64>,
    feature_code: String,
}

/// A name index over places.
#[derive(Debug)]
pub struct Gazetteer {
    places: Vec<PlaceRecord>,
    /// Normalised name (tokens joined by one space) -> place index.
    index: HashMap<String, u32>,
    /// Normalised first tokens of every name.
    first: HashSet<String>,
    max_tokens: usize,
}

/// Lowercase, strip combining dots (Turkish İ), unify apostrophes.
pub(crate) fn norm_token(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    s.chars()
        .flat_map(char::to_lowercase)
        .filter(|&c| c != '\u{307}')
        .map(|c| match c {
            '’' | 'ʼ' | 'ʻ' | '`' => '\'',
            c => c,
        })
        .collect()
}

fn key_of(name: &str) -> Option<(String, usize)> {
    let t = Text::new(name);
    if t.toks.is_empty() || t.toks[0].kind != Tk::Word {
        return None;
    }
    let mut k = String::new();
    for i in 0..t.toks.len() {
        if i > 0 {
            k.push(' ');
        }
        k.push_str(&norm_token(t.tok(i)));
    }
    Some((k, t.toks.len()))
}

/// Latin with diacritics, Cyrillic or Armenian: worth an ASCII variant.
fn transliterable(s: &str) -> bool {
    !s.is_ascii()
        && s.chars().all(|c| {
            c.is_ascii()
                || ('\u{00C0}'..='\u{024F}').contains(&c)
                || ('\u{0259}'..='\u{02FF}').contains(&c)
                || ('\u{0400}'..='\u{04FF}').contains(&c)
                || ('\u{0530}'..='\u{058F}').contains(&c)
                || ('\u{1E00}'..='\u{1EFF}').contains(&c)
        })
}

impl Gazetteer {
    /// Builds a gazetteer from CSV with the columns of
    /// `data/am_az_places.csv` (`alt_names` separated by `|`).
    pub fn from_csv(csv_text: &str) -> Result<Self, crate::Error> {
        let stop: HashSet<&str> = STOP_NAMES
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        let mut rdr = csv::Reader::from_reader(csv_text.as_bytes());
        let mut places = Vec::new();
        // key -> (rank, place); a lower rank wins.
        let mut best: HashMap<String, ((u8, std::cmp::Reverse<u64>), u32)> = HashMap::new();
        let mut max_tokens = 1;
        for row in rdr.deserialize::<Row>() {
            let r = row.map_err(|e| crate::Error::Gazetteer(e.to_string()))?;
            let idx = places.len() as u32;
            let feature_rank = match r.feature_code.as_str() {
                "PPLC" => 0,
                "PPLA" => 1,
                "PPLA2" => 2,
                _ => 3,
            };
            let pop = std::cmp::Reverse(r.population.unwrap_or(0));
            let mut names: Vec<(String, u8)> = vec![(r.name.clone(), 0)];
            for a in r.alt_names.split('|') {
                let a = a.trim();
                if !a.is_empty() && !a.contains("  ") {
                    names.push((a.to_string(), 1));
                }
            }
            let mut extra = Vec::new();
            for (n, pri) in &names {
                if transliterable(n) {
                    let d = deunicode::deunicode(n);
                    if d.chars()
                        .all(|c| c.is_ascii_alphabetic() || " -'".contains(c))
                    {
                        extra.push((d, pri + 1));
                    }
                }
            }
            names.extend(extra);
            for (n, pri) in names {
                let first = n.chars().next().unwrap_or(' ');
                if n.chars().count() < 3 || first.is_lowercase() || !first.is_alphabetic() {
                    continue;
                }
                let Some((key, len)) = key_of(&n) else {
                    continue;
                };
                if stop.contains(key.as_str()) {
                    continue;
                }
                max_tokens = max_tokens.max(len);
                let rank = (pri * 4 + feature_rank, pop);
                match best.get(&key) {
                    Some((r0, _)) if *r0 <= rank => {}
                    _ => {
                        best.insert(key, (rank, idx));
                    }
                }
            }
            places.push(PlaceRecord {
                geonameid: r.geonameid,
                name: r.name,
                lat: r.lat,
                lon: r.lon,
                country_code: r.country_code,
                admin1_name: r.admin1_name,
                population: r.population,
                feature_code: r.feature_code,
            });
        }
        let index: HashMap<String, u32> = best.into_iter().map(|(k, (_, i))| (k, i)).collect();
        let first = index
            .keys()
            .map(|k| k.split(' ').next().unwrap_or("").to_string())
            .collect();
        Ok(Gazetteer {
            places,
            index,
            first,
            max_tokens,
        })
    }

    /// The built-in gazetteer (parsed once).
    pub fn builtin() -> &'static Gazetteer {
        static G: LazyLock<Gazetteer> = LazyLock::new(|| {
            Gazetteer::from_csv(GAZETTEER_CSV).expect("the built-in gazetteer parses")
        });
        &G
    }

    /// Every place.
    pub fn places(&self) -> &[PlaceRecord] {
        &self.places
    }

    /// The place a name (in any of its scripts and spellings) refers to.
    pub fn lookup(&self, name: &str) -> Option<&PlaceRecord> {
        let (k, _) = key_of(name)?;
        self.index.get(&k).map(|&i| &self.places[i as usize])
    }

    /// Longest place name starting at token `i`: (place, token after it).
    pub(crate) fn match_at(&self, t: &Text, i: usize, end: usize) -> Option<(&PlaceRecord, usize)> {
        if t.toks[i].kind != Tk::Word || !t.capitalised(i) {
            return None;
        }
        let k0 = t.norm(i);
        if !self.first.contains(k0.as_ref()) {
            return None;
        }
        let mut key = k0.into_owned();
        let mut found = self.index.get(&key).map(|&p| (p, i + 1));
        let mut j = i + 1;
        while j < end && j - i < self.max_tokens {
            // Multi-token names are written without gaps or with single spaces.
            if t.toks[j].nl > 0 {
                break;
            }
            key.push(' ');
            key.push_str(&t.norm(j));
            j += 1;
            if let Some(&p) = self.index.get(&key) {
                found = Some((p, j));
            }
        }
        // A name followed by a hyphen and a capitalised word might be a longer
        // name we do not know; a name glued to a following word is not a name.
        found.map(|(p, j)| (&self.places[p as usize], j))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multilingual_names_resolve_to_one_place() {
        let g = Gazetteer::builtin();
        let ids: Vec<Option<u64>> = [
            "Khankendi",
            "Stepanakert",
            "Ստեփանակերտ",
            "Степанакерт",
            "Xankəndi",
        ]
        .iter()
        .map(|n| g.lookup(n).map(|p| p.geonameid.unwrap_or(0)))
        .collect();
        assert!(ids.iter().all(|i| *i == Some(146970)), "{ids:?}");
        assert_eq!(g.lookup("Shushi").and_then(|p| p.geonameid), Some(147105));
        assert_eq!(g.lookup("Berdzor").and_then(|p| p.geonameid), Some(147625));
        assert_eq!(
            g.lookup("Martakert").map(|p| p.name.as_str()),
            Some("Martakert")
        );
        assert!(g.lookup("Xankendi").is_some());
    }
}
