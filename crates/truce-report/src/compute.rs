//! Computing a bulletin from a store, and recomputing it from a journal.

use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};
use truce_core::{EntityKind, Sensitivity};
use truce_store::{ListQuery, Store};

use crate::sections::{SectionContext, sections};
use crate::{Bulletin, JournalRef, ReportError};

/// A span of whole UTC days, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    /// First day.
    pub from: Date,
    /// Last day.
    pub to: Date,
}

impl Period {
    /// A checked period.
    pub fn new(from: Date, to: Date) -> Result<Period, ReportError> {
        if to < from {
            return Err(ReportError::Invalid(format!(
                "period ends ({to}) before it starts ({from})"
            )));
        }
        Ok(Period { from, to })
    }

    /// The `days` days ending on `to`.
    pub fn ending(to: Date, days: i64) -> Period {
        Period {
            from: to.saturating_sub((days - 1).days()),
            to,
        }
    }

    /// Days in the period.
    pub fn len_days(&self) -> i64 {
        (self.to - self.from).get_days() as i64 + 1
    }

    /// The period of the same length just before.
    pub fn before(&self) -> Period {
        let to = self.from.saturating_sub(1.day());
        Period::ending(to, self.len_days())
    }

    /// First instant.
    pub fn start(&self) -> Timestamp {
        self.from
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp())
            .unwrap_or(Timestamp::MIN)
    }

    /// Last instant (end of the last day).
    pub fn end(&self) -> Timestamp {
        self.to
            .saturating_add(1.day())
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp() - jiff::SignedDuration::from_nanos(1))
            .unwrap_or(Timestamp::MAX)
    }

    /// Whether `t` falls in the period.
    pub fn contains(&self, t: Timestamp) -> bool {
        self.instants().contains(&t)
    }

    /// The period as instants, first to last: for testing many times
    /// against it without converting its days each time.
    pub fn instants(&self) -> std::ops::RangeInclusive<Timestamp> {
        self.start()..=self.end()
    }

    /// Each day.
    pub fn days(&self) -> impl Iterator<Item = Date> + '_ {
        (0..self.len_days()).map(|i| self.from.saturating_add(i.days()))
    }
}

/// Computes the bulletin for `period` from the store's current state.
///
/// The journal head is read before and after; if a write landed in between,
/// the computation is repeated so the figures match the head they name.
pub async fn compute(store: &dyn Store, period: Period) -> Result<Bulletin, ReportError> {
    for _ in 0..5 {
        let head = store.head().await?;
        let b = compute_at(store, period, head).await?;
        if store.head().await? == head {
            return Ok(b);
        }
    }
    Err(ReportError::Invalid(
        "the record kept changing while the bulletin was computed; try again".into(),
    ))
}

async fn compute_at(
    store: &dyn Store,
    period: Period,
    head: truce_core::journal::Head,
) -> Result<Bulletin, ReportError> {
    let mut q = ListQuery::new(EntityKind::Mission, Sensitivity::Restricted);
    q.limit = 1;
    q.oldest_first = true;
    let mission = store.list(&q).await?.items.into_iter().next();
    let (name, notice) = match &mission {
        Some(m) => (
            m.data["name"].as_str().unwrap_or("Mission").to_string(),
            m.data["notice"].as_str().map(str::to_string),
        ),
        None => ("Mission".to_string(), None),
    };
    let previous = period.before();
    let cx = SectionContext {
        store,
        period,
        previous,
    };
    // The sections read the store independently: computed side by side,
    // their queries run on several read connections at once (at 10,000,000
    // incidents most of a bulletin's time is waiting on SQLite), and they
    // keep their order.
    let sections = sections();
    let out: Vec<_> = futures::future::try_join_all(sections.iter().map(|s| s.compute(&cx)))
        .await?
        .into_iter()
        .flatten()
        .collect();
    Ok(Bulletin {
        format: 1,
        mission: name,
        notice,
        period,
        previous,
        journal: JournalRef {
            seq: head.seq,
            hash: hex::encode(head.hash),
        },
        sections: out,
    })
}

/// Replays `source`'s journal up to the bulletin's head into `scratch` (an
/// empty store) and recomputes every figure; returns the differences, empty
/// when the bulletin is faithful.
pub async fn recompute_and_compare(
    source: &dyn Store,
    scratch: &dyn Store,
    bulletin: &Bulletin,
) -> Result<Vec<String>, ReportError> {
    let mut after = 0;
    while after < bulletin.journal.seq {
        let want = (bulletin.journal.seq - after).min(10_000) as u32;
        let entries = source.journal(after, want).await?;
        if entries.is_empty() {
            return Ok(vec![format!(
                "the journal ends at {after}, before the bulletin's head {}",
                bulletin.journal.seq
            )]);
        }
        after = entries.last().map(|e| e.seq).unwrap_or(after);
        scratch.replicate(entries).await?;
    }
    let head = scratch.head().await?;
    let mut diffs = Vec::new();
    if head.seq != bulletin.journal.seq || hex::encode(head.hash) != bulletin.journal.hash {
        diffs.push(format!(
            "journal head {} {} does not match the bulletin's {} {}",
            head.seq,
            hex::encode(head.hash),
            bulletin.journal.seq,
            bulletin.journal.hash
        ));
        return Ok(diffs);
    }
    let again = compute_at(scratch, bulletin.period, head).await?;
    let figures = |b: &Bulletin| -> std::collections::BTreeMap<String, (f64, Option<f64>)> {
        b.sections
            .iter()
            .flat_map(|s| {
                s.figures
                    .iter()
                    .map(|f| (f.key.clone(), (f.value, f.previous)))
            })
            .collect()
    };
    let (claimed, actual) = (figures(bulletin), figures(&again));
    for (k, v) in &claimed {
        match actual.get(k) {
            None => diffs.push(format!("{k}: not a figure the journal yields")),
            Some(a) if a != v => diffs.push(format!(
                "{k}: bulletin says {:?}, the journal gives {:?}",
                v, a
            )),
            _ => {}
        }
    }
    for k in actual.keys().filter(|k| !claimed.contains_key(*k)) {
        diffs.push(format!("{k}: missing from the bulletin"));
    }
    if diffs.is_empty() && again.sections != bulletin.sections {
        diffs.push("tables, sentences or charts differ from the recomputation".into());
    }
    Ok(diffs)
}
