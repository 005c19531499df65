//! Field errors placed as the GraphQL spec places them, in one place for every resolver.
//!
//! async-graphql drops the key of any field that failed, whatever its type, and answers an object
//! all of whose fields failed as `null` (since 7.1.0). The spec (and every generated
//! client and normalised cache) expects instead: a failed nullable field is `null`, its key
//! present; a failed non-null field makes its nearest nullable ancestor `null` (list items
//! included), or the whole `data` when there is none. [`Nulls::fix`] rewrites an executed
//! response accordingly, from each error's `path`, the executed document (response keys to field
//! names, through fragments) and the schema's output types (read once from its SDL). A response
//! without errors is left untouched, at no cost.
//!
//! HTTP requests are fixed where they are executed (`graphql::http`); WebSocket operations by
//! this type installed as an extension of the WebSocket schema.
//!
//! Works around <https://github.com/async-graphql/async-graphql/pull/1746>. 8.0.0-rc.5 reverts it,
//! but a failed `Result<Option<T>>` field then nulls its parent instead
//! (<https://github.com/async-graphql/async-graphql/issues/1549>; for guards
//! <https://github.com/async-graphql/async-graphql/issues/798>,
//! <https://github.com/async-graphql/async-graphql/issues/1532>). See docs/async-graphql.md.
use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
};

use async_graphql::{
    Name, PathSegment, Request, Response, ServerResult, Value,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextPrepareRequest, NextSubscribe,
    },
    futures_util::{StreamExt, stream::BoxStream},
    parser::Positioned,
    parser::types::{
        BaseType, ExecutableDocument, FragmentDefinition, OperationType, Selection, SelectionSet, ServiceDocument,
        Type, TypeKind, TypeSystemDefinition,
    },
};

/// How deep fragments may nest while looking up a response key. Documents are bounded well below
/// this before they run (`limits`); it only guards against a document that was not.
const MAX_FRAGMENT_NESTING: usize = 64;

/// The schema's output types as far as placing nulls needs them: the type of every field of
/// every object and interface, and the root types. Cheap to clone.
#[derive(Clone, Default)]
pub struct Nulls(Arc<Types>);

#[derive(Default)]
struct Types {
    /// Object or interface name → field name → the field's type.
    fields: HashMap<String, HashMap<String, Type>>,
    query: String,
    mutation: String,
    subscription: String,
}

type Fragments = HashMap<Name, Positioned<FragmentDefinition>>;

impl Nulls {
    /// The types described by `sdl`. An SDL that does not parse (never the case for one printed
    /// by async-graphql) gives a value that leaves every response as it is, and is logged.
    pub fn from_sdl(sdl: &str) -> Self {
        let doc: ServiceDocument = match async_graphql::parser::parse_schema(sdl) {
            Ok(doc) => doc,
            Err(e) => {
                tracing::error!(error = %e, "the schema's SDL does not parse: field errors are left as async-graphql places them");
                return Self::default();
            }
        };
        let mut types = Types {
            query: "Query".to_owned(),
            mutation: "Mutation".to_owned(),
            subscription: "Subscription".to_owned(),
            ..Types::default()
        };
        for definition in doc.definitions {
            match definition {
                TypeSystemDefinition::Schema(schema) => {
                    let schema = schema.node;
                    let name = |n: Option<Positioned<Name>>, default: String| n.map_or(default, |n| n.node.to_string());
                    types.query = name(schema.query, types.query);
                    types.mutation = name(schema.mutation, types.mutation);
                    types.subscription = name(schema.subscription, types.subscription);
                }
                TypeSystemDefinition::Type(ty) => {
                    let ty = ty.node;
                    let fields = match ty.kind {
                        TypeKind::Object(o) => o.fields,
                        TypeKind::Interface(i) => i.fields,
                        _ => continue,
                    };
                    let fields = fields.into_iter().map(|f| (f.node.name.node.to_string(), f.node.ty.node)).collect();
                    types.fields.insert(ty.name.node.to_string(), fields);
                }
                TypeSystemDefinition::Directive(_) => {}
            }
        }
        Self(Arc::new(types))
    }

