//! People and agreements in the demo mission: a base camp and a collective
//! centre with household registrations (counts only), return and
//! displacement flows, persons of concern with names in several scripts, an
//! exchange that moves its cases atomically, an agreement whose provisions
//! stand at different statuses with evidence, and a round of talks with
//! follow-up actions.
//!
//! Every person is fictitious: the surnames are built on words for
//! "example", "sample" and "test" (Օրինակ, Nümunə, Նմուշ, Sınaq, Misal,
//! Փորձ) and describe no one. Every change goes through the same core
//! functions as the API actions (`apply_to_cases`, `report`, ...).

use anyhow::{Result, anyhow};
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde_json::{Value, json};
use truce_core::agreements::{ImplementationStatus, Provision, StatusRequest};
use truce_core::people::{Exchange, PersonCase};
use truce_core::shelter::utc_date;
use truce_core::{EntityKind, ValidationContext};
use truce_store::{Change, Command};
use uuid::Uuid;

struct Demo {
    now: Timestamp,
    out: Vec<Command>,
}

impl Demo {
    fn ctx(&self) -> ValidationContext {
        ValidationContext { now: self.now }
    }

    fn change(
        &self,
        kind: EntityKind,
        id: Uuid,
        data: impl Serialize,
        version: Option<u64>,
    ) -> Result<Change> {
        let data = serde_json::to_value(data)?;
        let record = kind
            .validate_json(data, &self.ctx())
            .map_err(|e| anyhow!("demo {kind}: {e}"))?;
        Ok(match version {
            None => Change::Create {
                kind,
                id,
                sensitivity: kind.default_sensitivity(),
                record,
            },
            Some(v) => Change::Update {
                kind,
                id,
                if_version: Some(v),
                sensitivity: None,
                record,
            },
        })
    }

    fn push(&mut self, actor: &str, change: Change) {
        self.out.push(Command {
            actor: actor.into(),
            reason: Some("demo scenario".into()),
            idempotency: None,
            change,
        });
    }

    fn create(&mut self, actor: &str, kind: EntityKind, data: Value) -> Result<Uuid> {
        let id = Uuid::now_v7();
        let c = self.change(kind, id, data, None)?;
        self.push(actor, c);
        Ok(id)
    }

    fn ago(&self, days: i64, hours: i64) -> Timestamp {
        self.now - SignedDuration::from_hours(24 * days + hours)
    }

    fn day(&self, days: i64) -> Date {
        utc_date(self.ago(days, 0))
    }
}

/// A small deterministic generator (the demo must not depend on the clock
/// for its numbers).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u32) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % u64::from(n)) as u32
    }
}

/// A fictitious person of concern: kind, reference, name, other spellings,
/// sex, birth year, held by A?, status.
type CaseRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static str,
    i32,
    bool,
    &'static str,
);

/// Status reports of a provision: status, days ago, evidence.
type Reports = Vec<(ImplementationStatus, i64, Vec<Uuid>)>;

/// Fictitious persons of concern.
const CASES: &[CaseRow] = &[
    (
        "missing_person",
        "PC-0001",
        "Armen Orinakyan",
        &["Արմեն Օրինակյան"],
        "male",
        1994,
        false,
        "missing",
    ),
    (
        "prisoner_of_war",
        "PC-0002",
        "Армен Оринакян",
        &["Armen Orinakian"],
        "male",
        1994,
        true,
        "held",
    ),
    (
        "missing_person",
        "PC-0003",
        "Orxan Nümunəli",
        &["Орхан Нюмунели"],
        "male",
        1989,
        true,
        "missing",
    ),
    (
        "detainee",
        "PC-0004",
        "Orkhan Numunali",
        &[],
        "male",
        1990,
        false,
        "held",
    ),
    (
        "prisoner_of_war",
        "PC-0005",
        "Davit Nmushyan",
        &["Դավիթ Նմուշյան", "Давид Нмушян"],
        "male",
        1998,
        true,
        "held",
    ),
    (
        "prisoner_of_war",
        "PC-0006",
        "Gevorg Pordzyan",
        &["Գևորգ Փորձյան"],
        "male",
        2000,
        true,
        "held",
    ),
    (
        "civilian_held",
        "PC-0007",
        "Anahit Nmushyan",
        &["Անահիտ Նմուշյան"],
        "female",
        1971,
        true,
        "held",
    ),
    (
        "prisoner_of_war",
        "PC-0008",
        "Elçin Sınaqov",
        &["Эльчин Сынагов", "Elchin Sinagov"],
        "male",
        1997,
        false,
        "held",
    ),
    (
        "detainee",
        "PC-0009",
        "Rəşad Misalov",
        &["Rashad Misalov"],
        "male",
        1985,
        false,
        "held",
    ),
    (
        "human_remains",
        "PC-0010",
        "Tural Sınaqlı",
        &["Турал Сынаглы"],
        "male",
        1999,
        false,
        "deceased",
    ),
    (
        "missing_person",
        "PC-0011",
        "Aram Pordzyan",
        &["Арам Порцян"],
        "male",
        1996,
        false,
        "missing",
    ),
];

