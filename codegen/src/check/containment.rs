//! Structs that contain themselves (directly or through other objects, not through an array)
//! would have no finite size.

use std::collections::{BTreeMap, BTreeSet};

use super::Checker;
use super::kinds::LoweredKind;
use crate::model::{Catalogue, DefKind, FieldType, ObjectDef};

impl Checker<'_> {
    pub(super) fn check_containment(&mut self, catalogue: &Catalogue, kinds: &[LoweredKind]) {
        let mut objects: Vec<&ObjectDef> = catalogue.objects.iter().map(|o| &o.def).collect();
        objects.extend(kinds.iter().flat_map(|k| &k.file.objects));
        // Object name → the objects its fields hold directly.
        let edges: BTreeMap<&str, Vec<&str>> = objects
            .iter()
            .map(|o| {
                let targets = o
                    .fields
                    .iter()
                    .filter_map(|f| match &f.ty {
                        FieldType::Named(t) if t.def == DefKind::Object => Some(t.name.as_str()),
                        _ => None,
                    })
                    .collect();
                (o.name.as_str(), targets)
            })
            .collect();
        for &start in edges.keys() {
            if let Some(cycle) = find_cycle(&edges, start) {
                let declared = self.names.get(start).cloned();
                if let Some(declared) = declared {
                    let msg = format!(
                        "`{start}` contains itself ({}); hold it in an array or as `json`",
                        cycle.join(" → ")
                    );
                    self.problem(&declared.file, declared.path, msg);
                }
            }
        }
    }
}

/// A path `start → … → start`, if there is one.
fn find_cycle<'a>(edges: &BTreeMap<&'a str, Vec<&'a str>>, start: &'a str) -> Option<Vec<&'a str>> {
    let mut seen = BTreeSet::new();
    let mut path = vec![start];
    walk(edges, start, start, &mut seen, &mut path).then_some(path)
}

fn walk<'a>(
    edges: &BTreeMap<&'a str, Vec<&'a str>>,
    start: &'a str,
    at: &'a str,
    seen: &mut BTreeSet<&'a str>,
    path: &mut Vec<&'a str>,
) -> bool {
    for &next in edges.get(at).into_iter().flatten() {
        path.push(next);
        if next == start {
            return true;
        }
        if seen.insert(next) && walk(edges, start, next, seen, path) {
            return true;
        }
        path.pop();
    }
    false
}
