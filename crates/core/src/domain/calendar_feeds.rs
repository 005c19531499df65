//! Calendar feeds: a secret URL per doctor or patient that calendar apps subscribe to.
//!
//! The token is 256 random bits from the OS-seeded CSPRNG, handed out once and stored only as its
//! SHA-256 (like refresh and reset tokens). A user has at most one live feed: `user_id` is unique
//! in the table, and a new feed replaces the row in one upsert, so simultaneous creations leave
//! exactly one. What a feed shows is the owner's appointments as the appointment listing reads
//! them ([`appointments::visible_in_range_with_event_counts`], under
//! [`privacy::visible_appointments`]), and the other party's name only where
//! [`privacy::existence`] lets the owner know that person. Lookups of tokens that match no
//! feed are throttled per client address, like failed logins ([`throttle::Attempt::calendar_feed`]).
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set, sea_query::OnConflict};
use uuid::Uuid;

use super::{
    Role, Store, appointments, audit,
    privacy::{self, AppointmentPart, Existence, Looker},
    throttle::{self, Limited},
};
use crate::{
    auth::{random_token, token_hash, viewer::Viewer},
    config::Config,
    db::{
        begin_write,
        entities::{appointment, calendar_feed, user},
    },
    error::{AppError, AppResult},
};

/// Random bytes in a feed token (256 bits; 43 characters of URL-safe base64).
pub const TOKEN_BYTES: usize = 32;
/// A feed holds appointments that start from this long ago…
pub const PAST: TimeDelta = TimeDelta::days(30);
/// …up to this far ahead.
pub const AHEAD: TimeDelta = TimeDelta::days(365);

/// A feed just created: its secret token (shown once, never stored) and when.
#[derive(Debug)]
pub struct NewFeed {
    pub token: String,
    pub created_at: DateTime<Utc>,
}

/// Who may have a feed: doctors and patients (admins have no appointments of their own).
fn may_have_feed(role: Role) -> bool {
    matches!(role, Role::Doctor | Role::Patient)
}

/// Creates the viewer's feed with a new token, replacing (and so revoking) an earlier one, and
/// audits it as `calendar_feed.create`. However many run at once, the user ends with one feed:
/// the token of the last to commit.
///
/// # Errors
/// `FORBIDDEN` for an admin; otherwise internal only.
pub async fn create(store: &Store, viewer: &Viewer) -> AppResult<NewFeed> {
    if !may_have_feed(viewer.role()) {
        return Err(AppError::Forbidden);
    }
    let token = random_token(TOKEN_BYTES);
    let now = store.clock.now();
    let row = calendar_feed::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(viewer.id()),
        token_hash: Set(token_hash(&token)),
        created_at: Set(now),
    };
    let replace = OnConflict::column(calendar_feed::Column::UserId)
        .update_columns([calendar_feed::Column::Id, calendar_feed::Column::TokenHash, calendar_feed::Column::CreatedAt])
        .to_owned();
    let txn = begin_write(&store.writer).await?;
    calendar_feed::Entity::insert(row).on_conflict(replace).exec_without_returning(&txn).await?;
    audit::record(&txn, Some(viewer.id()), "calendar_feed.create", Some(viewer.id()), now).await?;
    txn.commit().await?;
    Ok(NewFeed { token, created_at: now })
}

/// Ends the viewer's feed: its URL answers 404 from now on. `true` when there was one (audited as
/// `calendar_feed.revoke`), `false` when there was none.
///
/// # Errors
/// `FORBIDDEN` for an admin; otherwise internal only.
pub async fn revoke(store: &Store, viewer: &Viewer) -> AppResult<bool> {
    if !may_have_feed(viewer.role()) {
        return Err(AppError::Forbidden);
    }
    let txn = begin_write(&store.writer).await?;
    let deleted = calendar_feed::Entity::delete_many()
        .filter(calendar_feed::Column::UserId.eq(viewer.id()))
        .exec(&txn)
        .await?
        .rows_affected;
    if deleted > 0 {
        audit::record(&txn, Some(viewer.id()), "calendar_feed.revoke", Some(viewer.id()), store.clock.now()).await?;
    }
    txn.commit().await?;
    Ok(deleted > 0)
}

/// When `user`'s live feed was made, if they have one (for `User.calendarFeed`, shown to the user
/// themself only).
///
/// # Errors
/// Internal only.
pub async fn created_at_of<C: ConnectionTrait>(db: &C, user: Uuid) -> AppResult<Option<DateTime<Utc>>> {
    Ok(calendar_feed::Entity::find()
        .select_only()
        .column(calendar_feed::Column::CreatedAt)
        .filter(calendar_feed::Column::UserId.eq(user))
        .into_tuple()
        .one(db)
        .await?)
}

/// The other party of an appointment, as a feed may name them.
#[derive(Clone, Debug)]
pub struct Counterpart {
    pub first_name: String,
    pub last_name: String,
    /// Whether the counterpart is the appointment's doctor (the owner is then the patient).
    pub is_doctor: bool,
}

/// One appointment of a feed.
#[derive(Clone, Debug)]
pub struct FeedEntry {
    pub appointment: appointment::Model,
    /// How many times the appointment changed since it was created (its events less one).
    pub sequence: u32,
    /// The other party; `None` where the owner may not know them (never, for a shared
    /// appointment, under today's rules) or their account is gone.
    pub counterpart: Option<Counterpart>,
}

/// A feed's content: its owner and their appointments in the window, earliest first.
#[derive(Clone, Debug)]
pub struct Feed {
    pub owner: user::Model,
    pub entries: Vec<FeedEntry>,
}

