//! Introspection that describes the same types as `cybermed print-schema`.
//!
//! async-graphql lists every built-in scalar in `__schema { types }` and answers `__type` for it,
//! even one no field or argument uses (here `Float` and `ID`); the printed SDL, like the spec,
//! leaves unused ones out. Clients that compare the two, or build a schema from each, saw
//! different type sets. async-graphql's registry is private, so the answer is corrected instead:
//! only for documents that ask for `__schema` or `__type`, and only the entries of unused
//! built-in scalars are taken out.
//!
//! Works around async-graphql 7.2.1 registering every built-in scalar (no upstream issue found) and
//! its fixed `__schema` description (<https://github.com/async-graphql/async-graphql/pull/1489>);
//! 8.0.0-rc.5 keeps both. See docs/async-graphql.md.
use std::{collections::HashSet, sync::Arc};

use async_graphql::{
    Name, Response, Value, Variables,
    parser::types::{
        BaseType, ExecutableDocument, OperationType, Selection, SelectionSet, ServiceDocument, Type, TypeKind,
        TypeSystemDefinition,
    },
};

const BUILT_IN_SCALARS: [&str; 5] = ["Int", "Float", "String", "Boolean", "ID"];

/// The built-in scalars the schema does not use. Cheap to clone.
#[derive(Clone, Default)]
pub struct UnusedScalars(Arc<Vec<&'static str>>);

impl UnusedScalars {
    /// Reads which built-in scalars `sdl` (the schema's own, printed by async-graphql) refers to.
    pub fn from_sdl(sdl: &str) -> Self {
        let Ok(doc): Result<ServiceDocument, _> = async_graphql::parser::parse_schema(sdl) else {
            return Self::default();
        };
        let mut used = HashSet::new();
        let mut note = |ty: &Type| used.insert(base_name(ty).to_owned());
        for definition in &doc.definitions {
            let TypeSystemDefinition::Type(ty) = definition else { continue };
            match &ty.node.kind {
                TypeKind::Object(o) => o.fields.iter().for_each(|f| {
                    note(&f.node.ty.node);
                    f.node.arguments.iter().for_each(|a| {
                        note(&a.node.ty.node);
                    });
                }),
                TypeKind::Interface(i) => i.fields.iter().for_each(|f| {
                    note(&f.node.ty.node);
                    f.node.arguments.iter().for_each(|a| {
                        note(&a.node.ty.node);
                    });
                }),
                TypeKind::InputObject(i) => i.fields.iter().for_each(|f| {
                    note(&f.node.ty.node);
                }),
                _ => {}
            }
        }
        // Introspection itself uses String and Boolean; directives' arguments (`@skip(if:)`,
        // `@deprecated(reason:)`) use nothing else.
        Self(Arc::new(
            BUILT_IN_SCALARS
                .into_iter()
                .filter(|s| !matches!(*s, "String" | "Boolean") && !used.contains(*s))
                .collect(),
        ))
    }

    /// Takes the unused built-in scalars out of `response`, the answer to `operation_name` of `doc`:
    /// from every `__schema { types }` list (where the entries' `name` is selected) and as the
    /// answer of `__type(name: …)`, which becomes `null` as for any unknown type. Also answers
    /// `__schema { description }` with `null`: the schema has no description (async-graphql
    /// answers the description of the `__Schema` type itself).
    pub fn hide(
        &self,
        doc: &ExecutableDocument,
        operation_name: Option<&str>,
        variables: &Variables,
        response: &mut Response,
    ) {
        let Some(operation) = super::selected_operation(doc, operation_name) else { return };
        if operation.node.ty != OperationType::Query {
            return;
        }
        let Value::Object(data) = &mut response.data else { return };
        for (field, key) in fields(doc, &operation.node.selection_set.node, 0) {
            let Some(answer) = data.get_mut(&key) else { continue };
            match field.node.name.node.as_str() {
                "__schema" => {
                    for (types, types_key) in fields(doc, &field.node.selection_set.node, 0) {
                        if types.node.name.node == "description"
                            && let Value::Object(schema) = answer
                            && let Some(description) = schema.get_mut(&types_key)
                        {
                            *description = Value::Null;
                            continue;
                        }
                        if types.node.name.node != "types" || self.0.is_empty() {
                            continue;
                        }
                        let Some(name_key) = fields(doc, &types.node.selection_set.node, 0)
                            .into_iter()
                            .find(|(f, _)| f.node.name.node == "name")
                            .map(|(_, k)| k)
                        else {
                            continue;
                        };
                        if let Value::Object(schema) = answer
                            && let Some(Value::List(list)) = schema.get_mut(&types_key)
                        {
                            list.retain(|t| !matches!(t, Value::Object(t) if self.is_hidden(t.get(&name_key))));
                        }
                    }
                }
                "__type" => {
                    let asked = field.node.get_argument("name").and_then(|v| {
                        match v.node.clone().into_const_with(|var| variables.get(&var).cloned().ok_or(())) {
                            Ok(Value::String(s)) => Some(s),
                            _ => None,
                        }
                    });
                    if asked.is_some_and(|a| self.0.contains(&a.as_str())) {
                        *answer = Value::Null;
                    }
                }
                _ => {}
            }
        }
    }

    fn is_hidden(&self, name: Option<&Value>) -> bool {
        matches!(name, Some(Value::String(n)) if self.0.contains(&n.as_str()))
    }
}

fn base_name(ty: &Type) -> &str {
    match &ty.base {
        BaseType::Named(n) => n.as_str(),
        BaseType::List(inner) => base_name(inner),
    }
}

type Field = async_graphql::Positioned<async_graphql::parser::types::Field>;

/// The fields of a selection set with their response keys, through fragments (bounded nesting).
fn fields<'a>(doc: &'a ExecutableDocument, set: &'a SelectionSet, nesting: usize) -> Vec<(&'a Field, Name)> {
    let mut out = Vec::new();
    if nesting > 16 {
        return out;
    }
    for sel in &set.items {
        match &sel.node {
            Selection::Field(f) => out.push((f, f.node.response_key().node.clone())),
            Selection::InlineFragment(i) => out.extend(fields(doc, &i.node.selection_set.node, nesting + 1)),
            Selection::FragmentSpread(s) => {
                if let Some(frag) = doc.fragments.get(&s.node.fragment_name.node) {
                    out.extend(fields(doc, &frag.node.selection_set.node, nesting + 1));
                }
            }
        }
    }
    out
}
