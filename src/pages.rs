//! Pages the service serves itself for people, not programs: the password-reset form that the
//! reset email links to, so that the link works in a browser before a clinic has a front-end.
use std::sync::LazyLock;

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::Engine;
use sha2::{Digest, Sha256};

const RESET_PAGE: &str = include_str!("../static/reset-password.html");

/// The page's Content-Security-Policy: nothing from elsewhere, its own inline script and style
/// only (by hash, so an injected one would not run), requests to this origin only, never framed.
static RESET_PAGE_CSP: LazyLock<HeaderValue> = LazyLock::new(|| {
    let script = inline_hash(RESET_PAGE, "<script>", "</script>");
    let style = inline_hash(RESET_PAGE, "<style>", "</style>");
    let policy = format!(
        "default-src 'none'; script-src '{script}'; style-src '{style}'; connect-src 'self'; \
         form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
    );
    HeaderValue::from_str(&policy).unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"))
});

/// `sha256-<base64>` of the text between the first `open` and the `close` after it.
fn inline_hash(page: &str, open: &str, close: &str) -> String {
    let body = page.split_once(open).and_then(|(_, rest)| rest.split_once(close)).map_or("", |(inner, _)| inner);
    format!("sha256-{}", base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body.as_bytes())))
}

/// `GET /reset-password?email=…&token=…`: a self-contained page (no external scripts, styles or
/// fonts) whose form calls `resetPassword` with the link's email and token and shows the answer's
/// message. The token never leaves the page but in that call: no referrer, and it is taken out of
/// the address bar once read.
pub async fn reset_password() -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
            (header::CONTENT_SECURITY_POLICY, RESET_PAGE_CSP.clone()),
            (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
            (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        ],
        RESET_PAGE,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_names_the_hashes_of_the_pages_own_script_and_style() {
        let policy = RESET_PAGE_CSP.to_str().unwrap_or_default().to_owned();
        assert!(policy.contains("script-src 'sha256-") && policy.contains("style-src 'sha256-"), "{policy}");
        assert!(!policy.contains("unsafe-inline"));
        assert!(!RESET_PAGE.contains("src=\"http") && !RESET_PAGE.contains("href=\"http"), "nothing external");
    }
}
