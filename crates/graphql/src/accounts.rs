//! Accounts and tokens: `me`, `user`, `users` and the account mutations.
use async_graphql::{Context, InputObject, MaybeUndefined, Object};
use uuid::Uuid;

use super::{
    ContextExt, enums,
    loaders::prefetch_users,
    objects::{AuthPayload, MessagePayload, User},
    pagination::{Page, decode_cursor, page_complexity, page_size},
    plain::Fast,
    plain::not_probing,
};
use crate::guard::RoleGuard;
use cybermed_core::{
    domain::{
        Gender, Role,
        accounts::{self, NewUser, PasswordChange, PasswordReset, ProfileChanges, UpdateContext, UserFilter},
        privacy::SearchIn,
        throttle,
    },
    error::AppResult,
};

#[derive(InputObject)]
pub struct RegisterInput {
    pub email: String,
    pub password: String,
    pub first_name: String,
    pub last_name: String,
    pub role: enums::Role,
    pub gender: Option<enums::Gender>,
    pub phone: Option<String>,
}

/// Partial update: an omitted field stays as it is; `null` clears a nullable field.
#[derive(InputObject)]
pub struct UpdateMeInput {
    pub email: MaybeUndefined<String>,
    pub first_name: MaybeUndefined<String>,
    pub last_name: MaybeUndefined<String>,
    pub phone: MaybeUndefined<String>,
    pub address: MaybeUndefined<String>,
    pub bio: MaybeUndefined<String>,
    pub gender: MaybeUndefined<enums::Gender>,
    /// Appointment reminders by email; turning them off drops the pending ones, turning them on
    /// queues those of the viewer's active future appointments whose leads have not passed.
    pub email_reminders: MaybeUndefined<bool>,
    /// Appointment reminders and notices by SMS, the same way; turning them on needs an E.164
    /// `phone` (`+` and 8 to 15 digits), given here or already set.
    pub sms_reminders: MaybeUndefined<bool>,
    /// The viewer's current password: required when `email` changes.
    pub current_password: Option<String>,
}

fn change<T>(v: MaybeUndefined<T>) -> Option<Option<T>> {
    match v {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v)),
    }
}

/// `totalCount` of a user list: counted with the page when the selection asks for it.
pub enum UserListTotal {
    Counted(u64),
    /// Not in the selection as the page was loaded (e.g. behind a fragment's condition).
    Later(UserFilter),
}

