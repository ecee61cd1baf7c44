//! The demo's intake queue: three invented reports of the last days (a
//! wire story, a ministry page with its menus and "Also read" box, a
//! situation report), stored through the same `ingest` as
//! `POST /api/v1/intake/documents`, so the Intake screen opens on facts to
//! review. Two of them report the same ceasefire figure: it waits as one
//! candidate with both sources.

use anyhow::{Result, anyhow};
use jiff::{Timestamp, ToSpan, civil::Date, tz::TimeZone};
use truce_core::Role;
use truce_core::intake::{DocumentFormat, IntakeDocument};
use truce_server::auth::Principal;
use truce_store::Store;
use uuid::Uuid;

/// "21 November": how the texts name a day.
fn day(d: Date) -> String {
    d.strftime("%-d %B").to_string()
}

/// The documents, dated relative to `today`.
fn documents(today: Date) -> Result<Vec<IntakeDocument>> {
    let ago = |n: i64| today.checked_sub(n.days());
    let (d1, d2, d3) = (ago(1)?, ago(2)?, ago(3)?);
    let outlet = |o: &str| Some(format!("{o} (illustrative, demo)"));
    Ok(vec![
        IntakeDocument {
            title: Some("Violations reported near Aghdam as aid reaches Khankendi".into()),
            text: format!(
                "Observers recorded 12 ceasefire violations near Aghdam on {}, the mission said. \
                 A convoy delivered 85 tonnes of flour to Khankendi on the same day. \
                 Two rounds of talks were held in the border commission.",
                day(d2)
            ),
            format: DocumentFormat::Plain,
            outlet: outlet("Caucasus Wire"),
            url: None,
            published: Some(d1),
        },
        IntakeDocument {
            title: Some("Detainees returned".into()),
            text: format!(
                "<html><body><nav><a href=\"/\">Home</a> | <a href=\"/news\">News</a></nav>\
                 <article><h1>Detainees returned</h1><p>On {}, 14 detainees were returned \
                 through the mediation of the International Committee of the Red Cross at the \
                 crossing near Lachin, the ministry said.</p></article>\
                 <aside>Also read: 5 questions about the border commission</aside></body></html>",
                day(d3)
            ),
            format: DocumentFormat::Html,
            outlet: outlet("Ministry press service"),
            url: None,
            published: Some(d2),
        },
        IntakeDocument {
            title: Some("Daily situation report".into()),
            text: format!(
                "SITUATION REPORT. The mission registered 12 ceasefire violations near Aghdam \
                 on {}. 1,240 people are sheltered at the base camp in Goris, among them 410 \
                 children.",
                day(d2)
            ),
            format: DocumentFormat::Plain,
            outlet: outlet("Mission situation report"),
            url: None,
            published: Some(d1),
        },
    ])
}

/// Stores the documents and their candidates as the demo analyst.
pub async fn load(store: &dyn Store, now: Timestamp) -> Result<usize> {
    let today = now.to_zoned(TimeZone::UTC).date();
    let analyst = Principal {
        username: Role::Analyst.as_str().into(),
        role: Role::Analyst,
    };
    let queue = tokio::sync::Mutex::new(());
    let docs = documents(today)?;
    for doc in &docs {
        truce_server::ingest_intake_document(
            store,
            &queue,
            &analyst,
            Uuid::now_v7(),
            doc,
            None,
            Some("demo scenario".into()),
        )
        .await
        .map_err(|p| anyhow!("demo intake document {:?}: {p:?}", doc.title))?;
    }
    Ok(docs.len())
}
