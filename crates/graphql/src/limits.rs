//! Document bounds: nesting checked by a lexical scan before parsing ([`prescan`]); depth,
//! recursion, aliases and introspection right after parsing ([`check`]); text inputs in
//! arguments and variables ([`check_inputs`]); all before validation or execution.
//!
//! async-graphql's own depth and recursion limits count introspection too, which would refuse
//! GraphiQL's schema query; and it has no alias limit (aliases are how one document repeats an
//! expensive field). So the contract's bounds are enforced here, on application fields:
//! depth ≤ 12 and recursion ≤ 16 outside introspection, ≤ 30 aliases in all, and ≤ 2,000
//! selections once every fragment is spread, counting each fragment as often as it is spread (a
//! kilobyte of fragments spreading each other four times over ten levels is a million selections,
//! which validation and execution would walk one by one: measured here by a linear, memoised walk). Introspection subtrees (`__schema`, `__type`) get a larger
//! depth of their own, enough for GraphiQL and small enough to stop circular introspection.
//!
//! Works around async-graphql 7.2.1: values parsed by unbounded recursion (no upstream issue
//! found), depth limits that count introspection
//! (<https://github.com/async-graphql/async-graphql/issues/1696>), no alias limit (8.0.0-rc.5 adds
//! `limit_aliases`, <https://github.com/async-graphql/async-graphql/pull/1822>). See
//! docs/async-graphql.md.
use std::{
    collections::{HashMap, HashSet},
    num::NonZeroUsize,
    sync::{Arc, Mutex},
};

use async_graphql::{
    Name, Pos, Positioned, ServerError, ServerResult, Value as ConstValue, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery},
    parser::types::{Directive, ExecutableDocument, Selection, SelectionSet},
};

use lru::LruCache;

use cybermed_core::{domain::validation, error::AppError};

/// The bounds.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_depth: usize,
    pub max_recursion: usize,
    pub max_aliases: usize,
    /// Selections (fields, with each fragment counted once per spread) in the whole document.
    pub max_selections: usize,
    pub max_introspection_depth: usize,
    /// When false (production, unless opted in), a document selecting `__schema` or `__type` is
    /// refused with "Introspection is disabled" rather than answered with a null.
    pub introspection: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 12,
            max_recursion: 16,
            max_aliases: 30,
            max_selections: 2000,
            max_introspection_depth: 20,
            introspection: true,
        }
    }
}

/// The message of a document refused because it asks for the schema where introspection is off.
pub const INTROSPECTION_DISABLED: &str = "Introspection is disabled";

/// How deep values written in a document (list and object literals, in arguments, default values
/// and directive arguments) may nest: the contract's bound.
pub const MAX_VALUE_NESTING: usize = 32;

/// How deep brackets of any kind (selection sets, argument lists, lists, objects) may nest in a
/// document at all. A backstop, far above any document the other bounds let through (selections
/// are bounded at 16 levels, introspection at 20, values at 32) and far below what the parser's
/// recursion can take: a debug build overflowed a 2 MiB stack at about 300 nested values; the
/// parser itself refuses selection sets nested deeper than 64.
pub const MAX_BRACKET_NESTING: usize = 64;

