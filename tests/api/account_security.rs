//! Issue 19, accounts: admin changes decided against the actor's standing when they commit, the
//! email change (current password, a notice to the old address, other logins ended), calendar
//! feeds revoked with the password and on deactivation (and `User.calendarFeed`), and the sign-up
//! throttle per client address.
use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, Session, TestApp, code, email, field, message, token_in};

const SET_ROLE: &str = "mutation($id: UUID!, $r: Role!) { setUserRole(id: $id, role: $r) { role } }";
const SET_ACTIVE: &str = "mutation($id: UUID!, $on: Boolean!) { setUserActive(id: $id, isActive: $on) { isActive } }";
const VERIFY: &str = "mutation($id: UUID!, $v: Boolean!) { verifyDoctor(id: $id, verified: $v) { id } }";
const REGISTER: &str =
    "mutation($i: RegisterInput!) { register(input: $i) { accessToken refreshToken user { id email } } }";
const UPDATE_ME: &str = "mutation($i: UpdateMeInput!) { updateMe(input: $i) { email firstName } }";
const CHANGE: &str =
    "mutation($o: String!, $n: String!) { changePassword(oldPassword: $o, newPassword: $n) { message } }";
const REFRESH: &str = "mutation($r: String!) { refreshToken(refreshToken: $r) { accessToken } }";
const CREATE_FEED: &str = "mutation { createCalendarFeed { url createdAt } }";
const NEW_PASSWORD: &str = "Quiet-Otter-2031";

fn ok(body: &Value) {
    assert!(body["errors"].is_null(), "{body}");
}

fn new_user(email: &str, password: &str, role: &str) -> Value {
    json!({ "email": email, "password": password, "firstName": "Test", "lastName": "User", "role": role })
}

/// A new admin, registered by `by` (an admin): signed in.
async fn new_admin(app: &TestApp, by: &Session) -> Session {
    let body = app.gql(Some(&by.access), REGISTER, json!({ "i": new_user(&email("adm"), PASSWORD, "ADMIN") })).await;
    ok(&body);
    let p = &body["data"]["register"];
    Session {
        id: p["user"]["id"].as_str().unwrap().to_owned(),
        email: p["user"]["email"].as_str().unwrap().to_owned(),
        access: p["accessToken"].as_str().unwrap().to_owned(),
        refresh: p["refreshToken"].as_str().unwrap().to_owned(),
    }
}

/// `user(id)` as `admin` sees it: role and whether active.
async fn standing(app: &TestApp, admin: &Session, id: &str) -> (String, bool) {
    let body = app
        .gql(Some(&admin.access), "query($id: UUID!) { user(id: $id) { role isActive } }", json!({ "id": id }))
        .await;
    ok(&body);
    let u = &body["data"]["user"];
    (u["role"].as_str().unwrap().to_owned(), u["isActive"].as_bool().unwrap())
}

/// Sends `query` as `who` again and again until it is refused (at most `max` times); the code
/// that ended the loop. `started` hears of the first answer.
async fn loop_until_refused(
    app: &TestApp,
    who: &Session,
    query: &str,
    variables: Value,
    started: tokio::sync::mpsc::Sender<()>,
) -> String {
    for _ in 0..200 {
        let body = app.gql(Some(&who.access), query, variables.clone()).await;
        let _ = started.try_send(());
        if let Some(c) = code(&body) {
            return c.to_owned();
        }
    }
    "never refused".to_owned()
}

/// What `actor` did (audit actions) after `admin`'s `action` on `actor` was committed: the audit
/// log read newest first, down to that entry.
async fn done_after(app: &TestApp, admin: &Session, actor: &str, action: &str) -> Vec<String> {
    let body = app
        .gql(
            Some(&admin.access),
            "{ auditLog(first: 100) { edges { node { action subjectId actor { id } } } } }",
            json!({}),
        )
        .await;
    ok(&body);
    let mut after = Vec::new();
    for e in body["data"]["auditLog"]["edges"].as_array().unwrap() {
        let node = &e["node"];
        let by = node["actor"]["id"].as_str();
        if node["action"] == action && by == Some(admin.id.as_str()) && node["subjectId"] == actor {
            return after;
        }
        if by == Some(actor) {
            after.push(node["action"].as_str().unwrap().to_owned());
        }
    }
    panic!("no {action} by the admin in {body}");
}