/// The commands of the people and agreements part of the scenario.
pub fn scenario(now: Timestamp, [party_a, party_b]: [Uuid; 2]) -> Result<Vec<Command>> {
    let mut d = Demo {
        now,
        out: Vec::new(),
    };
    let mut rng = Lcg(5);

    // Shelter: the mission's base camp near capacity, and a collective centre.
    let camp = d.create(
        "protection",
        EntityKind::ShelterSite,
        json!({"name": "Mission base camp (illustrative)", "kind": "base_camp",
               "location": {"lat": 39.62, "lon": 46.41}, "capacity_day": 300, "capacity_night": 160,
               "opened_on": d.day(30), "notes": "Emergency shelter in the camp's tent lines."}),
    )?;
    let centre = d.create(
        "protection",
        EntityKind::ShelterSite,
        json!({"name": "Collective centre, school No. 2 (illustrative)", "kind": "collective_centre",
               "location": {"lat": 39.98, "lon": 46.93}, "capacity_day": 200, "capacity_night": 120,
               "opened_on": d.day(25)}),
    )?;
    let statuses = ["idp", "idp", "idp", "returnee", "refugee"];
    for (site, households, prefix) in [(camp, 44, "BC"), (centre, 20, "CC")] {
        for h in 0..households {
            let band = |rng: &mut Lcg, max| rng.next(max);
            let people = json!({
                "female": {"age_0_4": band(&mut rng, 2), "age_5_17": band(&mut rng, 3), "age_18_59": 1 + band(&mut rng, 2), "age_60_plus": band(&mut rng, 2)},
                "male": {"age_0_4": band(&mut rng, 2), "age_5_17": band(&mut rng, 2), "age_18_59": band(&mut rng, 2), "age_60_plus": band(&mut rng, 2)},
            });
            let arrived = 2 + i64::from(rng.next(24));
            let left = (h % 4 == 0).then(|| arrived - 1 - i64::from(rng.next(arrived as u32 - 1)));
            let mut reg = json!({
                "site": site, "household": format!("{prefix}-{:03}", h + 1), "people": people,
                "displacement_status": statuses[h as usize % statuses.len()],
                "origin": format!("Sector {} village cluster (illustrative)", ["North", "East", "South"][h as usize % 3]),
                "checked_in_at": d.ago(arrived, i64::from(rng.next(12))),
            });
            if let Some(l) = left {
                reg["status"] = json!("checked_out");
                reg["checked_out_at"] = json!(d.ago(l.max(0), 0));
                reg["checked_out_to"] = json!("returned home");
            }
            d.create("protection", EntityKind::ShelterRegistration, reg)?;
        }
    }

    // Flows: returns home over four weeks (most verified), a few displacements.
    let mut return_ids = Vec::new();
    for i in 0..14 {
        let persons = 40 + rng.next(400);
        let id = d.create(
            "protection",
            EntityKind::Movement,
            json!({"kind": "return", "date": d.day(27 - 2 * i64::from(i as u8)),
                   "from_place": "Mission base camp (illustrative)", "from": {"lat": 39.62, "lon": 46.41},
                   "to_place": format!("Sector {} village cluster (illustrative)", ["North", "East", "South"][i % 3]),
                   "to": {"lat": 39.7 + 0.05 * (i % 3) as f64, "lon": 46.6 + 0.1 * (i % 3) as f64},
                   "persons": persons, "verification": if i % 4 == 3 { "reported" } else { "verified" },
                   "parties": [if i % 2 == 0 { party_a } else { party_b }],
                   "source": "Mission patrol count"}),
        )?;
        return_ids.push(id);
    }
    for i in 0..3 {
        d.create(
            "protection",
            EntityKind::Movement,
            json!({"kind": "displacement", "date": d.day(29 - 3 * i),
                   "from_place": "Sector East village cluster (illustrative)",
                   "to_place": "Collective centre, school No. 2 (illustrative)",
                   "persons": 60 + 25 * i,
                   "people": {"female": {"age_0_4": 5, "age_5_17": 10, "age_18_59": 15 + 10 * i, "age_60_plus": 5},
                              "male": {"age_0_4": 5, "age_5_17": 5, "age_18_59": 10 + 10 * i, "age_60_plus": 5 + 5 * i}},
                   "verification": "verified", "source": "Local authority list"}),
        )?;
    }

    // Persons of concern.
    let mut cases: Vec<(Uuid, PersonCase)> = Vec::new();
    for (kind, reference, name, alt, sex, born, held_by_a, status) in CASES {
        let holder = if *held_by_a { party_a } else { party_b };
        let origin = if *held_by_a { party_b } else { party_a };
        let missing = *status == "missing";
        let data = json!({
            "kind": kind, "reference": reference, "name": name, "alt_names": alt,
            "sex": sex, "birth_year": born,
            "party_holding": if missing { Value::Null } else { json!(holder) },
            "party_of_origin": if missing { json!(holder) } else { json!(origin) },
            "last_seen_place": "Sector North (illustrative)", "last_seen_on": d.day(40),
            "status": status, "notes": "Fictitious person for the demonstration.",
        });
        let id = d.create("protection", EntityKind::PersonCase, data.clone())?;
        cases.push((id, serde_json::from_value(data)?));
    }
    let find = |r: &str| {
        cases
            .iter()
            .position(|(_, c)| c.reference == r)
            .expect("demo case")
    };

    // The exchange: A hands over 12 persons (three with cases here) to B;
    // B hands over 9 persons and one body (two cases and the remains) to A.
    let exchange_id = Uuid::now_v7();
    let a_to_b = ["PC-0005", "PC-0006", "PC-0007"];
    let b_to_a = ["PC-0008", "PC-0009", "PC-0010"];
    let ids = |refs: &[&str]| -> Vec<Uuid> { refs.iter().map(|r| cases[find(r)].0).collect() };
    let exchange: Exchange = serde_json::from_value(json!({
        "at": d.ago(10, 3), "place": "Border crossing point (illustrative)",
        "location": {"lat": 39.55, "lon": 46.3},
        "legs": [
            {"from_party": party_a, "to_party": party_b, "persons": 12, "remains": 0, "cases": ids(&a_to_b)},
            {"from_party": party_b, "to_party": party_a, "persons": 9, "remains": 1, "cases": ids(&b_to_a)},
        ],
        "notes": "Facilitated by the International Humanitarian Organisation (illustrative).",
    }))?;
    let mut moved: Vec<(Uuid, PersonCase)> = a_to_b
        .iter()
        .chain(&b_to_a)
        .map(|r| cases[find(r)].clone())
        .collect();
    exchange
        .apply_to_cases(exchange_id, &mut moved, "protection", now)
        .map_err(|e| anyhow!("demo exchange: {e}"))?;
    let mut parts = vec![d.change(EntityKind::Exchange, exchange_id, &exchange, None)?];
    for (id, c) in &moved {
        parts.push(d.change(EntityKind::PersonCase, *id, c, Some(1))?);
    }
    d.push("protection", Change::Atomic(parts));

    // The agreement and its provisions at different statuses.
    let signed = d.day(45);
    let agreement = d.create(
        "analyst",
        EntityKind::Agreement,
        json!({"title": "Statement on the cessation of hostilities (illustrative)", "signed_on": signed,
               "place": "Neutral venue (illustrative)", "parties": [party_a, party_b],
               "signatories": [{"name": "Head of delegation, Party A (illustrative)", "party": party_a},
                               {"name": "Head of delegation, Party B (illustrative)", "party": party_b},
                               {"name": "Mediator (illustrative)"}],
               "stage": "ceasefire",
               "summary": "An invented ceasefire statement for the demonstration."}),
    )?;
    let provisions: Vec<(&str, &str, &str, Reports)> = {
        use ImplementationStatus::*;
        vec![
            (
                "Art. 1",
                "ceasefire",
                "A complete ceasefire along the line of contact from the day of signature.",
                vec![(InProgress, 44, vec![])],
            ),
            (
                "Art. 2",
                "withdrawal",
                "Forces withdraw two kilometres from the line of contact.",
                vec![(InProgress, 40, vec![]), (Stalled, 20, vec![])],
            ),
            (
                "Art. 3",
                "corridors",
                "A humanitarian corridor stays open for convoys.",
                vec![(InProgress, 38, vec![])],
            ),
            (
                "Art. 4",
                "exchange_of_prisoners_and_remains",
                "The parties exchange prisoners of war, other detainees and remains.",
                vec![
                    (InProgress, 30, vec![]),
                    (PartiallyImplemented, 10, vec![exchange_id]),
                ],
            ),
            (
                "Art. 5",
                "return_of_displaced",
                "Displaced persons return home under the mission's monitoring.",
                vec![
                    (InProgress, 28, return_ids[..2].to_vec()),
                    (Implemented, 3, return_ids[..6].to_vec()),
                ],
            ),
            (
                "Art. 6",
                "minefield_maps",
                "The parties hand over the maps of minefields they laid.",
                vec![],
            ),
            (
                "Art. 7",
                "transport_links",
                "Transport links between the areas are unblocked.",
                vec![],
            ),
            (
                "Art. 8",
                "heritage_protection",
                "Cultural and religious heritage sites are protected.",
                vec![(InProgress, 15, vec![])],
            ),
        ]
    };
    for (number, category, text, reports) in provisions {
        let mut p: Provision = serde_json::from_value(json!({
            "agreement": agreement, "number": number, "category": category, "text": text,
        }))?;
        for (status, days, evidence) in reports {
            p.report(
                StatusRequest {
                    status,
                    as_of: d.day(days),
                    evidence,
                    note: None,
                },
                signed,
                "analyst",
                now,
            )
            .map_err(|e| anyhow!("demo provision {number}: {e}"))?;
        }
        let c = d.change(EntityKind::Provision, Uuid::now_v7(), &p, None)?;
        d.push("analyst", c);
    }

    // A round of talks with follow-up actions, one of them overdue.
    d.create(
        "analyst",
        EntityKind::Meeting,
        json!({"title": "Talks on implementing the statement (illustrative)", "kind": "round_of_talks",
               "round": "Round 3", "starts_at": d.ago(7, 0), "place": "Neutral venue (illustrative)",
               "agreement": agreement, "parties": [party_a, party_b],
               "participants": [
                   {"name": "Head of delegation, Party A (illustrative)", "party": party_a, "role": "head of delegation"},
                   {"name": "Head of delegation, Party B (illustrative)", "party": party_b, "role": "head of delegation"},
                   {"name": "Mediator (illustrative)", "role": "mediator"}],
               "agenda": ["Exchange of remaining detainees", "Minefield maps", "Returns to Sector North"],
               "outcomes": ["The parties agreed to exchange lists of all remaining detainees.",
                            "Minefield maps for Sector North to be handed over through the mission."],
               "actions": [
                   {"description": "Exchange lists of all remaining detainees", "owner": "Both delegations", "due_on": d.day(-7)},
                   {"description": "Hand over minefield maps for Sector North", "owner": "Party B delegation", "owner_party": party_b, "due_on": d.day(2)},
                   {"description": "Joint visit to the crossing point", "owner": "Mission", "due_on": d.day(3), "status": "done", "closed_on": d.day(4), "closed_by": "analyst"}]}),
    )?;
    Ok(d.out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_scenario_is_valid() {
        let cmds = scenario(Timestamp::now(), [Uuid::now_v7(), Uuid::now_v7()]).unwrap();
        assert!(cmds.len() > 80, "{}", cmds.len());
        assert!(
            cmds.iter()
                .any(|c| matches!(&c.change, Change::Atomic(p) if p.len() == 7))
        );
    }
}
