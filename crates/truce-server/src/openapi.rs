//! The OpenAPI document, built from the core's record schemas so it cannot
//! drift from what the handlers accept, and Swagger UI to read it.

use axum::Router;
use truce_core::EntityKind;
use utoipa::ToSchema;
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::{ResponseBuilder, ResponsesBuilder};
use utoipa::openapi::schema::{Object, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    Components, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref, RefOr,
    Required, Schema,
};
use utoipa_swagger_ui::SwaggerUi;

use crate::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().merge(SwaggerUi::new("/api/docs").url("/api/v1/openapi.json", document()))
}

fn add<T: ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) -> RefOr<Schema> {
    T::schemas(schemas);
    schemas.push((T::name().into_owned(), T::schema()));
    Ref::from_schema_name(T::name()).into()
}

fn json_content(schema: RefOr<Schema>) -> utoipa::openapi::Content {
    ContentBuilder::new().schema(Some(schema)).build()
}

fn problem_responses(r: ResponsesBuilder, codes: &[(&str, &str)]) -> ResponsesBuilder {
    codes.iter().fold(r, |r, (code, desc)| {
        r.response(
            *code,
            ResponseBuilder::new().description(*desc).content(
                "application/problem+json",
                json_content(Ref::from_schema_name("Problem").into()),
            ),
        )
    })
}

fn query(name: &str, desc: &str) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(desc))
        .schema(Some(Object::with_type(Type::String)))
        .build()
}

fn path_param(name: &str) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .schema(Some(Object::with_type(Type::String)))
        .build()
}

fn header_param(name: &str, desc: &str, required: bool) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(if required {
            Required::True
        } else {
            Required::False
        })
        .description(Some(desc))
        .schema(Some(Object::with_type(Type::String)))
        .build()
}

