//! Objects answered without a boxed future per field, by the very resolvers of their `#[Object]`.
//!
//! async-graphql resolves every field of an object through a boxed future polled in a
//! `FuturesUnordered`: about 2,600 instructions per field, which made a page of 20 appointments
//! with their two people cost 30 times a `{ __typename }` request. Wrapped in [`Fast`], an object
//! is resolved by walking its selection set (fields, fragments, inline fragments, aliases,
//! `__typename`, merging of repeated keys) and calling, for each field, the resolver its
//! `#[Object]` generated (`ContainerType::resolve_field`: arguments, guards, the resolver, the
//! value's own `OutputType`) polled once, in place. If it is ready, that is the field's value; if
//! a field must wait (for the database) or fails, the whole object is resolved the usual way.
//!
//! So there is one declaration per field, its `#[Object]` resolver, and both paths run it: a field
//! that gains a guard, an argument or a privacy rule behaves the same on both. What [`PlainObject`]
//! declares is only which fields are worth trying at once (`plain`) and which always wait
//! (`waits`): a field in neither is left to the async path and fails the registry test
//! (`tests/api/plain.rs`), which walks every object type of the schema.
//!
//! A field polled here must not start work it cannot finish in that one poll: while probing,
//! [`probing`] is true and the request's DataLoaders refuse to start a load (see
//! `ContextExt::loaders`), and a nested [`Fast`] object that cannot be answered at once stays
//! pending instead of starting its async path, so the outer object is retried as a whole.
//!
//! Works around async-graphql 7.2.1's boxed future per field, which 8.0.0-rc.5 keeps; nearest
//! upstream report: <https://github.com/async-graphql/async-graphql/issues/747>. See
//! docs/async-graphql.md.
use std::{borrow::Cow, cell::Cell, future::Future, sync::atomic::Ordering, task::Poll};

use async_graphql::{
    ContainerType, ContextSelectionSet, Name, OutputType, Positioned, ServerResult, Value,
    indexmap::{IndexMap, map::Entry},
    parser::types::{Field, Selection, SelectionSet},
    registry::Registry,
};

/// An `#[Object]` whose fields can be answered in place: which of them, by name.
pub trait PlainObject: ContainerType + Send + Sync {
    /// Whether the walk may answer field `name` at once.
    fn is_plain(name: &str) -> bool;
    /// The fields answered at once and the fields that wait, as declared (for the registry test).
    fn declared() -> (Vec<&'static str>, Vec<&'static str>);
}

impl<T: PlainObject> PlainObject for &T {
    fn is_plain(name: &str) -> bool {
        T::is_plain(name)
    }

    fn declared() -> (Vec<&'static str>, Vec<&'static str>) {
        T::declared()
    }
}

/// Declares a [`PlainObject`]: `plain_object!(User { plain: ["id", …], waits: ["history"] })`.
#[macro_export]
macro_rules! plain_object {
    // Every field waits: the object is always answered the usual way where it appears.
    ($ty:ty { plain: [], waits: [$($waits:literal),* $(,)?] $(,)? }) => {
        impl $crate::plain::PlainObject for $ty {
            fn is_plain(_: &str) -> bool {
                false
            }

            fn declared() -> (Vec<&'static str>, Vec<&'static str>) {
                (vec![], vec![$($waits),*])
            }
        }
    };
    ($ty:ty { plain: [$($plain:literal),* $(,)?], waits: [$($waits:literal),* $(,)?] $(,)? }) => {
        impl $crate::plain::PlainObject for $ty {
            fn is_plain(name: &str) -> bool {
                matches!(name, $($plain)|*)
            }

            fn declared() -> (Vec<&'static str>, Vec<&'static str>) {
                (vec![$($plain),*], vec![$($waits),*])
            }
        }
    };
}

/// `T` with the in-place path tried first; the same GraphQL type as `T`.
pub struct Fast<T>(pub T);