/// A linear, non-recursive lexical scan that refuses documents nested too deep *before* the
/// parser sees them: async-graphql's parser builds values by recursion without any bound, so a
/// few kilobytes of `[[[[…` overflow the stack and abort the process.
///
/// Skips strings (with their escapes), block strings and comments as the GraphQL lexer does; a
/// string ends at a line break as the grammar says (an unterminated one fails to parse anyway,
/// and counting what follows errs on the safe side). Brackets inside `(`…`)` (arguments,
/// variable definitions, directive arguments, default values) are values or list types: at most
/// [`MAX_VALUE_NESTING`] of them nest. Every bracket kind together nests at most
/// [`MAX_BRACKET_NESTING`]. Unbalanced brackets are left to the parser to report.
///
/// # Errors
/// A request error saying which bound was exceeded.
pub fn prescan(query: &str) -> ServerResult<()> {
    let bytes = query.as_bytes();
    // Each open bracket, and whether it counted as value nesting.
    let mut open: Vec<(u8, bool)> = Vec::new();
    let mut parens = 0usize;
    let mut values = 0usize;
    let mut i = 0usize;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'#' => {
                while bytes.get(i).is_some_and(|c| *c != b'\n' && *c != b'\r') {
                    i += 1;
                }
                continue;
            }
            b'"' if bytes.get(i..).is_some_and(|rest| rest.starts_with(b"\"\"\"")) => {
                i += 3;
                loop {
                    let rest = bytes.get(i..).unwrap_or_default();
                    if rest.is_empty() {
                        break;
                    }
                    if rest.starts_with(b"\\\"\"\"") {
                        i += 4;
                    } else if rest.starts_with(b"\"\"\"") {
                        i += 3;
                        break;
                    } else {
                        i += 1;
                    }
                }
                continue;
            }
            b'"' => {
                i += 1;
                while let Some(&c) = bytes.get(i) {
                    match c {
                        b'\\' => i += 2,
                        b'"' => {
                            i += 1;
                            break;
                        }
                        b'\n' | b'\r' => break,
                        _ => i += 1,
                    }
                }
                continue;
            }
            b'(' | b'[' | b'{' => {
                let is_value = b != b'(' && parens > 0;
                if b == b'(' {
                    parens += 1;
                }
                if is_value {
                    values += 1;
                    if values > MAX_VALUE_NESTING {
                        return Err(ServerError::new(
                            format!("Values in the document are nested deeper than {MAX_VALUE_NESTING} levels"),
                            None,
                        ));
                    }
                }
                open.push((b, is_value));
                if open.len() > MAX_BRACKET_NESTING {
                    return Err(ServerError::new(
                        format!("The document is nested deeper than {MAX_BRACKET_NESTING} levels"),
                        None,
                    ));
                }
            }
            b')' | b']' | b'}' => {
                if let Some((kind, was_value)) = open.pop() {
                    if kind == b'(' {
                        parens = parens.saturating_sub(1);
                    }
                    if was_value {
                        values = values.saturating_sub(1);
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// Applies [`Limits`] and keeps the documents it has parsed and checked: clients send the same few
/// documents again and again, and parsing was a large share of a small request's CPU.
///
/// HTTP requests are parsed and checked by [`DocumentLimits::prepare`] before they reach the
/// schema, which then runs without extensions: with any extension installed, async-graphql routes
/// every field through the extension chain, a measurable cost on large answers. WebSocket
/// operations, parsed inside async-graphql, get the same checks from this type as an extension of
/// the subscription schema.
#[derive(Clone)]
pub struct DocumentLimits {
    limits: Limits,
    cache: Arc<DocumentCache>,
}

impl DocumentLimits {
    pub fn new(limits: Limits) -> Self {
        Self { limits, cache: Arc::default() }
    }

    /// The parsed, checked document for `query`, from the cache when it was seen before.
    ///
    /// # Errors
    /// A syntax error, or a bound exceeded: a request error, nothing executes.
    pub fn prepare(&self, query: &str) -> ServerResult<ExecutableDocument> {
        if let Some(doc) = self.cache.get(query) {
            return Ok(doc);
        }
        prescan(query)?;
        let doc = async_graphql::parser::parse_query(query)?;
        check(&doc, self.limits)?;
        self.cache.put(query, &doc);
        Ok(doc)
    }

    /// Whether this very request (document text, operation name and variables) passed validation
    /// before ([`Self::mark_validated`]): it may then run on the schema that skips the rules
    /// ([`crate::build_revalidating_schema`]).
    pub fn was_validated(&self, query: &str, operation: Option<&str>, variables: &Variables) -> bool {
        self.cache.was_validated(query, operation, variables)
    }

    /// Remembers that this request passed the full validation (for a cached document and small
    /// variables only).
    pub fn mark_validated(&self, query: &str, operation: Option<&str>, variables: Variables) {
        self.cache.mark_validated(query, operation, variables);
    }
}

impl ExtensionFactory for DocumentLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(DocumentLimitsExtension(self.limits, self.cache.clone()))
    }
}

/// Parsed and checked documents by their text, each with the requests of it (operation name and
/// variables) that passed validation. Bounded: a new document evicts the least recently used; only
/// small documents, and a few small sets of variables per document.
struct DocumentCache(Mutex<LruCache<String, Cached>>);

struct Cached {
    doc: ExecutableDocument,
    /// Newest last; at most [`VALIDATED_PER_DOCUMENT`].
    validated: Vec<(Option<String>, Variables)>,
}

const CACHE_ENTRIES: NonZeroUsize = NonZeroUsize::new(256).expect("not zero");
const CACHE_MAX_DOCUMENT: usize = 4 * 1024;
/// How many (operation, variables) pairs of one document are remembered as validated: a screen's
/// first page is one pair for every user; the next pages (a cursor each) are validated in full.
const VALIDATED_PER_DOCUMENT: usize = 8;
/// Variables remembered as validated are small: at most this many values (each list item and
/// object field counts) and this many bytes of strings in all.
const VALIDATED_MAX_VALUES: usize = 64;
const VALIDATED_MAX_TEXT: usize = 1024;

impl Default for DocumentCache {
    fn default() -> Self {
        Self(Mutex::new(LruCache::new(CACHE_ENTRIES)))
    }
}

impl DocumentCache {
    fn get(&self, query: &str) -> Option<ExecutableDocument> {
        self.0.lock().ok()?.get(query).map(|c| c.doc.clone())
    }

    fn put(&self, query: &str, doc: &ExecutableDocument) {
        if query.len() > CACHE_MAX_DOCUMENT {
            return;
        }
        if let Ok(mut map) = self.0.lock() {
            map.put(query.to_owned(), Cached { doc: doc.clone(), validated: Vec::new() });
        }
    }

    fn was_validated(&self, query: &str, operation: Option<&str>, variables: &Variables) -> bool {
        let Ok(map) = self.0.lock() else { return false };
        map.peek(query)
            .is_some_and(|c| c.validated.iter().any(|(op, vars)| op.as_deref() == operation && vars == variables))
    }

    fn mark_validated(&self, query: &str, operation: Option<&str>, variables: Variables) {
        if !is_small(&variables) {
            return;
        }
        let Ok(mut map) = self.0.lock() else { return };
        let Some(cached) = map.peek_mut(query) else { return };
        if cached.validated.iter().any(|(op, vars)| op.as_deref() == operation && *vars == variables) {
            return;
        }
        if cached.validated.len() == VALIDATED_PER_DOCUMENT {
            cached.validated.remove(0);
        }
        cached.validated.push((operation.map(str::to_owned), variables));
    }
}

/// Whether `variables` are small enough to be remembered ([`VALIDATED_MAX_VALUES`],
/// [`VALIDATED_MAX_TEXT`]); stops walking as soon as they are not.
fn is_small(variables: &Variables) -> bool {
    let mut values = 0usize;
    let mut text = 0usize;
    let mut stack: Vec<&ConstValue> = variables.values().collect();
    while let Some(value) = stack.pop() {
        values += 1;
        match value {
            ConstValue::String(s) => text += s.len(),
            ConstValue::Enum(e) => text += e.len(),
            ConstValue::Binary(b) => text += b.len(),
            ConstValue::List(items) if values + items.len() <= VALIDATED_MAX_VALUES => stack.extend(items),
            ConstValue::Object(fields) if values + fields.len() <= VALIDATED_MAX_VALUES => {
                text += fields.keys().map(|k| k.len()).sum::<usize>();
                stack.extend(fields.values());
            }
            ConstValue::List(_) | ConstValue::Object(_) => return false,
            ConstValue::Null | ConstValue::Number(_) | ConstValue::Boolean(_) => {}
        }
        if values > VALIDATED_MAX_VALUES || text > VALIDATED_MAX_TEXT {
            return false;
        }
    }
    true
}

struct DocumentLimitsExtension(Limits, Arc<DocumentCache>);

#[async_trait::async_trait]
impl Extension for DocumentLimitsExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        if let Some(doc) = self.1.get(query) {
            check_inputs(&doc, variables)?;
            return Ok(doc);
        }
        prescan(query)?;
        let doc = next.run(ctx, query, variables).await?;
        check(&doc, self.0)?;
        self.1.put(query, &doc);
        check_inputs(&doc, variables)?;
        Ok(doc)
    }
}