/// The OpenAPI 3.1 document of `/api/v1`.
pub(crate) fn document() -> OpenApi {
    let mut schemas = Vec::new();
    add::<crate::problem::Problem>(&mut schemas);
    add::<crate::auth::LoginRequest>(&mut schemas);
    add::<crate::auth::Me>(&mut schemas);
    let verification = add::<truce_core::incident::VerificationChange>(&mut schemas);
    // Module actions first: their operations win over the generic ones.
    let mut paths = crate::openapi_actions::paths(&mut schemas);
    for &kind in EntityKind::ALL {
        let c = kind.collection();
        let schema = kind.schema(&mut schemas);
        let tag = c.to_string();
        let list = OperationBuilder::new()
            .tag(&tag)
            .summary(Some(format!("List {c} (JSON or GeoJSON), newest first")))
            .parameters(Some([
                query("bbox", "min_lon,min_lat,max_lon,max_lat"),
                query(
                    "from",
                    "RFC 3339 time or YYYY-MM-DD: records ending at or after",
                ),
                query(
                    "to",
                    "RFC 3339 time or YYYY-MM-DD: records starting at or before",
                ),
                query("category", "category or tag, e.g. ceasefire_violation"),
                query("status", "status, e.g. verified"),
                query("party", "party UUID"),
                query("q", "text search"),
                query("limit", "page size 1..10000 (default 100)"),
                query("cursor", "next_cursor of the previous page"),
                query("format", "geojson for a FeatureCollection"),
            ]))
            .responses(problem_responses(
                ResponsesBuilder::new().response(
                    "200",
                    ResponseBuilder::new()
                        .description("A page: {items, next_cursor} or a FeatureCollection"),
                ),
                &[("401", "Not signed in"), ("422", "Bad filter")],
            ))
            .build();
        let create = OperationBuilder::new()
            .tag(&tag)
            .summary(Some(format!(
                "Create a {} (optional client-chosen id, sensitivity)",
                kind.as_str()
            )))
            .parameters(Some([header_param(
                "Idempotency-Key",
                "retries with the same key return the first result",
                false,
            )]))
            .request_body(Some(
                RequestBodyBuilder::new()
                    .content("application/json", json_content(schema.clone()))
                    .required(Some(Required::True))
                    .build(),
            ))
            .responses(problem_responses(
                ResponsesBuilder::new().response(
                    "201",
                    ResponseBuilder::new()
                        .description("Created; ETag is the version")
                        .content("application/json", json_content(schema.clone())),
                ),
                &[
                    ("400", "Malformed JSON"),
                    ("401", "Not signed in"),
                    ("403", "Role may not write"),
                    ("409", "Id exists with other content"),
                    ("413", "Body too large"),
                    ("422", "Invalid field"),
                ],
            ))
            .build();
        let get = OperationBuilder::new()
            .tag(&tag)
            .summary(Some(format!("Read a {}", kind.as_str())))
            .parameters(Some([path_param("id")]))
            .responses(problem_responses(
                ResponsesBuilder::new().response(
                    "200",
                    ResponseBuilder::new()
                        .description("The record")
                        .content("application/json", json_content(schema.clone())),
                ),
                &[
                    ("401", "Not signed in"),
                    ("404", "No such record, or not visible to this role"),
                ],
            ))
            .build();
        let put = OperationBuilder::new()
            .tag(&tag)
            .summary(Some(format!("Replace a {}", kind.as_str())))
            .parameters(Some([
                path_param("id"),
                header_param("If-Match", "ETag of the version changed", true),
            ]))
            .request_body(Some(
                RequestBodyBuilder::new()
                    .content("application/json", json_content(schema.clone()))
                    .build(),
            ))
            .responses(problem_responses(
                ResponsesBuilder::new()
                    .response("200", ResponseBuilder::new().description("Updated")),
                &[
                    ("404", "Not found"),
                    ("409", "Retracted"),
                    ("412", "Stale If-Match"),
                    ("422", "Invalid field"),
                    ("428", "If-Match missing"),
                ],
            ))
            .build();
        let delete = OperationBuilder::new()
            .tag(&tag)
            .summary(Some(format!(
                "Retract a {} (stays in the journal)",
                kind.as_str()
            )))
            .parameters(Some([
                path_param("id"),
                header_param("If-Match", "ETag of the version retracted", true),
                query("reason", "why (required)"),
            ]))
            .responses(problem_responses(
                ResponsesBuilder::new()
                    .response("200", ResponseBuilder::new().description("Retracted")),
                &[
                    ("404", "Not found"),
                    ("412", "Stale If-Match"),
                    ("422", "Reason missing"),
                ],
            ))
            .build();
        let history = OperationBuilder::new()
            .tag(&tag)
            .summary(Some("The journal entries of one record".to_string()))
            .parameters(Some([path_param("id")]))
            .responses(ResponsesBuilder::new().response(
                "200",
                ResponseBuilder::new().description("{entries: [...]}"),
            ))
            .build();
        let mut coll = PathItem::new(HttpMethod::Get, list);
        coll.post = Some(create);
        let mut item = PathItem::new(HttpMethod::Get, get);
        item.put = Some(put);
        item.delete = Some(delete);
        paths = paths
            .path(format!("/api/v1/{c}"), coll)
            .path(format!("/api/v1/{c}/{{id}}"), item)
            .path(
                format!("/api/v1/{c}/{{id}}/history"),
                PathItem::new(HttpMethod::Get, history),
            );
    }
    let verify = OperationBuilder::new()
        .tag("incidents")
        .summary(Some(
            "Change verification state, grading, assignee or duplicate link".to_string(),
        ))
        .parameters(Some([path_param("id")]))
        .request_body(Some(
            RequestBodyBuilder::new()
                .content("application/json", json_content(verification))
                .build(),
        ))
        .responses(problem_responses(
            ResponsesBuilder::new().response(
                "200",
                ResponseBuilder::new().description("Updated incident"),
            ),
            &[
                ("403", "Role may not verify"),
                ("404", "Not found"),
                ("422", "Invalid field"),
            ],
        ))
        .build();
    let login = OperationBuilder::new()
        .tag("auth")
        .summary(Some("Sign in; sets an HttpOnly session cookie".to_string()))
        .request_body(Some(
            RequestBodyBuilder::new()
                .content(
                    "application/json",
                    json_content(Ref::from_schema_name("LoginRequest").into()),
                )
                .build(),
        ))
        .responses(problem_responses(
            ResponsesBuilder::new().response(
                "200",
                ResponseBuilder::new().description("Signed in").content(
                    "application/json",
                    json_content(Ref::from_schema_name("Me").into()),
                ),
            ),
            &[("401", "Bad credentials"), ("429", "Too many attempts")],
        ))
        .build();
    paths = paths
        .path(
            "/api/v1/incidents/{id}/verification",
            PathItem::new(HttpMethod::Post, verify),
        )
        .path("/api/v1/auth/login", PathItem::new(HttpMethod::Post, login))
        .path(
            "/api/v1/auth/logout",
            PathItem::new(
                HttpMethod::Post,
                OperationBuilder::new()
                    .tag("auth")
                    .summary(Some("Sign out".to_string()))
                    .build(),
            ),
        )
        .path(
            "/api/v1/me",
            PathItem::new(
                HttpMethod::Get,
                OperationBuilder::new()
                    .tag("auth")
                    .summary(Some("Who is signed in".to_string()))
                    .build(),
            ),
        )
        .path(
            "/api/v1/mission",
            PathItem::new(
                HttpMethod::Get,
                OperationBuilder::new()
                    .tag("mission")
                    .summary(Some("The mission, with its bbox and notice".to_string()))
                    .build(),
            ),
        )
        .path(
            "/api/v1/journal/head",
            PathItem::new(
                HttpMethod::Get,
                OperationBuilder::new()
                    .tag("journal")
                    .summary(Some(
                        "Sequence and hash of the newest journal entry".to_string(),
                    ))
                    .build(),
            ),
        )
        .path(
            "/api/v1/basemap/{name}",
            PathItem::new(
                HttpMethod::Get,
                OperationBuilder::new()
                    .tag("mission")
                    .summary(Some(
                        "Offline basemap layer (countries, admin1, roads, places) as GeoJSON"
                            .to_string(),
                    ))
                    .parameters(Some([path_param("name")]))
                    .build(),
            ),
        );
    paths = spatial_paths(paths);
    paths = export_paths(paths);
    paths = dashboard_paths(paths);
    paths = intake_paths(paths, &mut schemas);
    let mut components = Components::new();
    for (name, s) in schemas {
        components.schemas.insert(name, s);
    }
    components.add_security_scheme(
        "token",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    components.add_security_scheme(
        "session",
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
            crate::auth::SESSION_COOKIE,
        ))),
    );
    OpenApiBuilder::new()
        .info(InfoBuilder::new().title("Truce API").version(env!("CARGO_PKG_VERSION")).description(Some("Operations information system for ceasefire-monitoring, peacekeeping and humanitarian missions. Errors are RFC 9457 problem JSON naming the field.")).build())
        .paths(paths.build())
        .components(Some(components))
        .build()
}