impl<T: PlainObject> OutputType for Fast<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn qualified_type_name() -> String {
        T::qualified_type_name()
    }

    fn introspection_type_name(&self) -> Cow<'static, str> {
        self.0.introspection_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(&self, ctx: &ContextSelectionSet<'_>, field: &Positioned<Field>) -> ServerResult<Value> {
        if let Some(value) = resolve(ctx, &self.0) {
            count(ctx, |s| &s.plain);
            return Ok(value);
        }
        if probing() {
            // Inside another object's in-place attempt: starting the async path here could record
            // errors or start loads that the retry of the outer object would repeat.
            return std::future::pending().await;
        }
        count(ctx, |s| &s.fallback);
        // Boxed: the usual path's state would otherwise make every `Fast` future (and every list
        // of them) as large as async-graphql's container resolution, moved and copied for nothing.
        let mut value = Box::pin(self.0.resolve(ctx, field)).await?;
        // The usual path writes fields as they complete: put them back in the selection's order.
        super::order::order_object(ctx, &mut value);
        Ok(value)
    }
}

/// A list of objects answered in place one after the other (each as [`Fast`] would be), without a
/// future per item; the same GraphQL type as `Vec<T>`. If one item cannot be, the whole list is
/// resolved the usual way.
pub struct FastList<T>(pub Vec<T>);

impl<T: PlainObject> OutputType for FastList<T> {
    fn type_name() -> Cow<'static, str> {
        <Vec<T> as OutputType>::type_name()
    }

    fn qualified_type_name() -> String {
        <Vec<T> as OutputType>::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <Vec<T> as OutputType>::create_type_info(registry)
    }

    async fn resolve(&self, ctx: &ContextSelectionSet<'_>, field: &Positioned<Field>) -> ServerResult<Value> {
        let mut items = Vec::with_capacity(self.0.len());
        for (index, item) in self.0.iter().enumerate() {
            match resolve(&ctx.with_index(index), item) {
                Some(value) => items.push(value),
                None if probing() => return std::future::pending().await,
                None => {
                    count(ctx, |s| &s.fallback);
                    let usual = async_graphql::resolver_utils::resolve_list(
                        ctx,
                        field,
                        self.0.iter().map(Fast),
                        Some(self.0.len()),
                    );
                    return Box::pin(usual).await;
                }
            }
        }
        count(ctx, |s| &s.plain);
        Ok(Value::List(items))
    }
}

/// How often the in-place path answered an object, and how often it left one to the async path
/// (one per process, in the schema's data and in [`crate::AppState`]; read by tests and the
/// benchmark).
#[derive(Default)]
pub struct PlainStats {
    pub plain: std::sync::atomic::AtomicU64,
    pub fallback: std::sync::atomic::AtomicU64,
}

fn count(ctx: &ContextSelectionSet<'_>, which: impl Fn(&PlainStats) -> &std::sync::atomic::AtomicU64) {
    if probing() {
        return;
    }
    if let Some(stats) = ctx.data_opt::<std::sync::Arc<PlainStats>>() {
        which(stats).fetch_add(1, Ordering::Relaxed);
    }
}

thread_local! {
    static PROBING: Cell<u32> = const { Cell::new(0) };
}

/// Whether a field is being polled in place (see the module documentation).
pub fn probing() -> bool {
    PROBING.with(|p| p.get() > 0)
}

/// Stays pending, while a field is polled in place, instead of starting work that cannot finish in
/// that one poll (a database query): the object is then resolved the usual way, which awaits this
/// at once. A signal of this path only: no error, so nothing can mistake it for a field's failure.
pub async fn not_probing() {
    if probing() {
        std::future::pending::<()>().await;
    }
}

/// Marks the thread as probing while alive. The poll it covers never yields, so the mark cannot
/// leak to another task.
struct Probe;