/// Checks every string a document hands to a resolver, in argument literals (also in directive
/// arguments) and in the variables they use (or those variables' defaults), before anything runs:
/// no text input, present or future, reaches the domain or the database unchecked.
///
/// A string is named by the innermost input-object key above it, else by its argument's name
/// (`firstName`, `bio`, `search`, `email`…), and classified by
/// [`validation::text_problem`], line breaks allowed
/// where [`validation::allows_line_breaks`] says.
/// A string that is an RFC 3339 instant with a leap second (`:60`) is refused too: chrono would
/// carry it as a nanosecond past one second, which no later check expects. Walks selections and
/// values with explicit stacks; the one recursion, async-graphql's copy of each argument literal,
/// is bounded by [`prescan`] (32 levels).
///
/// # Errors
/// `BAD_USER_INPUT` naming the field, as a request error: nothing executes.
pub fn check_inputs(doc: &ExecutableDocument, variables: &Variables) -> ServerResult<()> {
    let defaults: HashMap<&str, &ConstValue> = doc
        .operations
        .iter()
        .flat_map(|(_, op)| op.node.variable_definitions.iter())
        .filter_map(|d| d.node.default_value.as_ref().map(|v| (d.node.name.node.as_str(), &v.node)))
        .collect();
    let mut inputs = Inputs { variables, defaults, seen: HashSet::new(), visited: 0 };

    let mut sets: Vec<&SelectionSet> = doc.operations.iter().map(|(_, op)| &op.node.selection_set.node).collect();
    sets.extend(doc.fragments.values().map(|f| &f.node.selection_set.node));
    let mut directive_lists: Vec<&[Positioned<Directive>]> = doc
        .operations
        .iter()
        .map(|(_, op)| op.node.directives.as_slice())
        .chain(doc.fragments.values().map(|f| f.node.directives.as_slice()))
        .collect();
    let mut arguments = Vec::new();
    while let Some(set) = sets.pop() {
        for sel in &set.items {
            match &sel.node {
                Selection::Field(f) => {
                    arguments.extend(f.node.arguments.iter().map(|(n, v)| (n, v.node.clone().into_const_with(marker))));
                    directive_lists.push(&f.node.directives);
                    sets.push(&f.node.selection_set.node);
                }
                Selection::InlineFragment(inline) => {
                    directive_lists.push(&inline.node.directives);
                    sets.push(&inline.node.selection_set.node);
                }
                Selection::FragmentSpread(spread) => directive_lists.push(&spread.node.directives),
            }
        }
    }
    for d in directive_lists.iter().flat_map(|list| list.iter()) {
        arguments.extend(d.node.arguments.iter().map(|(n, v)| (n, v.node.clone().into_const_with(marker))));
    }
    for (name, value) in arguments {
        let Ok(value) = value;
        inputs
            .check(&value, name.node.as_str())
            .map_err(|e| async_graphql::Error::from(e).into_server_error(name.pos))?;
    }
    Ok(())
}