/// Map queries and routing (`spatial.rs`), answered from the in-memory
/// spatial indexes.
fn spatial_paths(paths: PathsBuilder) -> PathsBuilder {
    let get_op = |summary: &str, params: Vec<utoipa::openapi::path::Parameter>| {
        PathItem::new(
            HttpMethod::Get,
            OperationBuilder::new()
                .tag("map")
                .summary(Some(summary.to_string()))
                .parameters(Some(params))
                .responses(problem_responses(
                    ResponsesBuilder::new()
                        .response("200", ResponseBuilder::new().description("JSON answer")),
                    &[("401", "Not signed in"), ("422", "Bad parameter (named)")],
                ))
                .build(),
        )
    };
    let filters = || {
        vec![
            query("bbox", "min_lon,min_lat,max_lon,max_lat"),
            query("from", "RFC 3339 time or YYYY-MM-DD (inclusive)"),
            query("to", "RFC 3339 time or YYYY-MM-DD (exclusive)"),
            query("category", "event types, comma-separated"),
            query("status", "verification states, comma-separated"),
            query("party", "party UUIDs, comma-separated"),
        ]
    };
    let post_op = |summary: &str, body: &str, ok: &str| {
        PathItem::new(
            HttpMethod::Post,
            OperationBuilder::new()
                .tag("routing")
                .summary(Some(summary.to_string()))
                .request_body(Some(
                    RequestBodyBuilder::new()
                        .description(Some(body))
                        .content(
                            "application/json",
                            ContentBuilder::new()
                                .schema(Some(Object::with_type(Type::Object)))
                                .build(),
                        )
                        .required(Some(Required::True))
                        .build(),
                ))
                .responses(problem_responses(
                    ResponsesBuilder::new().response("200", ResponseBuilder::new().description(ok)),
                    &[
                        ("401", "Not signed in"),
                        ("409", "The mission has no road network"),
                        (
                            "422",
                            "Invalid field, or no route: errors[0] names `from`, `to` or `avoid` and the reason (origin_in_avoid_area, destination_in_avoid_area, blocked_by_avoid_areas, disconnected, no_roads)",
                        ),
                    ],
                ))
                .build(),
        )
    };
    let mut incidents = filters();
    incidents.push(query(
        "limit",
        "at most this many features, 1..100000 (default 10000)",
    ));
    paths
        .path(
            "/api/v1/map/incidents",
            get_op(
                "Incidents in a box, time window, categories/statuses/parties as a GeoJSON FeatureCollection (from the in-memory index; records the role may not read left out)",
                incidents,
            ),
        )
        .path(
            "/api/v1/map/responsible",
            get_op(
                "AoRs covering a point and the nearest post",
                vec![query("lat", "latitude"), query("lon", "longitude")],
            ),
        )
        .path(
            "/api/v1/map/posts/nearest",
            get_op(
                "The k nearest posts by geodesic distance",
                vec![
                    query("lat", "latitude"),
                    query("lon", "longitude"),
                    query("k", "1..1000 (default 5)"),
                ],
            ),
        )
        .path(
            "/api/v1/map/aor_counts",
            get_op(
                "Incidents matching the filters counted per AoR per UTC day",
                filters(),
            ),
        )
        .path(
            "/api/v1/routes",
            post_op(
                "Exact shortest road route avoiding hazards, with what it passes",
                "{from: {lat, lon}, to: {lat, lon}, profile: car|truck|4x4|foot, metric: distance|time, avoid: {hazard_areas: true (today) | YYYY-MM-DD, incidents: {within_m, days}, polygons: [GeoJSON Polygon|MultiPolygon]}, buffer_m (default 1000)}",
                "{distance_m, duration_s, cost, geometry (GeoJSON LineString), from, to (snapped), avoid, hits: [{kind: hazard_area|incident, id, label, distance_m, blocking}]}",
            ),
        )
        .path(
            "/api/v1/routes/check",
            post_op(
                "Safe-route check of a given LineString",
                "{route: GeoJSON LineString, buffer_m (default 1000), on: YYYY-MM-DD (hazard areas active that day, default today), days: incidents of the last N days (default 7)}",
                "{blocking, buffer_m, on, days, hits: [{kind, id, label, distance_m, blocking}]}",
            ),
        )
}