/// Admin B re-sends "make me admin" (and verifies a doctor) in loops while admin A demotes B:
/// once A's demotion committed, B is never an admin again and nothing B sent is applied after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demoted_admin_racing_to_stay_admin_never_is_one_after_the_demotion_commits() {
    let app = TestApp::spawn().await;
    let a = app.admin(&email("a")).await;
    let doctor = app.doctor("General practice", "UTC", 30, None).await;
    for trial in 0..25 {
        let b = new_admin(&app, &a).await;
        let (tx, mut started) = tokio::sync::mpsc::channel(8);
        let promote = json!({ "id": b.id, "r": "ADMIN" });
        let loops = join_all([
            loop_until_refused(&app, &b, SET_ROLE, promote.clone(), tx.clone()),
            loop_until_refused(&app, &b, SET_ROLE, promote.clone(), tx.clone()),
            loop_until_refused(&app, &b, SET_ROLE, promote, tx.clone()),
            loop_until_refused(&app, &b, VERIFY, json!({ "id": doctor.id, "v": trial % 2 == 0 }), tx),
        ]);
        let demote = async {
            started.recv().await;
            app.gql(Some(&a.access), SET_ROLE, json!({ "id": b.id, "r": "PATIENT" })).await
        };
        let (ends, demoted) = tokio::join!(loops, demote);
        ok(&demoted);
        for end in &ends {
            assert!(["UNAUTHENTICATED", "FORBIDDEN"].contains(&end.as_str()), "trial {trial}: loops ended {ends:?}");
        }
        assert_eq!(standing(&app, &a, &b.id).await, ("PATIENT".to_owned(), true), "trial {trial}");
        let after = done_after(&app, &a, &b.id, "user.set_role").await;
        assert!(after.is_empty(), "trial {trial}: B's changes committed after its demotion: {after:?}");
    }
}

/// The same race with deactivation: B re-activates itself and re-sends "make me admin" while A
/// deactivates B; B stays inactive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deactivated_admin_racing_to_reactivate_itself_stays_inactive() {
    let app = TestApp::spawn().await;
    let a = app.admin(&email("a")).await;
    for trial in 0..25 {
        let b = new_admin(&app, &a).await;
        let (tx, mut started) = tokio::sync::mpsc::channel(8);
        let activate = json!({ "id": b.id, "on": true });
        let promote = json!({ "id": b.id, "r": "ADMIN" });
        let loops = join_all([
            loop_until_refused(&app, &b, SET_ACTIVE, activate.clone(), tx.clone()),
            loop_until_refused(&app, &b, SET_ACTIVE, activate, tx.clone()),
            loop_until_refused(&app, &b, SET_ROLE, promote, tx),
        ]);
        let deactivate = async {
            started.recv().await;
            app.gql(Some(&a.access), SET_ACTIVE, json!({ "id": b.id, "on": false })).await
        };
        let (ends, deactivated) = tokio::join!(loops, deactivate);
        ok(&deactivated);
        for end in &ends {
            assert!(["UNAUTHENTICATED", "FORBIDDEN"].contains(&end.as_str()), "trial {trial}: loops ended {ends:?}");
        }
        assert_eq!(standing(&app, &a, &b.id).await, ("ADMIN".to_owned(), false), "trial {trial}");
        let after = done_after(&app, &a, &b.id, "user.deactivate").await;
        assert!(after.is_empty(), "trial {trial}: B changed itself after its deactivation: {after:?}");
    }
}

/// Two admins demoting each other at once: one demotion commits, the other admin is refused at
/// its commit (never both demoted, never an internal error from a deadlock).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_admins_demoting_each_other_at_once_leave_exactly_one_admin() {
    let app = TestApp::spawn().await;
    let root = app.admin(&email("root")).await;
    for trial in 0..20 {
        let (a, b) = (new_admin(&app, &root).await, new_admin(&app, &root).await);
        let (by_a, by_b) = tokio::join!(
            app.gql(Some(&a.access), SET_ROLE, json!({ "id": b.id, "r": "DOCTOR" })),
            app.gql(Some(&b.access), SET_ROLE, json!({ "id": a.id, "r": "DOCTOR" })),
        );
        let codes = [code(&by_a), code(&by_b)];
        assert!(
            codes == [None, Some("FORBIDDEN")]
                || codes == [Some("FORBIDDEN"), None]
                || codes == [None, Some("UNAUTHENTICATED")]
                || codes == [Some("UNAUTHENTICATED"), None],
            "trial {trial}: {by_a} {by_b}"
        );
        let roles = [standing(&app, &root, &a.id).await.0, standing(&app, &root, &b.id).await.0];
        assert_eq!(roles.iter().filter(|r| *r == "ADMIN").count(), 1, "trial {trial}: {roles:?}");
    }
}