/// Stands in for a variable in an argument literal: an enum value named `$name`, which no
/// document can write (names never start with `$`). The variable's value is checked where the
/// marker is met, once per (variable, field name) however often the document repeats it.
#[expect(clippy::unnecessary_wraps, clippy::needless_pass_by_value, reason = "the signature into_const_with asks for")]
fn marker(name: Name) -> Result<ConstValue, std::convert::Infallible> {
    Ok(ConstValue::Enum(Name::new(format!("${name}"))))
}

struct Inputs<'a> {
    variables: &'a Variables,
    defaults: HashMap<&'a str, &'a ConstValue>,
    /// The variables walked, by whether line breaks were allowed where they were met: each at
    /// most twice, however many fields use it.
    seen: HashSet<(String, bool)>,
    /// Values looked at (tests read it).
    visited: usize,
}

impl Inputs<'_> {
    /// Every string in `value`, each named by its innermost object key (else `argument`).
    fn check(&mut self, value: &ConstValue, argument: &str) -> Result<(), AppError> {
        let mut stack: Vec<(&ConstValue, String)> = vec![(value, argument.to_owned())];
        while let Some((value, field)) = stack.pop() {
            self.visited += 1;
            match value {
                ConstValue::String(s) => {
                    if let Some(message) = validation::text_problem(s, validation::allows_line_breaks(&field)) {
                        return Err(AppError::bad_input(field, message));
                    }
                    if is_leap_second(s) {
                        return Err(AppError::bad_input(field, "A leap second (:60) is not a valid time"));
                    }
                }
                ConstValue::Enum(name) if name.starts_with('$') => {
                    let var = &name[1..];
                    let value = self.variables.get(&Name::new(var)).or_else(|| self.defaults.get(var).copied());
                    // Named by the first field met of its class: the check depends only on the class.
                    if let Some(value) = value
                        && self.seen.insert((var.to_owned(), validation::allows_line_breaks(&field)))
                    {
                        stack.push((value, field));
                    }
                }
                ConstValue::List(items) => stack.extend(items.iter().map(|v| (v, field.clone()))),
                ConstValue::Object(map) => stack.extend(map.iter().map(|(k, v)| (v, k.to_string()))),
                _ => {}
            }
        }
        Ok(())
    }
}

