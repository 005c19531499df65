//! Authentication: passwords, tokens, and the `Viewer` a request acts as.
pub mod jwt;
pub mod password;
pub mod sessions;
pub mod viewer;

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// `bytes` bytes from the OS random source, base64url without padding.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// Hex SHA-256 of a token: how refresh and reset tokens are stored (never in clear).
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        use std::fmt::Write;
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Constant-time comparison of two strings of hex digests.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
