//! Relay cursor pagination: `first` bounds, the one cursor codec, and [`Page`], the one connection
//! shape of every list (a page the core read with its `Keyset`), answered on the plain path.
use std::borrow::Cow;

use async_graphql::{Object, OutputType, TypeName, connection::PageInfo};
use serde::{Serialize, de::DeserializeOwned};

use super::plain::{Fast, FastList, PlainObject};

use cybermed_core::page::KeysetPage;
pub use cybermed_core::page::{DEFAULT_FIRST, MAX_FIRST, decode_cursor, encode_cursor, page_size};

/// Complexity of a list field: `first × child` (default `first` 20), so that a page's cost grows
/// with what it can return. A `first` over 100 is priced as 100: the resolver refuses it with
/// `BAD_USER_INPUT` naming `first`, which says more than a blown budget.
pub fn page_complexity(first: Option<i32>, child_complexity: usize) -> usize {
    let first = usize::try_from(first.unwrap_or(DEFAULT_FIRST).clamp(0, MAX_FIRST)).unwrap_or(0);
    first.saturating_mul(child_complexity)
}

/// One page of a list, as a Relay connection named `<Node>Connection` (`pageInfo`, `edges`,
/// `nodes`, and the list's own fields `L`, such as `totalCount`): the SDL of async-graphql's
/// `Connection`, with every part answered on the plain path.
pub struct Page<K, N, L> {
    pub edges: Vec<PageEdge<K, N>>,
    pub has_previous_page: bool,
    pub has_next_page: bool,
    /// The list's own fields.
    pub list: L,
}

/// A node and its sort key (encoded as a cursor only when asked for).
pub struct PageEdge<K, N> {
    pub key: K,
    pub node: N,
}

impl<K, N, L> Page<K, N, L> {
    /// The connection of a page the core read (its rows already turned into nodes), with the
    /// list's own fields.
    pub fn of(page: KeysetPage<K, N>, list: L) -> Self {
        let edges = page.items.into_iter().map(|(key, node)| PageEdge { key, node }).collect();
        Self { edges, has_previous_page: page.has_previous, has_next_page: page.has_next, list }
    }
}

impl<K: Send + Sync, N: OutputType, L: Send + Sync> TypeName for Page<K, N, L> {
    fn type_name() -> Cow<'static, str> {
        format!("{}Connection", N::type_name()).into()
    }
}

impl<K: Send + Sync, N: OutputType> TypeName for PageEdge<K, N> {
    fn type_name() -> Cow<'static, str> {
        format!("{}Edge", N::type_name()).into()
    }
}

#[Object(name_type)]
impl<K, N, L> Page<K, N, L>
where
    K: Serialize + DeserializeOwned + Clone + Send + Sync,
    N: PlainObject,
    L: PlainObject,
{
    /// Information to aid in pagination.
    async fn page_info(&self) -> Fast<PageInfo> {
        Fast(PageInfo {
            has_previous_page: self.has_previous_page,
            has_next_page: self.has_next_page,
            start_cursor: self.edges.first().map(|e| encode_cursor(e.key.clone())),
            end_cursor: self.edges.last().map(|e| encode_cursor(e.key.clone())),
        })
    }

    /// A list of edges.
    async fn edges(&self) -> FastList<&PageEdge<K, N>> {
        FastList(self.edges.iter().collect())
    }

    /// A list of nodes.
    async fn nodes(&self) -> FastList<&N> {
        FastList(self.edges.iter().map(|e| &e.node).collect())
    }

    #[graphql(flatten)]
    async fn list(&self) -> &L {
        &self.list
    }
}

/// An edge in a connection.
#[Object(name_type)]
impl<K, N> PageEdge<K, N>
where
    K: Serialize + DeserializeOwned + Clone + Send + Sync,
    N: PlainObject,
{
    /// The item at the end of the edge
    async fn node(&self) -> Fast<&N> {
        Fast(&self.node)
    }

    /// A cursor for use in pagination
    async fn cursor(&self) -> String {
        encode_cursor(self.key.clone())
    }
}

impl<K, N, L> PlainObject for Page<K, N, L>
where
    K: Serialize + DeserializeOwned + Clone + Send + Sync,
    N: PlainObject,
    L: PlainObject,
{
    fn is_plain(name: &str) -> bool {
        matches!(name, "pageInfo" | "edges" | "nodes") || L::is_plain(name)
    }

    fn declared() -> (Vec<&'static str>, Vec<&'static str>) {
        let (mut plain, waits) = L::declared();
        plain.extend(["pageInfo", "edges", "nodes"]);
        (plain, waits)
    }
}

crate::plain_object!(PageInfo { plain: ["hasPreviousPage", "hasNextPage", "startCursor", "endCursor"], waits: [] });

impl<K, N> PlainObject for PageEdge<K, N>
where
    K: Serialize + DeserializeOwned + Clone + Send + Sync,
    N: PlainObject,
{
    fn is_plain(name: &str) -> bool {
        matches!(name, "node" | "cursor")
    }

    fn declared() -> (Vec<&'static str>, Vec<&'static str>) {
        (vec!["node", "cursor"], vec![])
    }
}
