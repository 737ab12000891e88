//! Classification: each kind's `match` checked on its own, then the kinds sharing an
//! event_type together (siblings need rules, one default at most, no overlap at one priority).

use std::collections::BTreeMap;

use super::Checker;
use super::kinds::{FactFields, LoweredKind};
use crate::model::{
    Choice, Condition, DefKind, Field, FieldRef, FieldType, Ident, Route, Rule, Scalar, TypeRef,
    WireFormat,
};
use crate::raw;
use crate::sanitize::{Case, sanitize};

/// A kind's `match`, checked on its own.
#[derive(Clone, Debug)]
pub(super) enum KindRule {
    Default,
    Rule {
        priority: i64,
        conditions: Vec<Condition>,
    },
}

impl Checker<'_> {
    pub(super) fn kind_rule(
        &mut self,
        file: &str,
        m: &raw::Match,
        facts: &FactFields<'_>,
    ) -> Option<KindRule> {
        if let Some(default) = m.default {
            if !default {
                self.problem(
                    file,
                    "match.default",
                    "`default: false` says nothing; leave it out",
                );
                return None;
            }
            if m.priority.is_some() || m.all.is_some() {
                self.problem(
                    file,
                    "match",
                    "a default rule takes no `priority` and no `all`",
                );
                return None;
            }
            return Some(KindRule::Default);
        }
        let Some(priority) = m.priority else {
            self.problem(
                file,
                "match",
                "a rule needs a `priority` (higher is tried first)",
            );
            return None;
        };
        let all = m.all.as_deref().unwrap_or_default();
        if all.is_empty() {
            let msg = "a rule needs conditions in `all` (or is `default: true`)";
            self.problem(file, "match", msg);
            return None;
        }
        let before = self.problems.len();
        let mut conditions = Vec::new();
        for (i, c) in all.iter().enumerate() {
            if let Some(c) = self.condition(file, &format!("match.all[{i}]"), c, facts) {
                conditions.push(c);
            }
        }
        if self.problems.len() > before {
            return None;
        }
        if exclusive(&conditions, &conditions) {
            self.problem(
                file,
                "match.all",
                "these conditions contradict each other: the rule can never match",
            );
            return None;
        }
        Some(KindRule::Rule {
            priority,
            conditions,
        })
    }

    fn condition(
        &mut self,
        file: &str,
        path: &str,
        c: &raw::Condition,
        facts: &FactFields<'_>,
    ) -> Option<Condition> {
        let shape = "a condition is `{field, equals}`, `{field, present}` or `{original_type}`";
        match (&c.field, &c.equals, c.present, &c.original_type) {
            (None, None, None, Some(original_type)) => {
                Some(Condition::OriginalType(original_type.clone()))
            }
            (Some(name), Some(value), None, None) => {
                let field = self.rule_field(file, path, name, facts)?;
                let stringy = matches!(
                    field.ty,
                    FieldType::Scalar(Scalar::String)
                        | FieldType::Named(TypeRef {
                            def: DefKind::Enum,
                            ..
                        })
                );
                if !stringy {
                    let msg =
                        format!("`equals` compares strings, and `{name}` is not a string or enum");
                    self.problem(file, format!("{path}.field"), msg);
                    return None;
                }
                Some(Condition::Equals(field_ref(field), value.clone()))
            }
            (Some(name), None, Some(present), None) => {
                if !present && !facts.raw.0.iter().any(|(wire, _)| wire == name) {
                    // Absence may be tested for a field the kind does not carry.
                    let ident = sanitize(name, Case::Snake);
                    let Some(ident) = ident else {
                        self.problem(
                            file,
                            format!("{path}.field"),
                            format!("`{name}` gives no Rust field name"),
                        );
                        return None;
                    };
                    let field = FieldRef {
                        wire: name.clone(),
                        ident: Ident(ident),
                    };
                    return Some(Condition::Present(field, false));
                }
                let field = self.rule_field(file, path, name, facts)?;
                Some(Condition::Present(field_ref(field), present))
            }
            _ => {
                self.problem(file, path, shape);
                None
            }
        }
    }

    fn rule_field<'f>(
        &mut self,
        file: &str,
        path: &str,
        name: &str,
        facts: &FactFields<'f>,
    ) -> Option<&'f Field> {
        if !facts.raw.0.iter().any(|(wire, _)| wire == name) {
            self.problem(
                file,
                format!("{path}.field"),
                format!("no top-level field `{name}`"),
            );
            return None;
        }
        facts.get(name)
    }
}

