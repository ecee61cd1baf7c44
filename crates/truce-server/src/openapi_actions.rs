//! The OpenAPI description of every `/api/v1` route that is not the generic
//! record CRUD: module actions (mine action, logistics, protected sites,
//! shelter, people, agreements), admin, bulletins and aggregates. Kept in
//! one table ([`actions`]) so `tests/openapi_routes.rs` can hold it against
//! the router: a route added without a line here fails that test.

use utoipa::ToSchema;
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem, PathsBuilder,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::{ResponseBuilder, ResponsesBuilder};
use utoipa::openapi::schema::{Object, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required, Schema};

use truce_core::EntityKind;

/// The schemas registered so far (name, schema), as `openapi::document` keeps them.
type Schemas = Vec<(String, RefOr<Schema>)>;

/// One documented route.
struct Action {
    method: HttpMethod,
    /// Under `/api/v1`, with `{name}` path parameters.
    path: String,
    tag: &'static str,
    summary: &'static str,
    /// Query parameters: (name, description).
    query: Vec<(&'static str, &'static str)>,
    /// Header parameters: (name, description, required).
    headers: Vec<(&'static str, &'static str, bool)>,
    body: Option<RefOr<Schema>>,
    /// The success answer: status, description, schema when there is one.
    ok: (&'static str, &'static str, Option<RefOr<Schema>>),
    /// Problem answers: status and what it means.
    problems: Vec<(&'static str, &'static str)>,
}

fn add<T: ToSchema>(schemas: &mut Schemas) -> RefOr<Schema> {
    T::schemas(schemas);
    schemas.push((T::name().into_owned(), T::schema()));
    Ref::from_schema_name(T::name()).into()
}

fn act(
    method: HttpMethod,
    path: impl Into<String>,
    tag: &'static str,
    summary: &'static str,
) -> Action {
    Action {
        method,
        path: path.into(),
        tag,
        summary,
        query: Vec::new(),
        headers: Vec::new(),
        body: None,
        ok: ("200", "OK", None),
        problems: vec![("401", "Not signed in")],
    }
}

impl Action {
    fn query(mut self, q: &[(&'static str, &'static str)]) -> Self {
        self.query.extend_from_slice(q);
        self
    }
    fn header(mut self, name: &'static str, desc: &'static str, required: bool) -> Self {
        self.headers.push((name, desc, required));
        self
    }
    fn body(mut self, s: RefOr<Schema>) -> Self {
        self.body = Some(s);
        self
    }
    fn ok(mut self, code: &'static str, desc: &'static str, s: Option<RefOr<Schema>>) -> Self {
        self.ok = (code, desc, s);
        self
    }
    fn problems(mut self, p: &[(&'static str, &'static str)]) -> Self {
        self.problems.extend_from_slice(p);
        self
    }
    /// A generic write refused because an action writes these records.
    fn refused(self) -> Self {
        self.ok(
            "405",
            "Written by an action (the problem names its route)",
            None,
        )
        .problems(&[
            ("404", "Not visible to this role"),
            ("405", "Written by an action (the problem names its route)"),
        ])
    }
    /// A write: malformed JSON, role, bad field.
    fn write(self) -> Self {
        self.problems(&[
            ("400", "Malformed JSON"),
            ("403", "Role may not write this module"),
            ("422", "Invalid field (named in errors[]); nothing written"),
        ])
    }
}

const IF_MATCH: (&str, &str, bool) = (
    "If-Match",
    "ETag of the version read; without it, the version the server reads",
    false,
);
const IDEMPOTENCY: (&str, &str, bool) = (
    "Idempotency-Key",
    "retries with the same key return the first result",
    false,
);
const NOT_FOUND: (&str, &str) = ("404", "No such record, or not visible to this role");
const CONFLICT: (&str, &str) = (
    "409",
    "The record's state forbids it (problem detail says why); nothing written",
);