    /// Places `null` where the spec says for every field error of `response`, an execution of
    /// `operation_name` (or the only operation) of `doc`: a failed nullable field becomes `null`
    /// (its key inserted if async-graphql dropped it), a failed non-null field nulls its nearest
    /// nullable ancestor or, when there is none, the whole `data`; an object async-graphql answered
    /// as `null` because every field of it failed is an object again. Errors are kept as they are.
    ///
    /// Does nothing when `response` has no errors. An error whose path does not match the
    /// document and the schema (which async-graphql never produces) is left alone.
    pub fn fix(&self, doc: &ExecutableDocument, operation_name: Option<&str>, response: &mut Response) {
        if response.errors.is_empty() {
            return;
        }
        let Some(operation) = super::selected_operation(doc, operation_name) else { return };
        let root = match operation.node.ty {
            OperationType::Query => &self.0.query,
            OperationType::Mutation => &self.0.mutation,
            OperationType::Subscription => &self.0.subscription,
        };
        let walker = Walker { types: &self.0, fragments: &doc.fragments };
        let root_type = Type { base: BaseType::Named(Name::new(root)), nullable: true };

        // Where each error puts its null: a prefix of its path (empty: all of `data`).
        let mut targets: Vec<Target<'_>> = response
            .errors
            .iter()
            .filter(|e| !e.path.is_empty())
            .filter_map(|e| walker.target(&root_type, &operation.node.selection_set.node, &e.path))
            .collect();
        // Outermost first; a null inside one already placed is moot.
        targets.sort_by_key(|t| t.path.len());
        let mut placed: HashSet<Vec<Key<'_>>> = HashSet::new();
        for target in targets {
            if target.path.is_empty() {
                response.data = Value::Null;
                return;
            }
            let keys: Vec<Key<'_>> = target.path.iter().map(Key::of).collect();
            if (1..keys.len()).any(|n| placed.contains(&keys[..n])) {
                continue;
            }
            walker.place_null(&mut response.data, &target);
            placed.insert(keys);
        }
    }
}

/// A prefix of an error's path to set to `null`, and the selections of the object holding its
/// last field (to insert the key where the document puts it).
struct Target<'a> {
    path: &'a [PathSegment],
    parent: Vec<&'a SelectionSet>,
}

#[derive(PartialEq, Eq, Hash)]
enum Key<'a> {
    Field(&'a str),
    Index(usize),
}

impl<'a> Key<'a> {
    fn of(segment: &'a PathSegment) -> Self {
        match segment {
            PathSegment::Field(f) => Self::Field(f),
            PathSegment::Index(i) => Self::Index(*i),
        }
    }
}

struct Walker<'a> {
    types: &'a Types,
    fragments: &'a Fragments,
}

