//! Response keys in the order of the selection set, as the GraphQL specification's "Serialized Map
//! Ordering" asks.
//!
//! async-graphql resolves an object's fields as a `FuturesUnordered` and writes each one when it
//! completes, so a field that waits for the database lands after the fields that did not: in
//! `{ doctors { totalCount } me { id } }`, `me` came first. Objects answered in place
//! ([`super::plain`]) keep the order; what async-graphql resolved is put back in order here: an
//! object of the plain path's fallback where it is resolved ([`order_object`]), and the root where
//! the response is made ([`RootOrder`]).
//!
//! Works around the unordered keys of <https://github.com/async-graphql/async-graphql/pull/1746>
//! (7.1.0); 8.0.0-rc.5 reverts it in <https://github.com/async-graphql/async-graphql/pull/1806>, so
//! this module could go. See docs/async-graphql.md.
use async_graphql::{
    ContextSelectionSet, Name, Value,
    indexmap::IndexMap,
    parser::types::{ExecutableDocument, FragmentDefinition, Selection, SelectionSet},
};

/// How deep fragments may nest while collecting keys; documents are bounded well below this
/// before they run (`limits`), so it only guards against one that was not.
const MAX_FRAGMENT_NESTING: usize = 32;

type Fragments = std::collections::HashMap<Name, async_graphql::Positioned<FragmentDefinition>>;

/// The response keys of `set` in document order, each once, fragments expanded (whatever their type
/// condition: a key that does not apply is simply absent from the object).
fn keys<'a>(
    set: &'a SelectionSet,
    fragments: &'a Fragments,
    depth: usize,
    spread: &mut Vec<&'a str>,
    out: &mut Vec<&'a str>,
) {
    if depth > MAX_FRAGMENT_NESTING {
        return;
    }
    for selection in &set.items {
        match &selection.node {
            Selection::Field(field) => {
                let key = field.node.response_key().node.as_str();
                if !out.contains(&key) {
                    out.push(key);
                }
            }
            // A fragment's keys are collected once: spread again, it adds none (and a document that
            // spreads fragments many times over stays one walk of each).
            Selection::FragmentSpread(s) => {
                let name = s.node.fragment_name.node.as_str();
                if let Some(fragment) = fragments.get(name)
                    && !spread.contains(&name)
                {
                    spread.push(name);
                    keys(&fragment.node.selection_set.node, fragments, depth + 1, spread, out);
                }
            }
            Selection::InlineFragment(fragment) => {
                keys(&fragment.node.selection_set.node, fragments, depth + 1, spread, out);
            }
        }
    }
}

/// Puts `map`'s keys in the order of `order` (keys `order` does not name stay after, as they were).
/// A map already in order, the usual case, is left untouched after one pass over its keys.
fn reorder<K: AsRef<str>>(map: &mut IndexMap<Name, Value>, order: &[K]) {
    let rank = |key: &Name| order.iter().position(|k| k.as_ref() == key.as_str()).unwrap_or(usize::MAX);
    let mut last = 0;
    let in_order = map.keys().all(|k| {
        let r = rank(k);
        let ok = r >= last;
        last = r;
        ok
    });
    if !in_order {
        map.sort_by_cached_key(|k, _| rank(k));
    }
}

/// Orders the fields of an object that async-graphql resolved (`value`, the object at `ctx`) as
/// its selection set selects them. Nested objects are ordered where they are resolved.
pub fn order_object(ctx: &ContextSelectionSet<'_>, value: &mut Value) {
    if let Value::Object(map) = value
        && map.len() > 1
    {
        let mut order = Vec::with_capacity(map.len());
        keys(&ctx.item.node, &ctx.query_env.fragments, 0, &mut Vec::new(), &mut order);
        reorder(map, &order);
    }
}

/// The root fields of one operation, in document order: taken from the document before it runs,
/// applied to its responses ([`RootOrder::apply`]).
#[derive(Clone, Debug, Default)]
pub struct RootOrder(Vec<Name>);

impl RootOrder {
    /// The root keys of `operation_name` (or the only operation) of `doc`.
    pub fn of(doc: &ExecutableDocument, operation_name: Option<&str>) -> Self {
        let Some(operation) = super::selected_operation(doc, operation_name) else { return Self::default() };
        let items = &operation.node.selection_set.node.items;
        if let [only] = items.as_slice()
            && matches!(only.node, Selection::Field(_))
        {
            // One root field, the usual request: nothing to order, nothing to allocate.
            return Self::default();
        }
        let mut order = Vec::new();
        keys(&operation.node.selection_set.node, &doc.fragments, 0, &mut Vec::new(), &mut order);
        Self(order.into_iter().map(Name::new).collect())
    }

    /// Orders the root of `data` as the operation selected it.
    pub fn apply(&self, data: &mut Value) {
        if let Value::Object(map) = data
            && map.len() > 1
        {
            reorder(map, &self.0);
        }
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a test fails loudly")]
mod tests {
    use async_graphql::Value;
    use serde_json::json;

    use super::RootOrder;

    #[test]
    fn fragments_spread_many_times_over_are_walked_once_each() {
        // 2^40 spreads if each were followed every time.
        let mut q = String::from("query Q { a ...F0 }");
        for i in 0..40 {
            q.push_str(&format!(" fragment F{i} on Query {{ b{i} ...F{} ...F{} }}", i + 1, i + 1));
        }
        q.push_str(" fragment F40 on Query { c }");
        let doc = async_graphql::parser::parse_query(&q).unwrap();
        let order = RootOrder::of(&doc, Some("Q"));
        assert_eq!(order.0.len(), 1 + 32, "a, then b0..b31, up to the nesting bound: {order:?}");
        assert_eq!(order.0[0].as_str(), "a");
        assert_eq!(order.0[1].as_str(), "b0");
    }

    #[test]
    fn root_keys_follow_the_document_through_fragments_and_aliases() {
        let doc = async_graphql::parser::parse_query(
            "query Q { b: doctors { x } ...F me { id } } fragment F on Query { a c }",
        )
        .unwrap();
        let order = RootOrder::of(&doc, Some("Q"));
        let mut data = Value::from_json(json!({ "me": {}, "c": 1, "a": 2, "b": 3 })).unwrap();
        order.apply(&mut data);
        let Value::Object(map) = data else { panic!("an object") };
        let keys: Vec<&str> = map.keys().map(|k| k.as_str()).collect();
        assert_eq!(keys, ["b", "a", "c", "me"]);
    }
}