impl Probe {
    fn enter() -> Self {
        PROBING.with(|p| p.set(p.get() + 1));
        Self
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        PROBING.with(|p| p.set(p.get().saturating_sub(1)));
    }
}

/// The object's value from fields answered in place; `None` if one of them cannot be.
fn resolve<T: PlainObject>(ctx: &ContextSelectionSet<'_>, root: &T) -> Option<Value> {
    // Extensions may hook each field's resolution on the usual path, which this one skips: no
    // extension of these schemas does (none in this crate implements `Extension::resolve`;
    // one that did would have to be honoured here).
    let mut out = IndexMap::with_capacity(ctx.item.node.items.len());
    walk(ctx, ctx.item, root, &mut out)?;
    // As async-graphql answers an object none of whose fields remained.
    Some(if out.is_empty() { Value::Null } else { Value::Object(out) })
}

fn walk<'a, T: PlainObject>(
    ctx: &ContextSelectionSet<'a>,
    set: &'a Positioned<SelectionSet>,
    root: &T,
    out: &mut IndexMap<Name, Value>,
) -> Option<()> {
    for selection in &set.node.items {
        // `@skip`/`@include` were applied before execution; any other directive is left to the
        // usual path.
        if !selection.node.directives().is_empty() {
            return None;
        }
        match &selection.node {
            Selection::Field(field) => {
                let name = field.node.name.node.as_str();
                let value = if name == "__typename" {
                    Value::String(root.introspection_type_name().into_owned())
                } else if T::is_plain(name) {
                    let ctx_field = ctx.with_field(field);
                    let _probe = Probe::enter();
                    // Polled where it was made: `now_or_never` would move the future (as large as
                    // its largest field's state) once more for every field.
                    let future = std::pin::pin!(root.resolve_field(&ctx_field));
                    match future.poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
                        Poll::Ready(Ok(Some(value))) => value,
                        Poll::Ready(Ok(None) | Err(_)) | Poll::Pending => return None,
                    }
                } else {
                    return None;
                };
                insert_value(out, field.node.response_key().node.clone(), value);
            }
            Selection::FragmentSpread(spread) => {
                let fragment = ctx.query_env.fragments.get(&spread.node.fragment_name.node)?;
                if applies(ctx, root, &fragment.node.type_condition.node.on.node) {
                    walk(ctx, &fragment.node.selection_set, root, out)?;
                }
            }
            Selection::InlineFragment(fragment) => {
                let condition = fragment.node.type_condition.as_ref();
                if condition.is_none_or(|c| applies(ctx, root, &c.node.on.node)) {
                    walk(ctx, &fragment.node.selection_set, root, out)?;
                }
            }
        }
    }
    Some(())
}

/// Whether a fragment on `condition` applies to `root`: its own type or an interface it implements.
fn applies<T: PlainObject>(ctx: &ContextSelectionSet<'_>, root: &T, condition: &str) -> bool {
    let name = root.introspection_type_name();
    name == condition
        || ctx
            .schema_env
            .registry
            .implements
            .get(name.as_ref())
            .is_some_and(|interfaces| interfaces.contains(condition))
}

/// Repeated response keys merge, as in async-graphql's own container resolution.
fn insert_value(target: &mut IndexMap<Name, Value>, name: Name, value: Value) {
    match target.entry(name) {
        Entry::Vacant(slot) => {
            slot.insert(value);
        }
        Entry::Occupied(mut slot) => match (slot.get_mut(), value) {
            (Value::Object(existing), Value::Object(more)) => {
                for (key, value) in more {
                    insert_value(existing, key, value);
                }
            }
            (Value::List(existing), Value::List(more)) => {
                for (item, more) in existing.iter_mut().zip(more) {
                    if let (Value::Object(item), Value::Object(more)) = (item, more) {
                        for (key, value) in more {
                            insert_value(item, key, value);
                        }
                    }
                }
            }
            _ => {}
        },
    }
}