/// Every documented route outside the generic CRUD.
fn actions(s: &mut Schemas) -> Vec<Action> {
    use HttpMethod::{Delete, Get, Post, Put};
    let record = |s: &mut Schemas, k: EntityKind| k.schema(s);
    let mut v = Vec::new();
    // Mine action.
    let b = add::<crate::mine::ReleaseBody>(s);
    v.push(
        act(Post, "/hazard_areas/{id}/releases", "hazard_areas",
            "Release land from a hazard area (cancelled, reduced, cleared) and add it to the area's totals, atomically")
        .header(IDEMPOTENCY.0, IDEMPOTENCY.1, IDEMPOTENCY.2)
        .body(b)
        .ok("201", "{release, hazard_area}: the land release and the updated area (200 for a replayed Idempotency-Key)", None)
        .write()
        .problems(&[NOT_FOUND, ("409", "More than the area has left; nothing written")]),
    );
    let b = add::<crate::mine::CertificateBody>(s);
    v.push(
        act(
            Post,
            "/hazard_areas/{id}/certificate",
            "hazard_areas",
            "Hand a fully released hazard area over as safe, with a release certificate",
        )
        .header(IDEMPOTENCY.0, IDEMPOTENCY.1, IDEMPOTENCY.2)
        .body(b)
        .ok("201", "{certificate, hazard_area}", None)
        .write()
        .problems(&[
            NOT_FOUND,
            ("409", "Land remains to release, or already handed over"),
        ]),
    );
    v.push(
        act(Get, "/mine_action/summary", "hazard_areas",
            "Hazard areas by status and classification; land released, ordnance, accidents in a period")
        .query(&[("from", "RFC 3339 time or YYYY-MM-DD"), ("to", "RFC 3339 time or YYYY-MM-DD")])
        .ok("200", "{hazard_areas, land_released, ordnance, accidents}", None)
        .problems(&[("422", "Bad time")]),
    );
    // Logistics.
    let convoy = record(s, EntityKind::Convoy);
    v.push(
        act(Post, "/convoys/plan", "convoys",
            "Plan a convoy: check its route against active hazard areas and recent incidents; a blocking hit needs override_reason (journaled)")
        .body(convoy.clone())
        .ok("201", "The convoy with its route check", Some(convoy.clone()))
        .write()
        .problems(&[("409", "Route blocked (hits listed) or corridor closed; give override_reason")]),
    );
    let b = add::<crate::logistics::ManifestBody>(s);
    v.push(
        act(
            Post,
            "/convoys/{id}/manifest",
            "convoys",
            "Add manifest lines to a planned convoy (tonnes normalised)",
        )
        .body(b)
        .ok("201", "{convoy, lines}", None)
        .write()
        .problems(&[
            NOT_FOUND,
            ("409", "The convoy has left; its manifest is closed"),
        ]),
    );
    let b = add::<crate::logistics::StatusBody>(s);
    v.push(
        act(Post, "/convoys/{id}/status", "convoys",
            "Move a convoy (planned, dispatched, in_transit, delayed, arrived, turned_back, cancelled); at arrival, record delivered quantities")
        .body(b)
        .ok("200", "The convoy", Some(convoy))
        .write()
        .problems(&[NOT_FOUND, ("409", "A transition the state machine forbids")]),
    );
    let b = add::<crate::logistics::CorridorStatusBody>(s);
    let corridor = record(s, EntityKind::Corridor);
    v.push(
        act(
            Post,
            "/corridors/{id}/status",
            "corridors",
            "Open, restrict or close a corridor with a reason and time",
        )
        .body(b)
        .ok(
            "200",
            "The corridor with its status history",
            Some(corridor),
        )
        .write()
        .problems(&[NOT_FOUND, CONFLICT]),
    );
    let b = add::<crate::logistics::MovementBody>(s);
    v.push(
        act(
            Post,
            "/warehouses/{id}/movements",
            "warehouses",
            "Record a stock movement and the warehouse's new stock atomically",
        )
        .header(IDEMPOTENCY.0, IDEMPOTENCY.1, IDEMPOTENCY.2)
        .body(b)
        .ok("201", "{movement, warehouse}", None)
        .write()
        .problems(&[
            NOT_FOUND,
            ("409", "Stock would go below zero; nothing written"),
        ]),
    );
    v.push(
        act(
            Get,
            "/warehouses/{id}/reconciliation",
            "warehouses",
            "The warehouse's stock compared with the sum of its movements",
        )
        .ok("200", "{warehouse, reconciliation}", None)
        .problems(&[NOT_FOUND]),
    );
    let b = add::<crate::logistics::RouteCheckBody>(s);
    add::<truce_core::logistics::RouteHit>(s);
    v.push(
        act(
            Post,
            "/logistics/route_check",
            "convoys",
            "What a corridor or route passes (hazard areas, recent incidents); writes nothing",
        )
        .body(b)
        .ok("200", "{blocking, hits: [RouteHit], buffer_m}", None)
        .problems(&[
            ("400", "Malformed JSON"),
            ("422", "Invalid route or unknown corridor"),
        ]),
    );
    v.push(
        act(
            Get,
            "/logistics/totals",
            "convoys",
            "Tonnes delivered in a period, corridor and category",
        )
        .query(&[
            ("from", "RFC 3339 time or YYYY-MM-DD"),
            ("to", "RFC 3339 time or YYYY-MM-DD"),
            ("days", "the last N days instead of from"),
            ("corridor", "corridor UUID"),
            (
                "category",
                "food, medical, fuel, shelter, construction_material, water, hygiene",
            ),
        ])
        .ok(
            "200",
            "{from, to, corridor, category, tonnes, lines, by_category}",
            None,
        )
        .problems(&[("422", "Bad parameter")]),
    );
    // Protected sites.
    v.push(
        act(Get, "/sites/{id}/nearby", "sites",
            "Incidents and hazard areas within a distance of a protected site; its condition history")
        .query(&[
            ("distance_m", "0..50000 metres (default: the site's watch radius)"),
            ("from", "incidents from (RFC 3339 or YYYY-MM-DD)"),
            ("to", "incidents to (RFC 3339 or YYYY-MM-DD)"),
        ])
        .ok("200", "{site, distance_m, condition, condition_history, incidents, hazard_areas}", None)
        .problems(&[NOT_FOUND, ("422", "Bad parameter")]),
    );
    // Shelter.
    let reg = record(s, EntityKind::ShelterRegistration);
    v.push(
        act(Post, "/shelter_sites/{id}/check-in", "shelter_sites",
            "Register a household at a site (counts by sex and age band, no names); answers with occupancy and capacity warnings")
        .body(reg.clone())
        .ok("201", "{registration, occupancy, warnings}", None)
        .write()
        .problems(&[NOT_FOUND, ("409", "The site is closed to check-ins")]),
    );
    v.push(
        act(
            Get,
            "/shelter_sites/{id}/occupancy",
            "shelter_sites",
            "Occupancy now and at the end of each day, with warnings",
        )
        .query(&[
            ("from", "YYYY-MM-DD (default: 29 days before to)"),
            ("to", "YYYY-MM-DD (default: today)"),
        ])
        .ok(
            "200",
            "{site, name, capacity_day, capacity_night, current, warnings, series}",
            None,
        )
        .problems(&[NOT_FOUND, ("422", "Bad date")]),
    );
    let b = add::<crate::shelter::CheckOut>(s);
    v.push(
        act(
            Post,
            "/shelter_registrations/{id}/check-out",
            "shelter_registrations",
            "Check a household out",
        )
        .header(IF_MATCH.0, IF_MATCH.1, IF_MATCH.2)
        .body(b)
        .ok("200", "The registration", Some(reg))
        .write()
        .problems(&[
            NOT_FOUND,
            ("409", "Already checked out"),
            ("412", "Stale If-Match"),
        ]),
    );
    add::<truce_core::shelter::FlowTotals>(s);
    v.push(
        act(
            Get,
            "/movements/totals",
            "movements",
            "People returned home (or displaced) since a day, over the flows the caller may read",
        )
        .query(&[
            ("kind", "return (default) or displacement"),
            ("since", "YYYY-MM-DD"),
            ("until", "YYYY-MM-DD"),
        ])
        .ok(
            "200",
            "{kind, since, until, movements, persons, verified_persons, children}",
            None,
        )
        .problems(&[("422", "Bad parameter")]),
    );
    // People (protection role and admin; 404 for everyone else).
    let b = add::<truce_core::people::Transition>(s);
    let case = record(s, EntityKind::PersonCase);
    v.push(
        act(
            Post,
            "/person_cases/{id}/transitions",
            "person_cases",
            "Move a case to a new status, kept in its history",
        )
        .header(IF_MATCH.0, IF_MATCH.1, IF_MATCH.2)
        .body(b)
        .ok("200", "The case", Some(case))
        .write()
        .problems(&[NOT_FOUND, CONFLICT, ("412", "Stale If-Match")]),
    );
    v.push(
        act(Get, "/person_cases/{id}/matches", "person_cases",
            "Tracing: cases a sought person may be among, scored across scripts, best first (every case scored is a journaled read)")
        .query(&[("min_score", "0..1 (default 0.5)"), ("limit", "1..500 (default 20)")])
        .ok("200", "{sought, threshold, candidates}", None)
        .problems(&[NOT_FOUND, ("422", "Bad parameter")]),
    );
    let b = add::<crate::people::Decision>(s);
    v.push(
        act(Post, "/person_cases/{id}/matches", "person_cases",
            "Confirm or reject a tracing match; confirming moves the sought case in the same atomic change")
        .header(IF_MATCH.0, IF_MATCH.1, IF_MATCH.2)
        .body(b)
        .ok("201", "{match, case}", None)
        .write()
        .problems(&[NOT_FOUND, ("409", "Pair already decided, or the cases cannot match")]),
    );
    let exchange = record(s, EntityKind::Exchange);
    v.push(
        act(
            Post,
            "/exchanges",
            "exchanges",
            "Record an exchange and move every case it lists, atomically (all or nothing)",
        )
        .header(IDEMPOTENCY.0, IDEMPOTENCY.1, IDEMPOTENCY.2)
        .body(exchange.clone())
        .ok("201", "{exchange, cases_updated}", None)
        .write()
        .problems(&[("404", "Not visible to this role"), CONFLICT]),
    );
    v.push(
        act(
            Get,
            "/exchanges/totals",
            "exchanges",
            "Persons and remains received per party and period",
        )
        .query(&[
            ("period", "day, month (default), year or all"),
            ("from", "RFC 3339 time or YYYY-MM-DD"),
            ("to", "RFC 3339 time or YYYY-MM-DD"),
        ])
        .ok("200", "{period, totals}", None)
        .problems(&[
            ("404", "Not visible to this role"),
            ("422", "Bad parameter"),
        ]),
    );
    for m in [Put, Delete] {
        v.push(
            act(
                m,
                "/exchanges/{id}",
                "exchanges",
                "Refused: exchanges are written by POST /exchanges only",
            )
            .refused(),
        );
    }
    v.push(
        act(
            Post,
            "/trace_matches",
            "trace_matches",
            "Refused: matches are written by POST /person_cases/{id}/matches only",
        )
        .refused(),
    );
    for m in [Put, Delete] {
        v.push(
            act(
                m,
                "/trace_matches/{id}",
                "trace_matches",
                "Refused: matches are written by POST /person_cases/{id}/matches only",
            )
            .refused(),
        );
    }
    // Agreements.
    let b = add::<truce_core::agreements::StatusRequest>(s);
    let provision = record(s, EntityKind::Provision);
    v.push(
        act(
            Post,
            "/provisions/{id}/status",
            "provisions",
            "Report a provision's implementation status on a day, with evidence links to records",
        )
        .header(IF_MATCH.0, IF_MATCH.1, IF_MATCH.2)
        .body(b)
        .ok(
            "200",
            "The provision with its status history",
            Some(provision),
        )
        .write()
        .problems(&[NOT_FOUND, CONFLICT, ("412", "Stale If-Match")]),
    );
    v.push(
        act(
            Get,
            "/agreements/{id}/implementation",
            "agreements",
            "Each provision's status on a day with its latest evidence, and counts by status",
        )
        .query(&[("as_of", "YYYY-MM-DD (default today)")])
        .ok(
            "200",
            "{agreement, title, stage, as_of, provisions, by_status}",
            None,
        )
        .problems(&[NOT_FOUND, ("422", "Bad date")]),
    );
    let b = add::<truce_core::agreements::ActionUpdate>(s);
    let meeting = record(s, EntityKind::Meeting);
    v.push(
        act(
            Post,
            "/meetings/{id}/actions/{n}",
            "meetings",
            "Close follow-up action n (0-based) of a meeting: done or dropped",
        )
        .header(IF_MATCH.0, IF_MATCH.1, IF_MATCH.2)
        .body(b)
        .ok("200", "The meeting", Some(meeting))
        .write()
        .problems(&[
            NOT_FOUND,
            ("409", "The action is not open"),
            ("412", "Stale If-Match"),
        ]),
    );
    v.push(
        act(
            Get,
            "/follow-ups",
            "meetings",
            "Follow-up actions across the meetings the caller may read, by due date",
        )
        .query(&[
            ("status", "open, done or dropped"),
            ("overdue", "true: open and past due only"),
            ("owner_party", "party UUID"),
        ])
        .ok("200", "{items}", None)
        .problems(&[("422", "Bad parameter")]),
    );
    // Admin, bulletins.
    let b = add::<crate::admin::NewUser>(s);
    v.push(
        act(
            Get,
            "/admin/users",
            "admin",
            "Users and their roles (admin only)",
        )
        .ok("200", "{items, roles}", None)
        .problems(&[("403", "Not an administrator")]),
    );
    v.push(
        act(Post, "/admin/users", "admin", "Add a user (admin only)")
            .body(b)
            .ok("201", "The user", None)
            .write()
            .problems(&[("409", "The user exists")]),
    );
    let b = add::<crate::admin::Disabled>(s);
    v.push(
        act(
            Put,
            "/admin/users/{username}/disabled",
            "admin",
            "Disable or enable a user; ends their sessions (admin only)",
        )
        .body(b)
        .ok("200", "The user", None)
        .write()
        .problems(&[("404", "No such user")]),
    );
    v.push(
        act(
            Get,
            "/admin/tokens",
            "admin",
            "API tokens, never their secrets (admin only)",
        )
        .ok("200", "{items}", None)
        .problems(&[("403", "Not an administrator")]),
    );
    let b = add::<crate::admin::NewToken>(s);
    v.push(
        act(
            Post,
            "/admin/tokens",
            "admin",
            "Create an API token; the secret is in this answer only",
        )
        .body(b)
        .ok("201", "{id, username, name, secret}", None)
        .write(),
    );
    v.push(
        act(
            Delete,
            "/admin/tokens/{id}",
            "admin",
            "Revoke an API token (admin only)",
        )
        .ok("200", "Revoked", None)
        .problems(&[("403", "Not an administrator"), ("404", "No such token")]),
    );
    v.push(
        act(
            Get,
            "/bulletins/{date}",
            "bulletins",
            "The signed bulletin of a day (or from..to): JSON, Markdown, HTML or PDF",
        )
        .query(&[
            ("from", "YYYY-MM-DD"),
            ("to", "YYYY-MM-DD"),
            ("format", "json (default), md, html or pdf"),
        ])
        .ok("200", "The bulletin", None)
        .problems(&[
            ("422", "Bad date"),
            ("503", "The server has no mission key"),
        ]),
    );
    for &kind in EntityKind::ALL {
        v.push(
            act(Get, format!("/{}/aggregate", kind.collection()), kind.collection(),
                "Counts and quantity sums for dashboards, over what the caller may read (same filters as the list)")
            .query(&[
                ("by", "all (default), category, status, day, party or aor"),
                ("from", "RFC 3339 time or YYYY-MM-DD"),
                ("to", "RFC 3339 time or YYYY-MM-DD"),
                ("category", "category or tag"),
                ("status", "status"),
                ("party", "party UUID"),
                ("bbox", "min_lon,min_lat,max_lon,max_lat"),
            ])
            .ok("200", "{buckets: [{key, name?, count, sum}]}", None)
            .problems(&[("422", "Bad filter")]),
        );
    }
    // Kinds an action writes: the generic writes answer 405 naming it.
    for &kind in EntityKind::ALL {
        if kind.written_by_action().is_none() {
            continue;
        }
        let c = kind.collection();
        for (m, path) in [
            (Post, format!("/{c}")),
            (Put, format!("/{c}/{{id}}")),
            (Delete, format!("/{c}/{{id}}")),
        ] {
            v.push(
                act(
                    m,
                    path,
                    c,
                    "Refused: written by its module action only (named in the problem)",
                )
                .refused(),
            );
        }
    }
    v
}