/// True for an RFC 3339 date-time whose seconds are `60`.
fn is_leap_second(s: &str) -> bool {
    s.len() <= 64
        && chrono::DateTime::parse_from_rfc3339(s).is_ok_and(|d| chrono::Timelike::nanosecond(&d) >= 1_000_000_000)
}

/// What one selection set amounts to, measured from its own level.
#[derive(Clone, Copy, Default)]
struct Measure {
    /// Deepest chain of application fields below (fields only).
    depth: usize,
    /// Deepest nesting of selection sets below (fields, fragments, inline fragments).
    recursion: usize,
    /// Deepest chain inside introspection, from its root field.
    introspection_depth: usize,
    /// Aliases, with fragments counted once per spread.
    aliases: usize,
    /// Fields, with fragments counted once per spread.
    selections: usize,
}

struct Walker<'a> {
    doc: &'a ExecutableDocument,
    limits: Limits,
    memo: HashMap<(&'a str, bool), Measure>,
    visiting: Vec<&'a str>,
    /// Selection sets open on the walk's way down, through fragment spreads too: bounded at
    /// [`MAX_BRACKET_NESTING`] on the way down, before the walk's own recursion can overflow the
    /// stack (a chain of fragments, each spreading the next, nests without a bracket; the other
    /// bounds are only known on the way back up, and a chain inside introspection counts for none
    /// of them).
    nesting: usize,
}

/// Checks every operation and fragment of `doc` against `limits`.
///
/// # Errors
/// A request error naming the bound that was exceeded.
pub fn check(doc: &ExecutableDocument, limits: Limits) -> ServerResult<()> {
    let mut walker = Walker { doc, limits, memo: HashMap::new(), visiting: Vec::new(), nesting: 0 };
    let mut aliases = 0usize;
    let mut selections = 0usize;
    for (_, op) in doc.operations.iter() {
        let m = walker.selection_set(&op.node.selection_set.node, false)?;
        walker.bounds(m, op.pos)?;
        aliases = aliases.saturating_add(m.aliases);
        selections = selections.saturating_add(m.selections);
    }
    if selections > limits.max_selections {
        return Err(too_many_selections(limits));
    }
    if aliases > limits.max_aliases {
        return Err(ServerError::new(
            format!("The document uses {aliases} aliases; at most {} are allowed", limits.max_aliases),
            None,
        ));
    }
    // A fragment no operation spreads is walked by nothing above, but validation would walk it,
    // and some of its rules cost the product of its selections and those it spreads: refused
    // here, as validation would refuse it.
    for (name, fragment) in &doc.fragments {
        if !walker.memo.contains_key(&(name.as_str(), false)) && !walker.memo.contains_key(&(name.as_str(), true)) {
            return Err(ServerError::new(format!("Fragment \"{name}\" is never used"), Some(fragment.pos)));
        }
    }
    Ok(())
}

fn too_many_selections(l: Limits) -> ServerError {
    ServerError::new(
        format!("The document selects more than {} fields once its fragments are spread", l.max_selections),
        None,
    )
}

