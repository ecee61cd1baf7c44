//! The admin screen's endpoints over HTTP against the real binary: only an
//! administrator manages users and tokens; a token made there works at once
//! and stops working when revoked; no answer carries a stored hash.

mod common;

use common::{Api, Mission, Server};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_manages_users_and_tokens() {
    let m = Mission::init();
    let admin = m.user_with_token("ada", "admin");
    let analyst = m.user_with_token("anna", "analyst");
    let server = Server::serve(&m.db).await;
    let admin = Api::new(&server, Some(&admin));
    let analyst = Api::new(&server, Some(&analyst));

    for path in ["/admin/users", "/admin/tokens"] {
        analyst.get(path).await.assert_problem_status(403);
    }
    analyst
        .post(
            "/admin/users",
            &json!({"username": "x", "role": "admin", "password": "0123456789"}),
        )
        .await
        .assert_problem_status(403);

    // A user with an Armenian name; bad role and short password are refused.
    let r = admin
        .post(
            "/admin/users",
            &json!({"username": "Արամ", "role": "observer", "password": "0123456789"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    admin
        .post(
            "/admin/users",
            &json!({"username": "b", "role": "king", "password": "0123456789"}),
        )
        .await
        .assert_problem(422, "role");
    admin
        .post(
            "/admin/users",
            &json!({"username": "b", "role": "viewer", "password": "short"}),
        )
        .await
        .assert_problem(422, "password");
    admin
        .post(
            "/admin/users",
            &json!({"username": "Արամ", "role": "viewer", "password": "0123456789"}),
        )
        .await
        .assert_problem_status(409);
    let users = admin.get("/admin/users").await;
    assert_eq!(users.status, 200);
    assert!(!users.text.contains("argon2"), "{}", users.text);
    assert!(
        users.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["username"] == "Արամ" && u["role"] == "observer")
    );

    // A token for the new user works at once, and not after revocation.
    let r = admin
        .post(
            "/admin/tokens",
            &json!({"username": "Արամ", "name": "OP-07 tablet"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let secret = r.json["secret"].as_str().unwrap().to_string();
    let id = r.json["id"].as_str().unwrap().to_string();
    let aram = Api::new(&server, Some(&secret));
    let me = aram.get("/me").await;
    assert_eq!(me.json["username"], "Արամ", "{}", me.text);
    let tokens = admin.get("/admin/tokens").await;
    assert!(!tokens.text.contains(&secret));
    let r = Api::send(admin.request(reqwest::Method::DELETE, &format!("/admin/tokens/{id}"))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    aram.get("/me").await.assert_problem_status(401);

    // Disabling ends access; an admin cannot disable themself.
    let r = admin
        .put(
            "/admin/users/ada/disabled",
            &json!({"disabled": true}),
            None,
        )
        .await;
    r.assert_problem(422, "disabled");
    let r = admin
        .put(
            "/admin/users/anna/disabled",
            &json!({"disabled": true}),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    analyst.get("/me").await.assert_problem_status(401);
    common::assert_verifies(&m.db);
}