impl Checker<'_> {
    /// Groups kinds by (format, event_type), checks each group's rules, and gives the APIv3
    /// routes.
    pub(super) fn route(&mut self, kinds: &[LoweredKind]) -> Vec<Route> {
        let mut groups: BTreeMap<&(WireFormat, String), Vec<&LoweredKind>> = BTreeMap::new();
        for kind in kinds {
            groups.entry(&kind.group).or_default().push(kind);
        }
        let mut routes = Vec::new();
        for ((format, event_type), mut members) in groups {
            members.sort_by(|a, b| a.file.kind.id.cmp(&b.file.kind.id));
            let choice = match members.as_slice() {
                [only] => Choice::Single(only.file.kind.body.name.clone()),
                _ => self.siblings(event_type, &members),
            };
            if *format == WireFormat::V3Json {
                routes.push(Route {
                    event_type: event_type.clone(),
                    choice,
                });
            }
        }
        routes
    }

    /// The rules of several kinds sharing `event_type` (sorted by id).
    fn siblings(&mut self, event_type: &str, members: &[&LoweredKind]) -> Choice {
        let ids: Vec<String> = members
            .iter()
            .map(|k| format!("`{}`", k.file.kind.id))
            .collect();
        let mut rules: Vec<(Rule, &LoweredKind)> = Vec::new();
        let mut default: Option<&LoweredKind> = None;
        for kind in members {
            let file = &kind.file.source.path;
            let id = &kind.file.kind.id;
            match &kind.rule {
                None => {
                    let others: Vec<&str> = ids
                        .iter()
                        .filter(|s| s.trim_matches('`') != id)
                        .map(String::as_str)
                        .collect();
                    let msg = format!(
                        "`{id}` shares event_type `{event_type}` with {}, so it needs a rule (or `default: true`)",
                        others.join(", ")
                    );
                    self.problem(file, "match", msg);
                }
                Some(KindRule::Default) => match default {
                    Some(first) => {
                        let msg = format!(
                            "`{id}` and `{}` ({}) are both the default of event_type `{event_type}`",
                            first.file.kind.id, first.file.source.path
                        );
                        self.problem(file, "match.default", msg);
                    }
                    None => default = Some(kind),
                },
                Some(KindRule::Rule {
                    priority,
                    conditions,
                }) => {
                    for (other, other_kind) in &rules {
                        if other.priority == *priority && !exclusive(&other.conditions, conditions)
                        {
                            let msg = format!(
                                "the rules of `{id}` and `{}` ({}) both have priority {priority} and can match the same payload; make them exclusive or give them different priorities",
                                other_kind.file.kind.id, other_kind.file.source.path
                            );
                            self.problem(file, "match", msg);
                        }
                    }
                    let rule = Rule {
                        kind: kind.file.kind.body.name.clone(),
                        priority: *priority,
                        conditions: conditions.clone(),
                    };
                    rules.push((rule, kind));
                }
            }
        }
        let mut rules: Vec<Rule> = rules.into_iter().map(|(rule, _)| rule).collect();
        // Highest priority first; members are sorted by id, and the sort is stable.
        rules.sort_by_key(|rule| std::cmp::Reverse(rule.priority));
        Choice::Rules {
            rules,
            default: default.map(|k| k.file.kind.body.name.clone()),
        }
    }
}

fn field_ref(field: &Field) -> FieldRef {
    FieldRef {
        wire: field.wire.clone(),
        ident: field.ident.clone(),
    }
}

/// `true` when no payload satisfies both condition lists: one requires a field to equal `a`
/// where the other requires `b != a` or its absence, or presence where the other requires
/// absence, or another `original_type`.
pub(super) fn exclusive(a: &[Condition], b: &[Condition]) -> bool {
    a.iter().any(|x| b.iter().any(|y| contradict(x, y)))
}

fn contradict(x: &Condition, y: &Condition) -> bool {
    use Condition::{Equals, OriginalType, Present};
    match (x, y) {
        (Equals(f, v), Equals(g, w)) => f.wire == g.wire && v != w,
        (Equals(f, _), Present(g, false)) | (Present(g, false), Equals(f, _)) => f.wire == g.wire,
        (Present(f, p), Present(g, q)) => f.wire == g.wire && p != q,
        (OriginalType(v), OriginalType(w)) => v != w,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FieldRef, Ident};

    fn field(name: &str) -> FieldRef {
        FieldRef {
            wire: name.to_owned(),
            ident: Ident(name.to_owned()),
        }
    }

    fn eq(name: &str, v: &str) -> Condition {
        Condition::Equals(field(name), v.to_owned())
    }

    fn present(name: &str, p: bool) -> Condition {
        Condition::Present(field(name), p)
    }

    #[test]
    fn exclusivity() {
        assert!(exclusive(&[eq("a", "x")], &[eq("a", "y")]));
        assert!(!exclusive(&[eq("a", "x")], &[eq("a", "x")]));
        assert!(!exclusive(&[eq("a", "x")], &[eq("b", "y")]));
        assert!(exclusive(&[present("a", true)], &[present("a", false)]));
        assert!(exclusive(&[eq("a", "x")], &[present("a", false)]));
        assert!(!exclusive(&[eq("a", "x")], &[present("a", true)]));
        let ot = |s: &str| Condition::OriginalType(s.to_owned());
        assert!(exclusive(&[ot("x")], &[ot("y"), eq("a", "x")]));
        assert!(!exclusive(&[ot("x")], &[eq("a", "x")]));
    }
}