impl<'a> Walker<'a> {
    /// Follows `path` through the selections and the types from the root; the target is the
    /// deepest position whose type is nullable (none: `data` itself).
    fn target(&self, root: &'a Type, top: &'a SelectionSet, path: &'a [PathSegment]) -> Option<Target<'a>> {
        let mut ty = root;
        let mut sets: Vec<&'a SelectionSet> = vec![top];
        // Selections of the object at each position, for the position's key order.
        let mut sets_at: Vec<Vec<&'a SelectionSet>> = Vec::with_capacity(path.len());
        let mut nullable_at = 0;
        for (i, segment) in path.iter().enumerate() {
            sets_at.push(sets.clone());
            ty = match segment {
                PathSegment::Field(key) => {
                    let BaseType::Named(type_name) = &ty.base else { return None };
                    let (field_name, below) = self.field(&sets, key)?;
                    let field_type = self.types.fields.get(type_name.as_str())?.get(field_name)?;
                    sets = below;
                    field_type
                }
                PathSegment::Index(_) => match &ty.base {
                    BaseType::List(item) => item,
                    BaseType::Named(_) => return None,
                },
            };
            if ty.nullable {
                nullable_at = i + 1;
            }
        }
        let parent = match nullable_at {
            0 => Vec::new(),
            n => sets_at.swap_remove(n - 1),
        };
        Some(Target { path: &path[..nullable_at], parent })
    }

    /// The field name behind response key `key` in `sets`, and the selections below it (merged
    /// from every field with that key).
    fn field(&self, sets: &[&'a SelectionSet], key: &str) -> Option<(&'a str, Vec<&'a SelectionSet>)> {
        let mut name = None;
        let mut below = Vec::new();
        for set in sets {
            self.visit(set, 0, &mut |field| {
                if field.response_key().node.as_str() == key {
                    name.get_or_insert(field.name.node.as_str());
                    below.push(&field.selection_set.node);
                }
            });
        }
        name.map(|n| (n, below))
    }

    /// Calls `f` on every field selected in `set`, through fragments, in document order.
    fn visit(
        &self,
        set: &'a SelectionSet,
        nesting: usize,
        f: &mut impl FnMut(&'a async_graphql::parser::types::Field),
    ) {
        if nesting > MAX_FRAGMENT_NESTING {
            return;
        }
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => f(&field.node),
                Selection::FragmentSpread(spread) => {
                    if let Some(fragment) = self.fragments.get(&spread.node.fragment_name.node) {
                        self.visit(&fragment.node.selection_set.node, nesting + 1, f);
                    }
                }
                Selection::InlineFragment(inline) => self.visit(&inline.node.selection_set.node, nesting + 1, f),
            }
        }
    }

    /// Sets `target` to `null` in `data`, turning the `null`s async-graphql left for objects whose
    /// every field failed back into objects on the way.
    fn place_null(&self, data: &mut Value, target: &Target<'a>) {
        let Some((last, above)) = target.path.split_last() else {
            *data = Value::Null;
            return;
        };
        let mut value = data;
        for segment in above {
            value = match segment {
                PathSegment::Field(key) => {
                    let Some(map) = as_object(value) else { return };
                    let Some(next) = map.get_mut(key.as_str()) else { return };
                    next
                }
                PathSegment::Index(i) => {
                    let Value::List(items) = value else { return };
                    let Some(next) = items.get_mut(*i) else { return };
                    next
                }
            };
        }
        match last {
            PathSegment::Field(key) => {
                let Some(map) = as_object(value) else { return };
                if let Some(slot) = map.get_mut(key.as_str()) {
                    *slot = Value::Null;
                } else {
                    let at = self.position(map, &target.parent, key);
                    map.shift_insert(at, Name::new(key), Value::Null);
                }
            }
            PathSegment::Index(i) => {
                if let Value::List(items) = value
                    && let Some(slot) = items.get_mut(*i)
                {
                    *slot = Value::Null;
                }
            }
        }
    }

    /// Where `key` goes among the keys already in `map`: after those the document selects before it.
    fn position(
        &self,
        map: &async_graphql::indexmap::IndexMap<Name, Value>,
        sets: &[&'a SelectionSet],
        key: &str,
    ) -> usize {
        let mut before: HashSet<&str> = HashSet::new();
        let mut found = false;
        for set in sets {
            self.visit(set, 0, &mut |field| {
                let k = field.response_key().node.as_str();
                if k == key {
                    found = true;
                } else if !found {
                    before.insert(k);
                }
            });
        }
        map.keys().filter(|k| before.contains(k.as_str())).count()
    }
}

/// The object at `value`; a `null` (an object async-graphql emptied) becomes an empty object.
fn as_object(value: &mut Value) -> Option<&mut async_graphql::indexmap::IndexMap<Name, Value>> {
    if matches!(value, Value::Null) {
        *value = Value::Object(Default::default());
    }
    match value {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// The query and operation name of the operation being run, and the order of its root keys, kept
/// to fix its responses.
type Seen = Arc<Mutex<Option<(String, Option<String>, super::order::RootOrder)>>>;

impl ExtensionFactory for Nulls {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(NullsExtension { nulls: self.clone(), seen: Seen::default() })
    }
}

/// One operation's fixer (async-graphql creates one per operation). Responses over the WebSocket
/// come through [`Extension::subscribe`] (queries and mutations too); [`Extension::execute`] covers
/// a plain `execute` of the same schema. Fixing twice changes nothing.
struct NullsExtension {
    nulls: Nulls,
    seen: Seen,
}

impl NullsExtension {
    fn fix(nulls: &Nulls, seen: &Seen, response: &mut Response) {
        let Ok(seen) = seen.lock() else { return };
        let Some((query, operation_name, root_order)) = seen.as_ref() else { return };
        root_order.apply(&mut response.data);
        if response.errors.is_empty() {
            return;
        }
        // Parsed again only when there are errors to place. The errors may be the refusal of a
        // document nested too deep to parse: bounded first, as every parse is.
        if super::limits::prescan(query).is_ok()
            && let Ok(doc) = async_graphql::parser::parse_query(query)
        {
            nulls.fix(&doc, operation_name.as_deref(), response);
        }
    }
}

#[async_trait::async_trait]
impl Extension for NullsExtension {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        if let Ok(mut seen) = self.seen.lock() {
            // The root's order is read from the document once it is parsed (`parse_query`); a
            // document that does not parse runs nothing, so any order does.
            *seen = Some((request.query.clone(), request.operation_name.clone(), super::order::RootOrder::default()));
        }
        next.run(ctx, request).await
    }

    /// Reads the root's keys in document order from the document the executor parsed (or took
    /// from the limits' cache): async-graphql writes them as they complete.
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &async_graphql::Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        if let Ok(mut seen) = self.seen.lock()
            && let Some((_, operation_name, root_order)) = seen.as_mut()
        {
            *root_order = super::order::RootOrder::of(&doc, operation_name.as_deref());
        }
        Ok(doc)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let mut response = next.run(ctx, operation_name).await;
        Self::fix(&self.nulls, &self.seen, &mut response);
        response
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        let (nulls, seen) = (self.nulls.clone(), self.seen.clone());
        next.run(ctx, stream)
            .map(move |mut response| {
                Self::fix(&nulls, &seen, &mut response);
                response
            })
            .boxed()
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a test fails loudly")]
mod tests {
    use async_graphql::{PathSegment, Response, ServerError, Value};
    use serde_json::json;

    use super::Nulls;

    const SDL: &str = "
        type Query { page: Page!  items: [Item]  strict: [Item!] }
        type Page { edges: [Edge!]! }
        type Edge { node: Item! }
        type Item { id: ID!  note: String }";

    /// `data` after placing the nulls of errors at `paths` for `query`.
    fn fixed(query: &str, data: serde_json::Value, paths: &[serde_json::Value]) -> serde_json::Value {
        let mut response = Response::new(Value::from_json(data).unwrap());
        response.errors = paths
            .iter()
            .map(|p| {
                let mut e = ServerError::new("boom", None);
                e.path = serde_json::from_value::<Vec<PathSegment>>(p.clone()).unwrap();
                e
            })
            .collect();
        let doc = async_graphql::parser::parse_query(query).unwrap();
        Nulls::from_sdl(SDL).fix(&doc, None, &mut response);
        response.data.into_json().unwrap()
    }

    #[test]
    fn a_nullable_field_in_a_list_item_is_null_and_an_emptied_object_is_an_object_again() {
        let data = json!({ "page": { "edges": [{ "node": { "id": "1" } }, { "node": null }] } });
        let out = fixed(
            "{ page { edges { node { id note } } } }",
            data,
            &[
                json!(["page", "edges", 0, "node", "note"]),
                json!(["page", "edges", 1, "node", "note"]),
                json!(["page", "edges", 1, "node", "id"]),
            ],
        );
        // Edge 1's node failed a non-null `id`: up to `page: Page!`, then the root.
        assert_eq!(out, json!(null));
        let out = fixed(
            "{ page { edges { node { note } } } }",
            json!({ "page": { "edges": [{ "node": null }] } }),
            &[json!(["page", "edges", 0, "node", "note"])],
        );
        assert_eq!(out, json!({ "page": { "edges": [{ "node": { "note": null } }] } }));
    }

    #[test]
    fn a_failed_non_null_field_nulls_a_nullable_list_item_or_else_the_list() {
        let out = fixed("{ items { id } }", json!({ "items": [{ "id": "1" }, null] }), &[json!(["items", 1, "id"])]);
        assert_eq!(out, json!({ "items": [{ "id": "1" }, null] }));
        let out = fixed("{ strict { id } }", json!({}), &[json!(["strict", 1, "id"])]);
        assert_eq!(out, json!({ "strict": null }));
    }

    #[test]
    fn responses_without_errors_and_paths_that_match_nothing_are_left_alone() {
        let data = json!({ "items": [{ "id": "1" }] });
        assert_eq!(fixed("{ items { id } }", data.clone(), &[]), data);
        assert_eq!(fixed("{ items { id } }", data.clone(), &[json!(["nothing", 3])]), data);
    }
}