/// File exports (`exports.rs`): streamed, role-filtered.
fn export_paths(paths: PathsBuilder) -> PathsBuilder {
    let mut params = vec![query(
        "format",
        "csv (Truce columns), hxl (CSV with HXL hashtag row), acled, ucdp (the datasets' columns, Truce-only fields in truce.* columns), geojson, xlsx (buffered, at most 1,048,574 rows); default csv",
    )];
    for (name, desc) in [
        ("bbox", "min_lon,min_lat,max_lon,max_lat"),
        ("from", "RFC 3339 time: records ending at or after"),
        ("to", "RFC 3339 time: records starting at or before"),
        ("category", "event type or tag"),
        ("status", "verification state"),
        ("party", "party UUID"),
        ("q", "text search"),
    ] {
        params.push(query(name, desc));
    }
    let ok = ResponseBuilder::new()
        .description("The file, oldest incident first, as a chunked body (one chunk per page of 5,000); restricted incidents only for roles that may read them, each read journaled")
        .content("text/csv", ContentBuilder::new().build())
        .content("application/geo+json", ContentBuilder::new().build())
        .content(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ContentBuilder::new().build(),
        );
    paths.path(
        "/api/v1/exports/incidents",
        PathItem::new(
            HttpMethod::Get,
            OperationBuilder::new()
                .tag("exports")
                .summary(Some(
                    "Export incidents as CSV, HXL, ACLED, UCDP GED, GeoJSON or XLSX".to_string(),
                ))
                .parameters(Some(params))
                .responses(problem_responses(
                    ResponsesBuilder::new().response("200", ok),
                    &[
                        ("401", "Not signed in"),
                        ("422", "Bad parameter (named), or too many rows for XLSX"),
                    ],
                ))
                .build(),
        ),
    )
}

