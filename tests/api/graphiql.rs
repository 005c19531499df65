//! GraphiQL in a real browser (headless Chromium, see [`crate::browser`]): one sign-in bar whose
//! token every tab sends, renewed before it expires.
use serde_json::Value;

use crate::{
    browser::Browser,
    helpers::{PASSWORD, TestApp, email},
};

/// The session init.js keeps in sessionStorage.
async fn stored_session(browser: &Browser) -> Value {
    let raw = browser.run("return window.sessionStorage.getItem('cybermed:session');").await;
    raw.as_str().map_or(Value::Null, |s| serde_json::from_str(s).unwrap())
}

#[tokio::test]
async fn signing_in_once_authorizes_every_tab_and_the_token_is_renewed_before_it_expires() {
    let Some(browser) = Browser::start().await else { return };
    // A 61-second access token: init.js renews it a minute before expiry, so at once.
    let app = TestApp::spawn_with(&[("ACCESS_TOKEN_TTL_SECS", "61")]).await;
    let user = app.register(&email("graphiql"), "PATIENT").await;

    browser.open(&app.url("/graphiql")).await;
    browser.wait_for("GraphiQL loaded", "return !!document.querySelector('.graphiql-execute-button');").await;
    browser.run("document.getElementById('cybermed-email').value = '';").await;
    browser.type_into("#cybermed-email", &user.email).await;
    browser.type_into("#cybermed-password", PASSWORD).await;
    browser.click("#cybermed-signin-button").await;
    let who = browser.text_when_shown("#cybermed-who").await;
    assert!(who.contains(&user.email) && who.contains("PATIENT"), "{who}");
    let first = stored_session(&browser).await;
    assert!(first["access"].is_string(), "{first}");

    // The first tab (Me) runs with the bar's token, though its own Headers are empty.
    browser.click(".graphiql-execute-button").await;
    browser
        .wait_for(
            "the Me tab's answer",
            &format!(
                "const r = document.querySelector('.result-window'); return !!r && r.textContent.includes('{}');",
                user.email
            ),
        )
        .await;
    let result = browser.text(".result-window").await;
    assert!(!result.contains("UNAUTHENTICATED"), "{result}");

    // Renewed with the refresh token: a new pair, and the old refresh token is spent.
    browser
        .wait_for(
            "a renewed token",
            &format!(
                "const s = JSON.parse(sessionStorage.getItem('cybermed:session') || 'null'); return !!s && s.refresh !== '{}';",
                first["refresh"].as_str().unwrap()
            ),
        )
        .await;
    let renewed = stored_session(&browser).await;
    assert_ne!(renewed["access"], first["access"]);
    assert_eq!(app.me(renewed["access"].as_str().unwrap()).await, Ok(user.id.clone()));
}

#[tokio::test]
async fn the_login_tab_sends_no_attempt_without_a_password_and_the_welcome_is_wrapped() {
    let app = TestApp::spawn().await;
    let page = app.client.get(app.url("/graphiql")).send().await.unwrap().text().await.unwrap();
    let start = page.find("id=\"cybermed-tabs\">").unwrap() + "id=\"cybermed-tabs\">".len();
    let end = start + page[start..].find("</script>").unwrap();
    let tabs: Vec<Value> = serde_json::from_str(&page[start..end]).unwrap();
    for tab in &tabs {
        for line in tab["query"].as_str().unwrap().lines() {
            assert!(line.chars().count() <= 60, "a line GraphiQL would cut off: {line:?}");
        }
        // No placeholder that a run would send as a password.
        let variables = tab["variables"].as_str().unwrap_or("{}");
        let variables: Value = serde_json::from_str(variables).unwrap();
        assert!(variables.get("password").is_none(), "{variables}");
    }
    // The Login tab run as it is: refused before anything runs, so no failed login is counted.
    let login = tabs.iter().find(|t| t["query"].as_str().unwrap().contains("mutation Login")).unwrap();
    let variables: Value = serde_json::from_str(login["variables"].as_str().unwrap()).unwrap();
    let body = app.gql(None, login["query"].as_str().unwrap(), variables).await;
    assert!(body["data"].is_null() && body["errors"].is_array(), "{body}");
    assert_eq!(app.count_rows("login_failures").await, 0, "no failed attempt recorded");
}
