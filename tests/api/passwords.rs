//! Password hashing under load: simultaneous logins queue for the hashing threads (one hash per
//! core at a time) and every one gets its answer; the hashing memory is given back to the system
//! once no one is signing in.
use std::time::Duration;

use futures_util::future::join_all;

use crate::helpers::{PASSWORD, TestApp, code, email};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_simultaneous_logins_each_get_their_own_answer() {
    let app = TestApp::spawn_with(&[("LOGIN_MAX_FAILURES_PER_ADDRESS", "1000")]).await;
    let emails: Vec<String> = (0..6).map(|i| email(&format!("crowd{i}"))).collect();
    let users = join_all(emails.iter().map(|e| app.register(e, "PATIENT"))).await;

    // 24 logins at once (many more than cores), 4 per user, every fourth with a wrong password.
    let attempts: Vec<(usize, bool)> = (0..24).map(|i| (i % users.len(), i % 4 != 3)).collect();
    let logins = join_all(
        attempts
            .iter()
            .map(|&(u, right)| app.login_raw(&users[u].email, if right { PASSWORD } else { "Wrong-Guess-1" })),
    );
    let bodies = tokio::time::timeout(Duration::from_secs(120), logins).await.expect("every login is answered");

    for (&(u, right), body) in attempts.iter().zip(&bodies) {
        if right {
            let token = body["data"]["login"]["accessToken"].as_str().unwrap_or_else(|| panic!("{body}"));
            assert_eq!(app.me(token).await.as_deref(), Ok(users[u].id.as_str()), "the token is that user's");
        } else {
            assert_eq!(code(body), Some("UNAUTHENTICATED"), "{body}");
        }
    }
}

#[tokio::test]
async fn the_hashing_memory_is_given_back_once_no_one_signs_in() {
    let app = TestApp::spawn().await;
    let user = app.register(&email("idle"), "PATIENT").await;
    join_all((0..4).map(|_| app.login(&user.email, PASSWORD))).await;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while app.state.passwords.buffers_kept() > 0 {
        assert!(tokio::time::Instant::now() < deadline, "hashing buffers still kept 10 s after the last login");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Signing in afterwards takes fresh memory and works as before.
    app.login(&user.email, PASSWORD).await;
}