fn param(
    name: &str,
    at: ParameterIn,
    required: bool,
    desc: &str,
) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(at)
        .required(if required {
            Required::True
        } else {
            Required::False
        })
        .description((!desc.is_empty()).then_some(desc))
        .schema(Some(Object::with_type(Type::String)))
        .build()
}

fn json_content(schema: RefOr<Schema>) -> utoipa::openapi::Content {
    ContentBuilder::new().schema(Some(schema)).build()
}

/// The paths of [`actions`], registering their schemas. The generic CRUD
/// is added to the same builder afterwards; operations already here win
/// (a path's first operation per method is kept).
pub(crate) fn paths(schemas: &mut Schemas) -> PathsBuilder {
    let mut paths = PathsBuilder::new();
    for a in actions(schemas) {
        let mut params: Vec<_> = a
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
            .map(|n| param(n, ParameterIn::Path, true, ""))
            .collect();
        params.extend(
            a.query
                .iter()
                .map(|(n, d)| param(n, ParameterIn::Query, false, d)),
        );
        params.extend(
            a.headers
                .iter()
                .map(|(n, d, r)| param(n, ParameterIn::Header, *r, d)),
        );
        let mut ok = ResponseBuilder::new().description(a.ok.1);
        if let Some(s) = a.ok.2 {
            ok = ok.content("application/json", json_content(s));
        }
        let mut responses = ResponsesBuilder::new();
        if !a.problems.iter().any(|(c, _)| *c == a.ok.0) {
            responses = responses.response(a.ok.0, ok);
        }
        for (code, desc) in &a.problems {
            responses = responses.response(
                *code,
                ResponseBuilder::new().description(*desc).content(
                    "application/problem+json",
                    json_content(Ref::from_schema_name("Problem").into()),
                ),
            );
        }
        let mut op = OperationBuilder::new()
            .tag(a.tag)
            .summary(Some(a.summary))
            .parameters(Some(params))
            .responses(responses);
        if let Some(b) = a.body {
            op = op.request_body(Some(
                RequestBodyBuilder::new()
                    .content("application/json", json_content(b))
                    .required(Some(Required::True))
                    .build(),
            ));
        }
        paths = paths.path(
            format!("/api/v1{}", a.path),
            PathItem::new(a.method, op.build()),
        );
    }
    paths
}