impl<'a> Walker<'a> {
    fn bounds(&self, m: Measure, pos: Pos) -> ServerResult<()> {
        let l = self.limits;
        if m.selections > l.max_selections {
            return Err(too_many_selections(l));
        }
        if m.depth > l.max_depth {
            return Err(ServerError::new(format!("The query is nested deeper than {} levels", l.max_depth), Some(pos)));
        }
        if m.recursion > l.max_recursion {
            return Err(ServerError::new(
                format!("The query's selections are nested deeper than {}", l.max_recursion),
                Some(pos),
            ));
        }
        if m.introspection_depth > l.max_introspection_depth {
            return Err(ServerError::new(
                format!("The introspection query is nested deeper than {} levels", l.max_introspection_depth),
                Some(pos),
            ));
        }
        Ok(())
    }

    /// Measures a selection set. `in_introspection` is true below `__schema`/`__type`.
    fn selection_set(&mut self, set: &'a SelectionSet, in_introspection: bool) -> ServerResult<Measure> {
        if self.nesting >= MAX_BRACKET_NESTING {
            return Err(ServerError::new(
                format!("The document's selections and fragments are nested deeper than {MAX_BRACKET_NESTING}"),
                None,
            ));
        }
        self.nesting += 1;
        let measured = self.selections(set, in_introspection);
        self.nesting -= 1;
        measured
    }

    fn selections(&mut self, set: &'a SelectionSet, in_introspection: bool) -> ServerResult<Measure> {
        let mut out = Measure::default();
        for sel in &set.items {
            let m = match &sel.node {
                Selection::Field(f) => {
                    let name = f.node.name.node.as_str();
                    let starts_introspection = !in_introspection && (name == "__schema" || name == "__type");
                    if starts_introspection && !self.limits.introspection {
                        return Err(ServerError::new(INTROSPECTION_DISABLED, Some(f.pos)));
                    }
                    let inner_is_introspection = in_introspection || starts_introspection;
                    let child = if f.node.selection_set.node.items.is_empty() {
                        None
                    } else {
                        Some(self.selection_set(&f.node.selection_set.node, inner_is_introspection)?)
                    };
                    let child = child.unwrap_or_default();
                    let has_children = !f.node.selection_set.node.items.is_empty();
                    Measure {
                        depth: if inner_is_introspection { 0 } else { 1 + child.depth },
                        recursion: if inner_is_introspection { 0 } else { child.recursion + usize::from(has_children) },
                        introspection_depth: if inner_is_introspection {
                            1 + child.introspection_depth
                        } else {
                            child.introspection_depth
                        },
                        aliases: child.aliases.saturating_add(usize::from(f.node.alias.is_some())),
                        selections: child.selections.saturating_add(1),
                    }
                }
                Selection::InlineFragment(inline) => {
                    let child = self.selection_set(&inline.node.selection_set.node, in_introspection)?;
                    Measure { recursion: child.recursion + usize::from(!in_introspection), ..child }
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    let child = self.fragment(name, in_introspection, spread.pos)?;
                    Measure { recursion: child.recursion + usize::from(!in_introspection), ..child }
                }
            };
            out.depth = out.depth.max(m.depth);
            out.recursion = out.recursion.max(m.recursion);
            out.introspection_depth = out.introspection_depth.max(m.introspection_depth);
            out.aliases = out.aliases.saturating_add(m.aliases);
            out.selections = out.selections.saturating_add(m.selections);
            // Stop early: a bound already exceeded need not be measured further.
            self.bounds(out, sel.pos)?;
        }
        Ok(out)
    }