/// The dashboard endpoint (`dashboard.rs`); each collection's aggregate is
/// documented with the other actions in `openapi_actions.rs`.
fn dashboard_paths(paths: PathsBuilder) -> PathsBuilder {
    let ok = |desc: &str| {
        problem_responses(
            ResponsesBuilder::new().response("200", ResponseBuilder::new().description(desc)),
            &[("401", "Not signed in"), ("422", "Bad filter")],
        )
    };
    let dashboard = OperationBuilder::new()
        .tag("dashboard")
        .summary(Some(
            "Incidents by day, category, status, area of responsibility and party; delivered tonnes by day and category"
                .to_string(),
        ))
        .description(Some(
            "Counts only what the caller's role may read. Whole UTC days when given as dates; default the last 30 days."
                .to_string(),
        ))
        .parameters(Some([
            query("from", "YYYY-MM-DD (whole day) or RFC 3339 time; default 29 days before `to`"),
            query("to", "YYYY-MM-DD (whole day) or RFC 3339 time; default today"),
            query("category", "incidents of this category or tag"),
            query("status", "incidents of this status"),
            query("party", "incidents concerning this party (UUID)"),
            query("bbox", "min_lon,min_lat,max_lon,max_lat"),
            query("q", "text search"),
        ]))
        .responses(ok(
            "{from, to, incidents: {count, by_day, by_category, by_status, by_aor, by_party: [{key, name?, count, sum}]}, deliveries: {tonnes, lines, by_day, by_category: [{key, lines, tonnes}]} | null}",
        ))
        .build();
    paths.path(
        "/api/v1/dashboard",
        PathItem::new(HttpMethod::Get, dashboard),
    )
}

