//! One event type per sentence, where a trigger word makes it clear.

use crate::text::Text;
use crate::{Event, EventType, FactData, Raw};

fn trigger(t: &Text, k: usize) -> Option<EventType> {
    let w = t.low(k);
    let next = t.low_at(k + 1);
    Some(match w {
        "violation" | "violations" | "violated" | "violating" | "shelling" | "shelled"
        | "breach" | "breaches" | "breached" | "sniper" | "mortar" | "mortars" | "gunfire" => {
            EventType::CeasefireViolation
        }
        "opened" | "fired" if next == "fire" || next == "on" || next == "at" => {
            EventType::CeasefireViolation
        }
        "exchange" | "exchanges" | "exchanged"
            if next == "of" && matches!(t.low_at(k + 2), "fire" | "gunfire" | "shots") =>
        {
            EventType::CeasefireViolation
        }
        "exchange" | "exchanged" | "swap" | "repatriated" | "repatriation" => EventType::Exchange,
        "released" | "freed" | "handed" | "handover" | "transferred" => EventType::Exchange,
        "convoy" | "convoys" | "delivered" | "delivery" | "deliveries" | "shipment"
        | "shipments" | "trucks" | "lorries" => EventType::Delivery,
        "agreed" | "agreement" | "signed" | "memorandum" | "accord" => EventType::Agreement,
        "met" | "meeting" | "meetings" | "talks" | "negotiations" | "consultations" => {
            EventType::Meeting
        }
        "round" if next == "of" => EventType::Meeting,
        "explosion" | "exploded" | "blast" | "detonated" | "incident" | "killed" | "wounded"
        | "injured" | "landmine" => EventType::Incident,
        "statement" | "announced" | "declared" | "stated" | "told" | "said" | "reported" => {
            EventType::Statement
        }
        _ => return None,
    })
}

fn rank(e: EventType) -> u8 {
    match e {
        EventType::CeasefireViolation => 0,
        EventType::Exchange => 1,
        EventType::Delivery => 2,
        EventType::Agreement => 3,
        EventType::Meeting => 4,
        EventType::Incident => 5,
        EventType::Statement => 6,
    }
}

pub(crate) fn find(t: &Text, out: &mut Vec<Raw>) {
    for s in &t.sents {
        let mut best: Option<(EventType, usize)> = None;
        for k in s.clone() {
            let Some(mut e) = trigger(t, k) else { continue };
            if e == EventType::CeasefireViolation {
                // "no violations were recorded", "did not violate"
                let negated = (k.saturating_sub(4).max(s.start)..k).any(|m| {
                    t.is(
                        m,
                        &[
                            "no", "not", "t", "without", "zero", "never", "any", "denied", "denies",
                        ],
                    )
                });
                if negated {
                    e = EventType::Statement;
                }
            }
            if best.is_none_or(|(b, _)| rank(e) < rank(b)) {
                best = Some((e, k));
            }
        }
        if let Some((e, k)) = best {
            let r = t.span(s.start, s.end);
            out.push(Raw {
                start: r.start,
                end: r.end,
                data: FactData::Event(Event {
                    event_type: e,
                    trigger: t.tok(k).to_string(),
                }),
            });
        }
    }
}
