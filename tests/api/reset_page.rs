//! The built-in `/reset-password` page, driven in a real browser (headless Chromium, see
//! [`crate::browser`]): the link of the reset email works before a clinic has a front-end of its own.
use serde_json::json;

use crate::{
    browser::Browser,
    helpers::{PASSWORD, TestApp, email, token_in},
};

const NEW_PASSWORD: &str = "Browser-Typed-Heron-58";

/// The query string (`email=…&token=…`) of the link in the newest reset email.
async fn link_query(app: &TestApp, address: &str, emails_before: usize) -> String {
    app.gql(None, "mutation($e: String!) { requestPasswordReset(email: $e) { message } }", json!({ "e": address }))
        .await;
    let mail = app.outbox_emails(emails_before + 1).await.pop().unwrap();
    let token = token_in(&mail);
    let link_start = mail.find("http://clinic.test/reset-password?").unwrap_or_else(|| panic!("a link in:\n{mail}"));
    let link = mail[link_start..].split_whitespace().next().unwrap();
    assert!(link.ends_with(&token), "{link}");
    link.split_once('?').unwrap().1.to_owned()
}

#[tokio::test]
async fn the_reset_link_opens_a_page_that_resets_the_password_in_a_browser() {
    let Some(browser) = Browser::start().await else { return };
    let app = TestApp::spawn().await;
    let user = app.register(&email("browser"), "PATIENT").await;

    // A mistyped repetition is caught on the page; a wrong token is the API's own message.
    let query = link_query(&app, &user.email, 0).await;
    browser.open(&app.url(&format!("/reset-password?{query}"))).await;
    assert!(!browser.location().await.contains("token="), "the token is taken out of the address bar");
    browser.type_into("#password", NEW_PASSWORD).await;
    browser.type_into("#confirm", "something-else-1").await;
    browser.click("#submit").await;
    assert_eq!(browser.text_when_shown("#result").await, "The two passwords differ.");

    let forged = query.rsplit_once("token=").map(|(head, _)| format!("{head}token=not-the-token")).unwrap();
    browser.open(&app.url(&format!("/reset-password?{forged}"))).await;
    browser.type_into("#password", NEW_PASSWORD).await;
    browser.type_into("#confirm", NEW_PASSWORD).await;
    browser.click("#submit").await;
    assert_eq!(browser.text_when_shown("#result").await, "Invalid token or expired token.");

    // The real link works.
    browser.open(&app.url(&format!("/reset-password?{query}"))).await;
    browser.type_into("#password", NEW_PASSWORD).await;
    browser.type_into("#confirm", NEW_PASSWORD).await;
    browser.click("#submit").await;
    assert_eq!(browser.text_when_shown("#result").await, "Password reset successfully");
    app.login(&user.email, NEW_PASSWORD).await;
    assert!(app.login_raw(&user.email, PASSWORD).await["errors"].is_array(), "the old password is gone");
}

#[tokio::test]
async fn the_reset_page_is_self_contained_and_locked_down() {
    let app = TestApp::spawn_with(&[("APP_ENV", "production"), ("GRAPHIQL", "false")]).await;
    let resp = app.client.get(app.url("/reset-password?email=a%40b.example&token=t")).send().await.unwrap();
    assert_eq!(resp.status(), 200, "served in production too");
    let headers = resp.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(headers["referrer-policy"], "no-referrer", "the token never leaves in a Referer");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("connect-src 'self'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let page = resp.text().await.unwrap();
    for external in ["src=\"http", "href=\"http", "@import", "url(http"] {
        assert!(!page.contains(external), "nothing loaded from elsewhere ({external})");
    }
}

#[tokio::test]
async fn password_reset_url_points_the_link_at_a_clinics_own_front_end() {
    let app = TestApp::spawn_with(&[("PASSWORD_RESET_URL", "https://portal.clinic.example/account/reset")]).await;
    let user = app.register(&email("portal"), "PATIENT").await;
    app.gql(None, "mutation($e: String!) { requestPasswordReset(email: $e) { message } }", json!({ "e": user.email }))
        .await;
    let mail = app.outbox_emails(1).await.remove(0);
    let token = token_in(&mail);
    let link =
        format!("https://portal.clinic.example/account/reset?email={}&token={token}", user.email.replace('@', "%40"));
    assert!(mail.contains(&link), "{link} in:\n{mail}");
}