#[tokio::test]
async fn a_demoted_admins_old_token_is_refused_and_its_admin_work_is_forbidden() {
    let app = TestApp::spawn().await;
    let a = app.admin(&email("a")).await;
    let b = new_admin(&app, &a).await;
    let doctor = app.doctor("General practice", "UTC", 30, None).await;
    ok(&app.gql(Some(&a.access), SET_ROLE, json!({ "id": b.id, "r": "PATIENT" })).await);

    let again = app.gql(Some(&b.access), SET_ROLE, json!({ "id": b.id, "r": "ADMIN" })).await;
    assert_eq!(code(&again), Some("UNAUTHENTICATED"), "the demotion ended B's logins: {again}");
    let refreshed = app.gql(None, REFRESH, json!({ "r": b.refresh })).await;
    assert_eq!(code(&refreshed), Some("UNAUTHENTICATED"), "{refreshed}");

    let b = app.login(&b.email, PASSWORD).await;
    for (query, variables) in [
        (SET_ROLE, json!({ "id": b.id, "r": "ADMIN" })),
        (SET_ACTIVE, json!({ "id": doctor.id, "on": false })),
        (VERIFY, json!({ "id": doctor.id, "v": true })),
        (REGISTER, json!({ "i": new_user(&email("x"), PASSWORD, "ADMIN") })),
    ] {
        let body = app.gql(Some(&b.access), query, variables).await;
        assert_eq!(code(&body), Some("FORBIDDEN"), "{query}: {body}");
    }
    assert_eq!(standing(&app, &a, &b.id).await, ("PATIENT".to_owned(), true));

    // Setting the role a user already has changes nothing: the user's logins go on.
    let same = app.gql(Some(&a.access), SET_ROLE, json!({ "id": b.id, "r": "PATIENT" })).await;
    assert_eq!(same["data"]["setUserRole"]["role"], "PATIENT", "{same}");
    assert!(app.me(&b.access).await.is_ok(), "no login ended");
}

async fn me_email(app: &TestApp, token: &str) -> Value {
    app.gql(Some(token), "{ me { email } }", json!({})).await
}

async fn create_feed(app: &TestApp, who: &Session) -> String {
    let body = app.gql(Some(&who.access), CREATE_FEED, json!({})).await;
    let url = body["data"]["createCalendarFeed"]["url"].as_str().unwrap_or_else(|| panic!("{body}"));
    app.url(url.strip_prefix("http://clinic.test").unwrap())
}