/// What a request for a feed gets.
#[derive(Debug)]
pub enum Opened {
    Feed(Box<Feed>),
    /// No live feed has this token, or its owner is inactive or no longer a doctor or patient.
    NotFound,
    /// The client's address is over its limit of tokens that matched nothing.
    Limited(Limited),
}

/// Opens the feed of `token` (`None`: a request that carries no well-formed token) for a client
/// at `client_addr`. Refuses every request from an address over its limit first; a token that
/// matches no feed is then counted against that address (atomically, as failed logins are). A
/// genuine token of an inactive owner is not found, but not counted: it is no guess.
///
/// # Errors
/// Internal only.
pub async fn open(store: &Store, config: &Config, token: Option<&str>, client_addr: &str) -> AppResult<Opened> {
    let now = store.clock.now();
    let attempt = throttle::Attempt::calendar_feed(config, client_addr);
    if let Err(limited) = throttle::over_limit(&store.reads, &attempt, now).await? {
        return Ok(Opened::Limited(limited));
    }
    let row = match token.filter(|t| well_formed(t)) {
        Some(t) => {
            calendar_feed::Entity::find()
                .filter(calendar_feed::Column::TokenHash.eq(token_hash(t)))
                .one(&store.reads)
                .await?
        }
        None => None,
    };
    let Some(row) = row else {
        let txn = begin_write(&store.writer).await?;
        let counted = throttle::count(&txn, &attempt, now).await?;
        txn.commit().await?;
        return Ok(counted.map_or_else(Opened::Limited, |()| Opened::NotFound));
    };
    let owner = match user::Entity::find_by_id(row.user_id).one(&store.reads).await? {
        Some(owner) if owner.is_active && may_have_feed(owner.role) => owner,
        _ => return Ok(Opened::NotFound),
    };
    let entries = entries_of(store, &owner, now).await?;
    Ok(Opened::Feed(Box::new(Feed { owner, entries })))
}

/// Whether `token` could be one this module made (URL-safe base64 of [`TOKEN_BYTES`]): anything
/// else is not looked up.
fn well_formed(token: &str) -> bool {
    token.len() == (TOKEN_BYTES * 4).div_ceil(3)
        && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The owner's appointments from [`PAST`] ago to [`AHEAD`], with their sequence numbers (one
/// statement) and the other parties' names (one more statement for the whole feed).
async fn entries_of(store: &Store, owner: &user::Model, now: DateTime<Utc>) -> AppResult<Vec<FeedEntry>> {
    let looker = Looker { id: owner.id, role: owner.role };
    let rows = appointments::visible_in_range_with_event_counts(&store.reads, looker, now - PAST, now + AHEAD).await?;
    // The other person: the patient where the owner is the doctor, else the doctor.
    let other = |a: &appointment::Model| match privacy::appointment_part(looker, a) {
        Some(AppointmentPart::Doctor) => a.patient_id,
        _ => a.doctor_id,
    };
    let others: HashSet<Uuid> = rows.iter().map(|(a, _)| other(a)).collect();
    let people: HashMap<Uuid, user::Model> = if others.is_empty() {
        HashMap::new()
    } else {
        user::Entity::find()
            .filter(user::Column::Id.is_in(others))
            .all(&store.reads)
            .await?
            .into_iter()
            .map(|u| (u.id, u))
            .collect()
    };
    Ok(rows
        .into_iter()
        .map(|(appointment, events)| {
            let counterpart = people.get(&other(&appointment)).and_then(|person| {
                // The two share this appointment, so "if sharing an appointment" holds.
                let known = !matches!(privacy::existence(looker, person), Existence::Hidden);
                known.then(|| Counterpart {
                    first_name: person.first_name.clone(),
                    last_name: person.last_name.clone(),
                    is_doctor: person.id == appointment.doctor_id,
                })
            });
            let sequence = u32::try_from(events.saturating_sub(1)).unwrap_or(u32::MAX);
            FeedEntry { appointment, sequence, counterpart }
        })
        .collect())
}

/// Where feeds are served, below the public URL.
pub const PREFIX: &str = "/calendar/";

/// The subscription URL of a feed token: `<PUBLIC_URL>/calendar/<token>.ics` (a trailing slash of
/// the public URL is not doubled).
pub fn feed_url(public_url: &str, token: &str) -> String {
    format!("{}{PREFIX}{token}.ics", public_url.trim_end_matches('/'))
}

/// `path` as it may be logged: the token of a feed path is a credential and is replaced.
pub fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    if path.starts_with(PREFIX) {
        std::borrow::Cow::Owned(format!("{PREFIX}<redacted>"))
    } else {
        std::borrow::Cow::Borrowed(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_url_may_end_with_a_slash() {
        assert_eq!(feed_url("https://c.test/", "abc"), "https://c.test/calendar/abc.ics");
        assert_eq!(feed_url("https://c.test", "abc"), "https://c.test/calendar/abc.ics");
    }

    #[test]
    fn feed_paths_are_logged_without_their_token() {
        assert_eq!(loggable_path("/calendar/secret.ics"), "/calendar/<redacted>");
        assert_eq!(loggable_path("/graphql"), "/graphql");
    }

    #[test]
    fn only_tokens_of_the_right_shape_are_looked_up() {
        let token = random_token(TOKEN_BYTES);
        assert_eq!(token.len(), 43);
        assert!(well_formed(&token));
        assert!(!well_formed(&token[1..]));
        assert!(!well_formed(&format!("{}+", &token[1..])));
        assert!(!well_formed(""));
    }
}
