//! Objects answered without a future per field, when everything selected is already in hand.
//!
//! async-graphql resolves every field of an object through a boxed future polled in a
//! `FuturesUnordered`: about 2,600 instructions per field, which made a page of 20 appointments
//! with their two people cost 30 times a `{ __typename }` request. Types whose usual fields only
//! read loaded data implement [`Plain`]; wrapped in [`Fast`], an object is resolved by walking its
//! selection set synchronously (fields, fragments, inline fragments, aliases, `__typename`,
//! merging of repeated keys), and the moment a selected field is not plain (it must wait for the
//! database, or reports an error) the whole object is resolved the usual way instead. Leaf values
//! are produced by their own `OutputType`, so the two paths give the same answers; tests resolve
//! the same selections both ways.
use std::borrow::Cow;

use async_graphql::{
    Context, ContextSelectionSet, Name, ObjectType, OutputType, Positioned, ServerResult, Value,
    connection::{Connection, CursorType, Edge, EmptyFields, PageInfo},
    futures_util::FutureExt,
    indexmap::{IndexMap, map::Entry},
    parser::types::{Field, Selection, SelectionSet},
    registry::Registry,
};

/// An object some of whose fields can be answered at once.
pub trait Plain: OutputType {
    /// The value of the field `ctx` is at, or `None` when only the async resolver can answer it.
    fn plain_field(&self, ctx: &Context<'_>) -> Option<Value>;
}

/// `T` with the synchronous path tried first; the same GraphQL type as `T`.
pub struct Fast<T>(pub T);

impl<T: Plain + Send + Sync> OutputType for Fast<T> {
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
        match resolve(ctx, &self.0) {
            Some(value) => Ok(value),
            None => self.0.resolve(ctx, field).await,
        }
    }
}

/// The object's value from plain fields only; `None` if a selected field is not plain.
pub fn resolve<T: Plain + ?Sized>(ctx: &ContextSelectionSet<'_>, root: &T) -> Option<Value> {
    // No extension of these schemas hooks field resolution (the WebSocket schema's only checks
    // documents as they are parsed), so none is skipped here.
    let mut out = IndexMap::with_capacity(ctx.item.node.items.len());
    walk(ctx, ctx.item, root, &mut out)?;
    // As async-graphql answers an object none of whose fields remained.
    Some(if out.is_empty() { Value::Null } else { Value::Object(out) })
}

/// The value of an object-typed field (`ctx` at that field) from `value`'s plain fields.
pub fn nested<T: Plain + ?Sized>(ctx: &Context<'_>, value: &T) -> Option<Value> {
    resolve(&ctx.with_selection_set(&ctx.item.node.selection_set), value)
}

/// A list of plain values; `None` if one of them is not.
pub fn list(items: impl Iterator<Item = Option<Value>>) -> Option<Value> {
    items.collect::<Option<Vec<_>>>().map(Value::List)
}

/// A leaf value (scalar, enum, or an option of one) exactly as its own `OutputType` writes it.
pub fn leaf<T: OutputType>(ctx: &Context<'_>, value: &T) -> Option<Value> {
    value.resolve(&ctx.with_selection_set(&ctx.item.node.selection_set), ctx.item).now_or_never()?.ok()
}

fn walk<'a, T: Plain + ?Sized>(
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
                let value = if field.node.name.node == "__typename" {
                    Value::String(root.introspection_type_name().into_owned())
                } else {
                    root.plain_field(&ctx.with_field(field))?
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

/// A Relay list of plain nodes: `edges`, `nodes` and `pageInfo` (its additional fields, such as
/// `totalCount`, ask the database).
impl<C, N, F> Plain for Connection<C, Fast<N>, F>
where
    C: CursorType + Send + Sync,
    N: Plain + Send + Sync,
    F: ObjectType,
{
    fn plain_field(&self, ctx: &Context<'_>) -> Option<Value> {
        match ctx.item.node.name.node.as_str() {
            "edges" => list(self.edges.iter().map(|e| nested(ctx, e))),
            "nodes" => list(self.edges.iter().map(|e| nested(ctx, &e.node.0))),
            "pageInfo" => nested(
                ctx,
                &PageInfo {
                    has_previous_page: self.has_previous_page,
                    has_next_page: self.has_next_page,
                    start_cursor: self.edges.first().map(|e| e.cursor.encode_cursor()),
                    end_cursor: self.edges.last().map(|e| e.cursor.encode_cursor()),
                },
            ),
            _ => None,
        }
    }
}

impl<C, N> Plain for Edge<C, Fast<N>, EmptyFields>
where
    C: CursorType + Send + Sync,
    N: Plain + Send + Sync,
{
    fn plain_field(&self, ctx: &Context<'_>) -> Option<Value> {
        match ctx.item.node.name.node.as_str() {
            "cursor" => leaf(ctx, &self.cursor.encode_cursor()),
            "node" => nested(ctx, &self.node.0),
            _ => None,
        }
    }
}

impl Plain for PageInfo {
    fn plain_field(&self, ctx: &Context<'_>) -> Option<Value> {
        match ctx.item.node.name.node.as_str() {
            "hasPreviousPage" => leaf(ctx, &self.has_previous_page),
            "hasNextPage" => leaf(ctx, &self.has_next_page),
            "startCursor" => leaf(ctx, &self.start_cursor),
            "endCursor" => leaf(ctx, &self.end_cursor),
            _ => None,
        }
    }
}

/// Whether a fragment on `condition` applies to `root`: its own type or an interface it implements.
fn applies<T: Plain + ?Sized>(ctx: &ContextSelectionSet<'_>, root: &T, condition: &str) -> bool {
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

/// A UUID as the `UUID` scalar writes it (lower-case, hyphenated), without the formatting
/// machinery.
pub fn uuid_value(id: &uuid::Uuid) -> Value {
    Value::String(id.hyphenated().encode_lower(&mut uuid::Uuid::encode_buffer()).to_owned())
}