/// Intake: documents in, the review queue, accept and reject.
fn intake_paths(paths: PathsBuilder, schemas: &mut Vec<(String, RefOr<Schema>)>) -> PathsBuilder {
    let edit = add::<truce_core::intake::CandidateEdit>(schemas);
    let op = |summary: &str,
              params: Vec<utoipa::openapi::path::Parameter>,
              codes: &[(&str, &str)],
              ok: (&str, &str)| {
        OperationBuilder::new()
            .tag("intake")
            .summary(Some(summary.to_string()))
            .parameters(Some(params))
            .responses(problem_responses(
                ResponsesBuilder::new().response(ok.0, ResponseBuilder::new().description(ok.1)),
                codes,
            ))
    };
    let idem = || header_param("Idempotency-Key", "retries return the first result", false);
    let post_doc = op(
        "Store a document ({text | html, title?, outlet?, url?, published?}) and the candidate facts extracted from it; a fact already pending from another report gets this document as one more source",
        vec![idem()],
        &[("401", "Not signed in"), ("403", "Role may not add documents"), ("422", "Invalid field")],
        ("201", "{document, candidates, merged}"),
    )
    .request_body(Some(
        RequestBodyBuilder::new()
            .content(
                "application/json",
                json_content(Ref::from_schema_name("IntakeDocument").into()),
            )
            .description(Some("An IntakeDocument, with the text in `text` (plain) or `html`"))
            .build(),
    ))
    .build();
    let list_docs = op(
        "Documents, newest first, without their text",
        vec![
            query("q", "text search in title and outlet"),
            query("outlet", "outlet"),
        ],
        &[("401", "Not signed in")],
        ("200", "{items}"),
    )
    .build();
    let get_doc = op(
        "One document with its text",
        vec![path_param("id")],
        &[("404", "Not found")],
        ("200", "IntakeDocument"),
    )
    .build();
    let list_cands = op(
        "The review queue: candidates (pending by default), each fact once with all its sources",
        vec![
            query("status", "pending (default), accepted, rejected or all"),
            query("document", "document id"),
            query("kind", "quantity, place, date, actor or event"),
            query("category", "e.g. aid.food, violations.ceasefire, meeting"),
        ],
        &[("401", "Not signed in"), ("422", "Bad filter")],
        ("200", "{items}: candidates with targets and documents"),
    )
    .build();
    let get_cand = op(
        "One candidate",
        vec![path_param("id")],
        &[("404", "Not found")],
        ("200", "Candidate"),
    )
    .build();
    let accept = op(
        "Accept a pending candidate: as the fact itself (target fact, default), as a new record (target incident or meeting, with record fields the text lacks) or by linking an existing record; edit corrects values first. The record created or linked keeps the sources (document, start, end, text)",
        vec![path_param("id"), idem()],
        &[
            ("403", "Role may not review or create the target"),
            ("404", "Not found"),
            ("409", "The candidate is not pending"),
            ("422", "Invalid field (edit.*, record.*, target, link)"),
        ],
        ("201", "{candidate, record}"),
    )
    .request_body(Some(
        RequestBodyBuilder::new()
            .content("application/json", json_content(edit))
            .description(Some(
                "{target?: fact|incident|meeting, link?: record id, edit?: CandidateEdit, record?: {fields}, reason?}",
            ))
            .build(),
    ))
    .build();
    let reject = op(
        "Reject a pending candidate with a reason",
        vec![path_param("id"), idem()],
        &[
            ("403", "Role may not review"),
            ("404", "Not found"),
            ("409", "The candidate is not pending"),
            ("422", "No reason"),
        ],
        ("200", "{candidate}"),
    )
    .build();
    let mut docs = PathItem::new(HttpMethod::Get, list_docs);
    docs.post = Some(post_doc);
    paths
        .path("/api/v1/intake/documents", docs)
        .path(
            "/api/v1/intake/documents/{id}",
            PathItem::new(HttpMethod::Get, get_doc),
        )
        .path(
            "/api/v1/intake/candidates",
            PathItem::new(HttpMethod::Get, list_cands),
        )
        .path(
            "/api/v1/intake/candidates/{id}",
            PathItem::new(HttpMethod::Get, get_cand),
        )
        .path(
            "/api/v1/intake/candidates/{id}/accept",
            PathItem::new(HttpMethod::Post, accept),
        )
        .path(
            "/api/v1/intake/candidates/{id}/reject",
            PathItem::new(HttpMethod::Post, reject),
        )
}