    fn fragment(&mut self, name: &'a str, in_introspection: bool, at: Pos) -> ServerResult<Measure> {
        // Memoised per (fragment, context) so that fan-out through fragments stays linear.
        if let Some(m) = self.memo.get(&(name, in_introspection)) {
            return Ok(*m);
        }
        // Refused here, as validation would refuse them: measured as nothing, an unknown fragment
        // or a cycle would let a document through that other walks (validation's own, which
        // spread fragments without memory) find exponential or endless.
        let Some(frag) = self.doc.fragments.get(name) else {
            return Err(ServerError::new(format!("Unknown fragment \"{name}\""), Some(at)));
        };
        if self.visiting.contains(&name) {
            return Err(ServerError::new(format!("Cannot spread fragment \"{name}\" within itself"), Some(at)));
        }
        self.visiting.push(name);
        let m = self.selection_set(&frag.node.selection_set.node, in_introspection);
        self.visiting.pop();
        let m = m?;
        self.memo.insert((name, in_introspection), m);
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_variable_used_by_many_fields_is_walked_at_most_twice() {
        // 3,000 arguments of one variable of 8,000 strings: walked once per argument name, that
        // was 24 million values before a single request was validated.
        let args = (0..3000).map(|i| format!("a{i}: $v")).collect::<Vec<_>>().join(" ");
        let q = format!("query($v: [String!]) {{ __typename({args}) }}");
        let doc = async_graphql::parser::parse_query(&q).unwrap_or_else(|e| panic!("{e}"));
        let variables = Variables::from_json(serde_json::json!({ "v": vec!["x"; 8000] }));
        let mut inputs = Inputs { variables: &variables, defaults: HashMap::new(), seen: HashSet::new(), visited: 0 };
        for i in 0..3000 {
            let marker = ConstValue::Enum(Name::new("$v"));
            inputs.check(&marker, &format!("a{i}")).unwrap_or_else(|e| panic!("{e:?}"));
        }
        assert!(inputs.visited <= 3000 + 2 * 8001, "{} values looked at", inputs.visited);
        assert!(check_inputs(&doc, &variables).is_ok());
        // A field that allows line breaks checks the same variable once more, by its own rule.
        let lines = Variables::from_json(serde_json::json!({ "v": "two\nlines" }));
        let q = "query($v: String) { a: __typename(firstName: $v) b: __typename(bio: $v) }";
        let doc = async_graphql::parser::parse_query(q).unwrap_or_else(|e| panic!("{e}"));
        let refused = check_inputs(&doc, &lines).err().map(|e| e.message);
        assert!(refused.is_some_and(|m| m.to_lowercase().contains("line")), "firstName allows no line break");
    }

    #[test]
    fn only_small_variables_of_a_cached_document_are_remembered_as_validated() {
        let cache = DocumentCache::default();
        let q = "query($ids: [UUID!]) { __typename }";
        cache.put(q, &async_graphql::parser::parse_query(q).unwrap_or_else(|e| panic!("{e}")));
        let vars = |n: usize| Variables::from_json(serde_json::json!({ "ids": vec![1; n] }));
        cache.mark_validated(q, None, vars(3));
        assert!(cache.was_validated(q, None, &vars(3)));
        assert!(!cache.was_validated(q, None, &vars(4)), "other variables");
        assert!(!cache.was_validated(q, Some("Other"), &vars(3)), "another operation");
        cache.mark_validated(q, None, vars(VALIDATED_MAX_VALUES + 1));
        assert!(!cache.was_validated(q, None, &vars(VALIDATED_MAX_VALUES + 1)), "too many values");
        let long = Variables::from_json(serde_json::json!({ "ids": ["x".repeat(VALIDATED_MAX_TEXT + 1)] }));
        cache.mark_validated(q, None, long.clone());
        assert!(!cache.was_validated(q, None, &long), "too much text");
        // An uncached document is never remembered.
        cache.mark_validated("{ me { id } }", None, vars(1));
        assert!(!cache.was_validated("{ me { id } }", None, &vars(1)));
    }

    #[test]
    fn a_full_document_cache_evicts_the_least_recently_used_document_and_keeps_the_recent_ones() {
        let cache = DocumentCache(Mutex::new(LruCache::new(NonZeroUsize::MIN.saturating_add(1))));
        let [a, b, c] = ["{ me { id } }", "{ me { email } }", "{ me { role } }"];
        let doc = |q: &str| async_graphql::parser::parse_query(q).unwrap_or_else(|e| panic!("{q}: {e}"));
        cache.put(a, &doc(a));
        cache.put(b, &doc(b));
        assert!(cache.get(a).is_some(), "a is now the most recently used");
        cache.put(c, &doc(c));
        assert!(cache.get(a).is_some(), "a recent document survives a full cache");
        assert!(cache.get(c).is_some(), "the newest document is kept");
        assert!(cache.get(b).is_none(), "the least recently used one made room");
    }
}