async fn feed_status(app: &TestApp, url: &str) -> u16 {
    app.client.get(url).send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn changing_the_email_needs_the_current_password() {
    let app = TestApp::spawn().await;
    let user = app.register(&email("u"), "PATIENT").await;
    let new = email("n");

    let missing = app.gql(Some(&user.access), UPDATE_ME, json!({ "i": { "email": new } })).await;
    assert_eq!((code(&missing), field(&missing)), (Some("BAD_USER_INPUT"), Some("currentPassword")), "{missing}");
    let wrong =
        app.gql(Some(&user.access), UPDATE_ME, json!({ "i": { "email": new, "currentPassword": "Not-It-123" } })).await;
    assert_eq!((code(&wrong), message(&wrong)), (Some("BAD_USER_INPUT"), "Old password is incorrect"), "{wrong}");
    assert_eq!(me_email(&app, &user.access).await["data"]["me"]["email"], user.email.as_str(), "nothing changed");
    assert_eq!(app.count_rows("outbox").await, 0, "no email");

    // The same address again (in another case), or other fields: no password needed.
    let same = app
        .gql(Some(&user.access), UPDATE_ME, json!({ "i": { "email": user.email.to_uppercase(), "firstName": "Zoe" } }))
        .await;
    assert_eq!(same["data"]["updateMe"]["email"], user.email.as_str(), "{same}");
    assert_eq!(same["data"]["updateMe"]["firstName"], "Zoe", "{same}");
}

#[tokio::test]
async fn a_wrong_current_password_counts_like_a_wrong_old_password() {
    let app = TestApp::spawn_with(&[("LOGIN_MAX_FAILURES", "3")]).await;
    let user = app.register(&email("u"), "PATIENT").await;
    let new = email("n");
    for _ in 0..2 {
        let wrong = app
            .gql(Some(&user.access), UPDATE_ME, json!({ "i": { "email": new, "currentPassword": "Not-It-123" } }))
            .await;
        assert_eq!(message(&wrong), "Old password is incorrect", "{wrong}");
    }
    let wrong_old = app.gql(Some(&user.access), CHANGE, json!({ "o": "Not-It-123", "n": NEW_PASSWORD })).await;
    assert_eq!(message(&wrong_old), "Old password is incorrect", "the third, at changePassword: {wrong_old}");
    let right =
        app.gql(Some(&user.access), UPDATE_ME, json!({ "i": { "email": new, "currentPassword": PASSWORD } })).await;
    assert_eq!(code(&right), Some("RATE_LIMITED"), "over the limit even with the right password: {right}");
    assert!(right["errors"][0]["extensions"]["retryAfter"].as_u64().unwrap() > 0);
    assert_eq!(me_email(&app, &user.access).await["data"]["me"]["email"], user.email.as_str());
}

#[tokio::test]
async fn an_email_change_tells_the_old_address_and_ends_every_other_login_but_keeps_the_feed() {
    let app = TestApp::spawn().await;
    let user = app.register(&email("u"), "PATIENT").await;
    let other = app.login(&user.email, PASSWORD).await;
    let feed = create_feed(&app, &user).await;
    let new = format!("new.{}", email("addr"));

    let body = app
        .gql(
            Some(&user.access),
            UPDATE_ME,
            json!({ "i": { "email": new.to_uppercase(), "currentPassword": PASSWORD } }),
        )
        .await;
    assert_eq!(body["data"]["updateMe"]["email"], new.as_str(), "{body}");

    assert_eq!(me_email(&app, &user.access).await["data"]["me"]["email"], new.as_str(), "the caller's login stays");
    assert_eq!(app.me(&other.access).await, Err("UNAUTHENTICATED".to_owned()), "the other login's access token");
    let refreshed = app.gql(None, REFRESH, json!({ "r": other.refresh })).await;
    assert_eq!(code(&refreshed), Some("UNAUTHENTICATED"), "the other login's refresh token: {refreshed}");
    let refreshed = app.gql(None, REFRESH, json!({ "r": user.refresh })).await;
    assert!(refreshed["errors"].is_null(), "the caller's refresh token works: {refreshed}");
    assert_eq!(feed_status(&app, &feed).await, 200, "the feed stays");
    app.login(&new, PASSWORD).await;
    assert_eq!(code(&app.login_raw(&user.email, PASSWORD).await), Some("UNAUTHENTICATED"), "the old address is gone");

    let emails = app.outbox_emails(1).await;
    assert_eq!(emails.len(), 1, "{emails:?}");
    let mail = &emails[0];
    assert!(mail.contains(&format!("To: {}", user.email)), "to the old address:\n{mail}");
    assert!(mail.contains("Subject: Your email address was changed"), "{mail}");
    assert!(mail.contains("X-CyberMed-Kind: email-changed"), "{mail}");
    let domain = new.rsplit_once('@').unwrap().1;
    assert!(mail.contains(&format!("n•••@{domain}")), "names the new address masked:\n{mail}");
    assert!(!mail.contains(&new), "never the new address whole:\n{mail}");

    let outbox = app
        .gql(
            Some(&app.admin(&email("root")).await.access),
            "{ outbox { edges { node { kind to subject } } } }",
            json!({}),
        )
        .await;
    let node = &outbox["data"]["outbox"]["edges"][0]["node"];
    assert_eq!(node["kind"], "EMAIL_CHANGED", "{outbox}");
    assert_eq!(node["to"], user.email.as_str(), "{outbox}");
}

/// An address is never verified: changing the account's email to a stranger's and away again in
/// a loop mailed that stranger an `EMAIL_CHANGED` notice each time. Now at most
/// `PASSWORD_RESET_MAX_PER_HOUR` (3) an hour go to one address; the changes themselves go through.
#[tokio::test]
async fn email_change_notices_to_one_address_are_capped_like_reset_emails() {
    let app = TestApp::spawn().await;
    let user = app.register(&email("u"), "PATIENT").await;
    let (stranger, mine) = (email("stranger"), email("mine"));
    for _ in 0..5 {
        for to in [&stranger, &mine] {
            let body = app
                .gql(Some(&user.access), UPDATE_ME, json!({ "i": { "email": to, "currentPassword": PASSWORD } }))
                .await;
            assert_eq!(body["data"]["updateMe"]["email"], to.as_str(), "{body}");
        }
    }
    let admin = app.admin(&email("root")).await;
    let outbox = app.gql(Some(&admin.access), "{ outbox(first: 100) { edges { node { kind to } } } }", json!({})).await;
    let sent_to = |address: &str| {
        outbox["data"]["outbox"]["edges"]
            .as_array()
            .unwrap_or_else(|| panic!("{outbox}"))
            .iter()
            .filter(|e| e["node"]["kind"] == "EMAIL_CHANGED" && e["node"]["to"] == address)
            .count()
    };
    assert_eq!(sent_to(&stranger), 3, "the stranger's address, left five times: {outbox}");
    assert_eq!(sent_to(&mine), 3, "the other address, left four times");
    assert_eq!(sent_to(&user.email), 1, "the first address, left once");
}

#[tokio::test]
async fn a_password_change_a_reset_and_a_deactivation_each_revoke_the_calendar_feed() {
    let app = TestApp::spawn().await;
    let admin = app.admin(&email("root")).await;

    let changer = app.register(&email("c"), "PATIENT").await;
    let feed = create_feed(&app, &changer).await;
    assert_eq!(feed_status(&app, &feed).await, 200);
    ok(&app.gql(Some(&changer.access), CHANGE, json!({ "o": PASSWORD, "n": NEW_PASSWORD })).await);
    assert_eq!(feed_status(&app, &feed).await, 404, "after a password change");

    let resetter = app.register(&email("r"), "DOCTOR").await;
    let feed = create_feed(&app, &resetter).await;
    ok(&app
        .gql(
            None,
            "mutation($e: String!) { requestPasswordReset(email: $e) { message } }",
            json!({ "e": resetter.email }),
        )
        .await);
    let token = token_in(&app.outbox_emails(1).await[0]);
    ok(&app
        .gql(
            None,
            "mutation($e: String!, $t: String!, $p: String!) { resetPassword(email: $e, token: $t, password: $p) { message } }",
            json!({ "e": resetter.email, "t": token, "p": NEW_PASSWORD }),
        )
        .await);
    assert_eq!(feed_status(&app, &feed).await, 404, "after a reset");

    let deactivated = app.register(&email("d"), "PATIENT").await;
    let feed = create_feed(&app, &deactivated).await;
    ok(&app.gql(Some(&admin.access), SET_ACTIVE, json!({ "id": deactivated.id, "on": false })).await);
    ok(&app.gql(Some(&admin.access), SET_ACTIVE, json!({ "id": deactivated.id, "on": true })).await);
    assert_eq!(feed_status(&app, &feed).await, 404, "after a deactivation, also once active again");
}

const FEED_INFO: &str = "{ me { calendarFeed { createdAt } } }";

#[tokio::test]
async fn calendar_feed_shows_a_live_feed_to_its_owner_only() {
    let app = TestApp::spawn().await;
    let admin = app.admin(&email("root")).await;
    let doctor = app.doctor("Cardiology", "UTC", 30, Some(&admin)).await;
    let colleague = app.doctor("Cardiology", "UTC", 30, Some(&admin)).await;
    let patient = app.patient().await;

    let none = app.gql(Some(&patient.access), FEED_INFO, json!({})).await;
    assert!(none["data"]["me"]["calendarFeed"].is_null(), "no feed yet: {none}");
    let created = app.gql(Some(&patient.access), CREATE_FEED, json!({})).await;
    let created_at = created["data"]["createCalendarFeed"]["createdAt"].clone();
    let mine = app.gql(Some(&patient.access), FEED_INFO, json!({})).await;
    assert_eq!(mine["data"]["me"]["calendarFeed"]["createdAt"], created_at, "{mine}");
    let by_id = app
        .gql(
            Some(&patient.access),
            "query($id: UUID!) { user(id: $id) { calendarFeed { createdAt } } }",
            json!({ "id": patient.id }),
        )
        .await;
    assert_eq!(by_id["data"]["user"]["calendarFeed"]["createdAt"], created_at, "{by_id}");
    let login = app
        .gql(
            None,
            "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { user { calendarFeed { createdAt } } } }",
            json!({ "e": patient.email, "p": PASSWORD }),
        )
        .await;
    assert_eq!(login["data"]["login"]["user"]["calendarFeed"]["createdAt"], created_at, "{login}");

    // Admins see no one's.
    let listed =
        app.gql(Some(&admin.access), "{ users { edges { node { id calendarFeed { createdAt } } } } }", json!({})).await;
    let nodes = listed["data"]["users"]["edges"].as_array().unwrap_or_else(|| panic!("{listed}"));
    assert_eq!(nodes.len(), 4);
    assert!(nodes.iter().all(|e| e["node"]["calendarFeed"].is_null()), "{listed}");
    let seen = app
        .gql(
            Some(&admin.access),
            "query($id: UUID!) { user(id: $id) { calendarFeed { createdAt } } }",
            json!({ "id": patient.id }),
        )
        .await;
    assert!(seen["errors"].is_null() && seen["data"]["user"]["calendarFeed"].is_null(), "{seen}");

    // In a list, each doctor sees their own feed and not a colleague's.
    create_feed(&app, &doctor).await;
    create_feed(&app, &colleague).await;
    let directory = app
        .gql(Some(&doctor.access), "{ doctors { edges { node { id calendarFeed { createdAt } } } } }", json!({}))
        .await;
    let nodes = directory["data"]["doctors"]["edges"].as_array().unwrap_or_else(|| panic!("{directory}"));
    assert_eq!(nodes.len(), 2, "{directory}");
    for e in nodes {
        let own = e["node"]["id"] == doctor.id.as_str();
        assert_eq!(e["node"]["calendarFeed"].is_object(), own, "{directory}");
    }

    ok(&app.gql(Some(&patient.access), "mutation { revokeCalendarFeed }", json!({})).await);
    let gone = app.gql(Some(&patient.access), FEED_INFO, json!({})).await;
    assert!(gone["data"]["me"]["calendarFeed"].is_null(), "revoked: {gone}");
}

/// A registration sent through a trusted proxy for client `addr`.
async fn register_from(app: &TestApp, addr: &str, input: Value) -> Value {
    app.client
        .post(app.url("/graphql"))
        .header("x-forwarded-for", addr)
        .json(&json!({ "query": REGISTER, "variables": { "i": input } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn sign_ups_are_limited_per_client_address_failed_ones_included_and_admins_are_exempt() {
    let app = TestApp::spawn_with(&[("REGISTER_MAX_PER_HOUR", "3"), ("TRUSTED_PROXIES", "127.0.0.1")]).await;
    let admin = app.admin(&email("root")).await;
    let weak = register_from(&app, "203.0.113.7", new_user(&email("w"), "password", "PATIENT")).await;
    assert_eq!(field(&weak), Some("password"), "{weak}");
    let forbidden = register_from(&app, "203.0.113.7", new_user(&email("a"), PASSWORD, "ADMIN")).await;
    assert_eq!(code(&forbidden), Some("FORBIDDEN"), "{forbidden}");
    ok(&register_from(&app, "203.0.113.7", new_user(&email("p"), PASSWORD, "PATIENT")).await);

    let over = register_from(&app, "203.0.113.7", new_user(&email("p"), PASSWORD, "PATIENT")).await;
    assert_eq!(code(&over), Some("RATE_LIMITED"), "{over}");
    let retry = over["errors"][0]["extensions"]["retryAfter"].as_u64().unwrap();
    assert!((3000..=3600).contains(&retry), "about an hour: {retry}");
    ok(&register_from(&app, "198.51.100.9", new_user(&email("p"), PASSWORD, "PATIENT")).await);

    // An admin registering users is not counted, from the same address.
    for role in ["PATIENT", "DOCTOR", "ADMIN"] {
        let body = app
            .client
            .post(app.url("/graphql"))
            .header("x-forwarded-for", "203.0.113.7")
            .bearer_auth(&admin.access)
            .json(&json!({ "query": REGISTER, "variables": { "i": new_user(&email("by"), PASSWORD, role) } }))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap();
        ok(&body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_twelve_simultaneous_sign_ups_from_one_address_only_the_limit_get_through() {
    let app = TestApp::spawn_with(&[("REGISTER_MAX_PER_HOUR", "3")]).await;
    let emails: Vec<String> = (0..12).map(|i| email(&format!("b{i}"))).collect();
    let bodies =
        join_all(emails.iter().map(|e| app.gql(None, REGISTER, json!({ "i": new_user(e, PASSWORD, "PATIENT") }))))
            .await;
    let created = bodies.iter().filter(|b| b["errors"].is_null()).count();
    let limited = bodies.iter().filter(|b| code(b) == Some("RATE_LIMITED")).count();
    assert_eq!((created, limited), (3, 9), "{bodies:?}");
    assert_eq!(app.count_rows("users").await, 3);
}