#[Object]
impl UserListTotal {
    /// How many users match the filter, on all pages.
    async fn total_count(&self, ctx: &Context<'_>) -> AppResult<i64> {
        let n = match self {
            Self::Counted(n) => *n,
            Self::Later(filter) => {
                not_probing().await;
                Box::pin(accounts::count_users(&ctx.state()?.reads, filter)).await?
            }
        };
        Ok(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

crate::plain_object!(UserListTotal { plain: ["totalCount"], waits: [] });

pub type UserConnection = Page<Uuid, User, UserListTotal>;

/// Builds a page of users after `after`, filtered.
pub async fn user_page(
    ctx: &Context<'_>,
    filter: UserFilter,
    first: Option<i32>,
    after: Option<String>,
) -> AppResult<Fast<UserConnection>> {
    let state = ctx.state()?;
    let limit = page_size(first)?;
    let after = decode_cursor::<Uuid>(after.as_deref())?;
    let total = if ctx.look_ahead().field("totalCount").exists() {
        UserListTotal::Counted(accounts::count_users(&state.reads, &filter).await?)
    } else {
        UserListTotal::Later(filter.clone())
    };
    let page = accounts::list_users(&state.reads, &filter, after, limit).await?;
    let keys: Vec<_> = page.rows().map(|u| (u.id, u.role)).collect();
    let profiles = prefetch_users(ctx, ctx.look_ahead().field("edges").field("node"), &keys).await?;
    let users = page.map(|u| match &profiles {
        Some(profiles) => User::with_doctor_profile(u, profiles),
        None => User::from(u),
    });
    Ok(Fast(Page::of(users, total)))
}

#[derive(Default)]
pub struct AccountsQuery;

#[Object]
impl AccountsQuery {
    /// The signed-in user.
    async fn me(&self, ctx: &Context<'_>) -> AppResult<Fast<User>> {
        Ok(Fast(User::as_owner(ctx.viewer().await?.user.clone())))
    }

    /// A user the viewer may see: themself, any doctor; a patient only to admins and to doctors
    /// who share an appointment with them. Otherwise `NOT_FOUND`.
    async fn user(&self, ctx: &Context<'_>, id: Uuid) -> AppResult<Option<User>> {
        let viewer = ctx.viewer().await?;
        Ok(Some(accounts::find_visible_user(&ctx.state()?.reads, &viewer, id).await?.into()))
    }

    /// Every user (admins only), in sign-up order.
    #[graphql(guard = "RoleGuard::new(Role::Admin)", complexity = "page_complexity(first, child_complexity)")]
    async fn users(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        role: Option<enums::Role>,
        search: Option<String>,
    ) -> AppResult<Fast<UserConnection>> {
        let role = role.map(Role::from);
        let filter =
            UserFilter { role, search, active_only: false, search_in: SearchIn::Accounts, ..UserFilter::default() };
        user_page(ctx, filter, first, after).await
    }
}

#[derive(Default)]
pub struct AccountsMutation;

#[Object]
impl AccountsMutation {
    /// Creates an account and signs it in. Role `ADMIN` only for a signed-in admin. Throttled per
    /// client address (admins excepted).
    async fn register(&self, ctx: &Context<'_>, input: RegisterInput) -> AppResult<AuthPayload> {
        let (state, addr) = (ctx.state()?, ctx.client_addr());
        let role = Role::from(input.role);
        // A signed-in admin registers as themself (and is not throttled); anyone else is not.
        let viewer = ctx.maybe_viewer().await?;
        let new = NewUser {
            email: input.email,
            password: input.password,
            first_name: input.first_name,
            last_name: input.last_name,
            role,
            gender: input.gender.map(Gender::from),
            phone: input.phone,
        };
        let attempt = throttle::Attempt::register(&state.config, &addr);
        let tokens =
            accounts::register(&state.store, &state.passwords, &state.keys, viewer.as_deref(), new, Some(attempt))
                .await?;
        Ok(tokens.into())
    }

    /// Signs in. Throttled per email and per client address.
    async fn login(&self, ctx: &Context<'_>, email: String, password: String) -> AppResult<AuthPayload> {
        let (state, addr) = (ctx.state()?, ctx.client_addr());
        let tokens =
            accounts::login(&state.store, &state.passwords, &state.keys, &state.config, &email, password, &addr)
                .await?;
        Ok(tokens.into())
    }

    /// Trades a refresh token for a new pair; the old one is retired.
    async fn refresh_token(&self, ctx: &Context<'_>, refresh_token: String) -> AppResult<AuthPayload> {
        let state = ctx.state()?;
        Ok(accounts::refresh(&state.store, &state.keys, &state.sessions, &refresh_token).await?.into())
    }

    /// Ends the login the refresh token belongs to.
    async fn logout(&self, ctx: &Context<'_>, refresh_token: String) -> AppResult<bool> {
        let state = ctx.state()?;
        accounts::logout(&state.store, &state.keys, &state.sessions, &refresh_token).await?;
        Ok(true)
    }

    /// Edits the viewer's own account. Changing the email needs `currentPassword`, tells the old
    /// address, and ends every other login of the viewer.
    async fn update_me(&self, ctx: &Context<'_>, input: UpdateMeInput) -> AppResult<User> {
        let viewer = ctx.viewer().await?;
        let changes = ProfileChanges {
            email: change(input.email),
            first_name: change(input.first_name),
            last_name: change(input.last_name),
            phone: change(input.phone),
            address: change(input.address),
            bio: change(input.bio),
            gender: change(input.gender.map_value(Gender::from)),
            email_reminders: change(input.email_reminders),
            sms_reminders: change(input.sms_reminders),
            current_password: input.current_password,
        };
        let (state, addr) = (ctx.state()?, ctx.client_addr());
        let cx = UpdateContext {
            passwords: &state.passwords,
            sessions: &state.sessions,
            config: &state.config,
            client_addr: &addr,
            queue_reminders: cybermed_core::domain::appointments::queue_reminders,
        };
        Ok(accounts::update_me(&state.store, &cx, &viewer, changes).await?.into())
    }

    /// Changes the viewer's password; every login of theirs ends.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        old_password: String,
        new_password: String,
    ) -> AppResult<MessagePayload> {
        let viewer = ctx.viewer().await?;
        let (state, addr) = (ctx.state()?, ctx.client_addr());
        let change = PasswordChange { old: old_password, new: new_password };
        accounts::change_password(
            &state.store,
            &state.passwords,
            &state.sessions,
            &state.config,
            &viewer,
            change,
            &addr,
        )
        .await?;
        Ok(MessagePayload::new(accounts::MSG_PASSWORD_CHANGED))
    }

    /// Emails a reset token if the account exists; the answer is the same either way.
    async fn request_password_reset(&self, ctx: &Context<'_>, email: String) -> AppResult<MessagePayload> {
        let state = ctx.state()?;
        accounts::request_password_reset(&state.store, &state.config, &email, &ctx.client_addr()).await?;
        Ok(MessagePayload::new(accounts::MSG_RESET_SENT))
    }

    /// Sets a new password with an emailed token; every login of the user ends.
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        email: String,
        token: String,
        password: String,
    ) -> AppResult<MessagePayload> {
        let (state, addr) = (ctx.state()?, ctx.client_addr());
        let reset = PasswordReset { email, token, password };
        accounts::reset_password(&state.store, &state.passwords, &state.sessions, &state.config, reset, &addr).await?;
        Ok(MessagePayload::new(accounts::MSG_RESET_DONE))
    }

    /// Activates or deactivates an account (admins only).
    #[graphql(guard = "RoleGuard::new(Role::Admin)")]
    async fn set_user_active(&self, ctx: &Context<'_>, id: Uuid, is_active: bool) -> AppResult<User> {
        let viewer = ctx.viewer().await?;
        let state = ctx.state()?;
        Ok(accounts::set_active(&state.store, &state.sessions, &viewer, id, is_active).await?.into())
    }

    /// Changes an account's role (admins only).
    #[graphql(guard = "RoleGuard::new(Role::Admin)")]
    async fn set_user_role(&self, ctx: &Context<'_>, id: Uuid, role: enums::Role) -> AppResult<User> {
        let viewer = ctx.viewer().await?;
        let state = ctx.state()?;
        Ok(accounts::set_role(&state.store, &state.sessions, &viewer, id, role.into()).await?.into())
    }
}
