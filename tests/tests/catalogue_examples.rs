//! Tests generated from the catalogue itself: a new schema file is covered without a new test.
//!
//! The checked model (`codegen::load` then `codegen::check`, as `cargo xtask codegen` runs them)
//! drives everything. For every APIv3 kind and every example file it lists:
//!
//! 1. the example parses through the SDK onto its own kind, without violations, and
//!    round-trips, every key the schema lists keeping its value;
//! 2. every constraint the schema states (length, count, format, enum, integer, required or
//!    optional, JSON type) is broken by a mutation of the example, which must give exactly the
//!    violation or the parse failure the schema promises, at that JSON path — and still land on
//!    the same kind unless the mutation touches a field the classification rules read;
//! 3. the kinds sharing an event_type each classify their own examples to themselves;
//! 4. a field the schema does not list changes nothing.
//!
//! Which fault `null` in a required field gives is checked on its own
//! (`null_in_a_required_field_is_reported_as_missing`); the constraint test only asks that it
//! fails at the field's path.
//!
//! Fields inside objects are reached through the example, arrays through their first element;
//! an optional object (or array of objects) the example lacks is synthesized minimally (its
//! required fields only), and that synthesized payload must itself parse cleanly.
//!
//! The catalogue, the sites and the mutations live in `common/`, which `json_schema.rs` shares.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use codegen::model::{Choice, DefKind, Field, FieldType, Ident, Scalar};
use common::*;
use serde_json::Value;
use wechatpay_notify::error::{ResourceError, ResourceFault};
use wechatpay_notify::generated::{Classified, classify};
use wechatpay_notify::resource::parse_kind;
use wechatpay_notify::validate::Violation;
use wechatpay_notify::{Kind, Notification};

// ---------------------------------------------------------------------------------------------
// Running cases
// ---------------------------------------------------------------------------------------------

/// Sorted (path, rule) pairs.
fn summarize(violations: &[Violation]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = violations
        .iter()
        .map(|v| (v.path.clone(), v.rule.as_str().to_owned()))
        .collect();
    out.sort();
    out
}

fn expected_pairs(expected: &[(String, &str)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = expected
        .iter()
        .map(|(p, r)| (p.clone(), (*r).to_owned()))
        .collect();
    out.sort();
    out
}

/// Parses `doc` as the example's kind: through classification when `classified`, which must
/// land on the kind; directly otherwise.
fn parse_doc(
    ex: &Example,
    doc: &Value,
    classified: bool,
) -> Result<Result<(Notification, Vec<Violation>), ResourceError>, String> {
    let bytes = serde_json::to_vec(doc).expect("a JSON value serializes");
    if !classified {
        return Ok(ex.parse_as_kind(&bytes));
    }
    match ex.parse_v3(&bytes) {
        Ok(parsed) if parsed.notification.id() != Some(ex.id()) => Err(format!(
            "classified as {:?}, not {}",
            parsed.notification.id(),
            ex.id()
        )),
        Ok(parsed) => Ok(Ok((parsed.notification, parsed.violations))),
        Err(e) => Ok(Err(e)),
    }
}

fn describe(fault: Option<ResourceFault>) -> String {
    fault.map_or_else(|| "a failure".to_owned(), |f| format!("{f:?}"))
}

/// Runs one case; `Err` says what went wrong, naming kind, example, path and mutation.
fn run_case(ex: &Example, site: &Site<'_>, case: &Case, classified: bool) -> Result<(), String> {
    let here = format!(
        "{} at `{}` [{:?}: {}]",
        ex.label(),
        site.path,
        case.constraint,
        case.what
    );
    let outcome = parse_doc(ex, &case.doc, classified).map_err(|e| format!("{here}: {e}"))?;
    match (&case.expect, outcome) {
        (Expect::Parses(expected), Ok((notification, violations))) => {
            let got = summarize(&violations);
            let want = expected_pairs(expected);
            if got != want {
                return Err(format!("{here}: violations {got:?}, expected {want:?}"));
            }
            if let Some((path, value)) = &case.keeps {
                let back = serde_json::to_value(&notification).expect("serializes");
                let kept = path.get(&back);
                if kept != Some(value) {
                    return Err(format!(
                        "{here}: serialized back, `{path}` is {kept:?}, expected {value}"
                    ));
                }
            }
            Ok(())
        }
        (Expect::Parses(_), Err(e)) => Err(format!(
            "{here}: expected to parse, failed: {:?} at {:?}: {}",
            e.reason, e.path, e.message
        )),
        (Expect::Fails(fault, path), Ok((_, violations))) => Err(format!(
            "{here}: expected {} at `{path}`, but it parsed (violations {:?})",
            describe(*fault),
            summarize(&violations)
        )),
        (Expect::Fails(fault, path), Err(e)) => {
            let fault_ok = fault.is_none_or(|f| f == e.reason);
            if !fault_ok || e.path.as_deref() != Some(path.as_str()) {
                return Err(format!(
                    "{here}: expected {} at `{path}`, got {:?} at {:?}: {}",
                    describe(*fault),
                    e.reason,
                    e.path,
                    e.message
                ));
            }
            if e.kind != Some(ex.id()) {
                return Err(format!("{here}: the error names kind {:?}", e.kind));
            }
            Ok(())
        }
    }
}

/// Which constraints were exercised, and which were not (with why).
#[derive(Default)]
struct Coverage {
    /// (kind, path, constraint) → exercised on a synthesized object.
    covered: BTreeMap<(String, String, Constraint), bool>,
    skipped: BTreeMap<(String, String, Constraint), String>,
    /// Mutations run, and how many of them went through classification.
    cases: usize,
    classified: usize,
}

impl Coverage {
    fn top_level_skips(&self) -> Vec<String> {
        self.skipped
            .iter()
            .filter(|((_, path, _), _)| !path.contains(['.', '[']))
            .map(|((kind, path, c), why)| format!("{kind} `{path}` {c:?}: {why}"))
            .collect()
    }
}

/// Runs every case of every site of one example; returns the failures.
fn mutate_example(cat: &Catalogue, ex: &Example, coverage: &mut Coverage) -> Vec<String> {
    let mut failures = Vec::new();
    let rule_fields = cat.rule_fields(ex.event_type());
    let mut synthesized_checked = BTreeSet::new();
    for site in sites(cat, ex.kind, &ex.value) {
        let touches_rules = site.path.top().is_some_and(|t| rule_fields.contains(t));
        let classified = !touches_rules;
        if let Some(case) = synthesized_case(&site, &mut synthesized_checked)
            && let Err(e) = run_case(ex, &site, &case, classified)
        {
            failures.push(e);
        }
        let cases = cases(cat, &site);
        let done: BTreeSet<Constraint> = cases.iter().map(|c| c.constraint).collect();
        coverage.cases += cases.len();
        if classified {
            coverage.classified += cases.len();
        }
        for case in &cases {
            if let Err(e) = run_case(ex, &site, case, classified) {
                failures.push(e);
            }
        }
        for constraint in constraints(site.field) {
            let key = (ex.kind.id.clone(), site.path.to_string(), constraint);
            if done.contains(&constraint) {
                coverage.skipped.remove(&key);
                let on_synth = site.synthesized.is_some();
                let entry = coverage.covered.entry(key).or_insert(on_synth);
                *entry &= on_synth;
            } else if !coverage.covered.contains_key(&key) {
                coverage
                    .skipped
                    .insert(key, "no mutation generated".to_owned());
            }
        }
    }
    failures
}

// ---------------------------------------------------------------------------------------------
// Round trip
// ---------------------------------------------------------------------------------------------

/// Every field of `fields` the original has keeps its value in `back`.
fn compare_listed(
    cat: &Catalogue,
    fields: &[Field],
    original: &Value,
    back: &Value,
    at: &JsonPath,
    failures: &mut Vec<String>,
) {
    for field in fields {
        let path = at.key(&field.wire);
        let o = original.get(&field.wire).filter(|v| !v.is_null());
        let b = back.get(&field.wire).filter(|v| !v.is_null());
        match (o, b) {
            (None, None) => {}
            (Some(_), None) => failures.push(format!("`{path}` is lost")),
            (None, Some(v)) => failures.push(format!("`{path}` appears: {v}")),
            (Some(o), Some(b)) => same_value(cat, &field.ty, o, b, &path, failures),
        }
    }
}

fn same_value(
    cat: &Catalogue,
    ty: &FieldType,
    original: &Value,
    back: &Value,
    path: &JsonPath,
    failures: &mut Vec<String>,
) {
    match ty {
        FieldType::Array(item) => match (original.as_array(), back.as_array()) {
            (Some(os), Some(bs)) if os.len() == bs.len() => {
                for (i, (o, b)) in os.iter().zip(bs).enumerate() {
                    same_value(cat, item, o, b, &path.index(i), failures);
                }
            }
            _ => failures.push(format!("`{path}`: {original} became {back}")),
        },
        FieldType::Named(t) if t.def == DefKind::Object => {
            let fields = &cat.object(&t.name).fields;
            compare_listed(cat, fields, original, back, path, failures);
        }
        FieldType::Scalar(Scalar::Integer) => {
            let o = as_integer(original);
            if o.is_none() || o != as_integer(back) {
                failures.push(format!("`{path}`: {original} became {back}"));
            }
        }
        _ => {
            if original != back {
                failures.push(format!("`{path}`: {original} became {back}"));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

#[test]
fn the_catalogue_and_the_sdk_list_the_same_kinds() {
    let cat = catalogue();
    let model: BTreeSet<&str> = cat.model.kinds.iter().map(|k| k.kind.id.as_str()).collect();
    let sdk: BTreeSet<&str> = Kind::ALL.iter().map(|k| k.id()).collect();
    assert_eq!(
        model, sdk,
        "schema/ and the SDK differ: run `cargo xtask codegen`"
    );
    assert!(
        !cat.v3_kinds().is_empty(),
        "the catalogue has no APIv3 kind"
    );
    for kind in cat.v3_kinds() {
        assert!(
            !cat.examples[&kind.id].is_empty(),
            "{} lists no example",
            kind.id
        );
    }
}

#[test]
fn every_example_parses_cleanly_on_its_own_kind_and_round_trips() {
    let cat = catalogue();
    let mut failures = Vec::new();
    for ex in examples() {
        let label = ex.label();
        let parsed = match ex.parse_v3(&ex.bytes) {
            Ok(parsed) => parsed,
            Err(e) => {
                failures.push(format!("{label}: does not parse: {e:?}"));
                continue;
            }
        };
        if parsed.notification.id() != Some(ex.id()) {
            let got = parsed.notification.id();
            failures.push(format!("{label}: classified as {got:?}"));
            continue;
        }
        if !parsed.violations.is_empty() {
            failures.push(format!("{label}: violations {:?}", parsed.violations));
        }
        let back = serde_json::to_value(&parsed.notification).expect("serializes");
        let bytes = serde_json::to_vec(&back).expect("serializes");
        match parse_kind(ex.sdk, &bytes) {
            Ok(again) if again == parsed.notification => {}
            Ok(again) => failures.push(format!("{label}: re-parsed as {again:?}")),
            Err(e) => failures.push(format!("{label}: serialized back, fails: {e:?}")),
        }
        let mut lost = Vec::new();
        let root = JsonPath::default();
        compare_listed(
            cat,
            &ex.kind.body.fields,
            &ex.value,
            &back,
            &root,
            &mut lost,
        );
        failures.extend(
            lost.into_iter()
                .map(|f| format!("{label}: round trip: {f}")),
        );
    }
    assert_no_failures("examples", &failures);
}

#[test]
fn every_constraint_is_enforced_at_its_path() {
    let cat = catalogue();
    let mut coverage = Coverage::default();
    let mut failures = Vec::new();
    for ex in examples() {
        failures.extend(mutate_example(cat, ex, &mut coverage));
    }

    let covered = coverage.covered.len();
    let skipped = coverage.skipped.len();
    let synthesized = coverage.covered.values().filter(|s| **s).count();
    let mut by_rule: BTreeMap<Constraint, usize> = BTreeMap::new();
    for (_, _, c) in coverage.covered.keys() {
        *by_rule.entry(*c).or_default() += 1;
    }
    println!(
        "{} APIv3 kinds, {} examples: {covered} constraints covered \
         ({synthesized} only on synthesized objects), {skipped} skipped; by rule: {by_rule:?}; \
         {} mutations, {} of them through classification",
        cat.v3_kinds().len(),
        examples().len(),
        coverage.cases,
        coverage.classified,
    );
    for ((kind, path, c), why) in &coverage.skipped {
        println!("  skipped: {kind} `{path}` {c:?}: {why}");
    }

    assert_no_failures("constraints", &failures);
    assert!(covered > 0, "no constraint was exercised");
    let top = coverage.top_level_skips();
    assert!(
        top.is_empty(),
        "top-level constraints not covered: {top:#?}"
    );
    assert!(
        skipped * 20 <= covered + skipped,
        "only {covered} of {} constraints covered",
        covered + skipped
    );
}

#[test]
fn siblings_classify_to_their_own_kind() {
    let cat = catalogue();
    let mut failures = Vec::new();
    let mut routed = BTreeSet::new();
    for route in &cat.model.routes {
        let names: Vec<&Ident> = match &route.choice {
            Choice::Single(name) => vec![name],
            Choice::Rules { rules, default } => {
                rules.iter().map(|r| &r.kind).chain(default).collect()
            }
        };
        for name in names {
            let kind = cat.kind_named(name);
            routed.insert(kind.id.as_str());
            for ex in examples().iter().filter(|ex| ex.kind.id == kind.id) {
                let got = classify(&route.event_type, ex.original_type(), &ex.bytes);
                match got {
                    Ok(Classified::Kind(k)) if k == ex.sdk => {}
                    other => failures.push(format!(
                        "{}: classify({:?}, {:?}) gave {other:?}",
                        ex.label(),
                        route.event_type,
                        ex.original_type()
                    )),
                }
            }
        }
    }
    for kind in cat.v3_kinds() {
        if !routed.contains(kind.id.as_str()) {
            failures.push(format!("{} is in no route of the model", kind.id));
        }
    }
    assert_no_failures("classification", &failures);
}

#[test]
fn unknown_fields_change_nothing() {
    let cat = catalogue();
    let mut failures = Vec::new();
    for ex in examples() {
        let expected = ex
            .parse_v3(&ex.bytes)
            .unwrap_or_else(|e| panic!("{}: does not parse: {e:?}", ex.label()))
            .notification;
        for at in object_paths(cat, ex) {
            let doc = with_future_field(ex, &at);
            let where_ = if at == JsonPath::default() {
                "the top level".to_owned()
            } else {
                format!("`{at}`")
            };
            let bytes = serde_json::to_vec(&doc).expect("serializes");
            match ex.parse_v3(&bytes) {
                Ok(p) if p.notification == expected && p.violations.is_empty() => {}
                Ok(p) => failures.push(format!(
                    "{}: {FUTURE_FIELD} at {where_}: got {:?} with {:?}",
                    ex.label(),
                    p.notification.id(),
                    p.violations
                )),
                Err(e) => failures.push(format!(
                    "{}: {FUTURE_FIELD} at {where_}: fails: {e:?}",
                    ex.label()
                )),
            }
        }
    }
    assert_no_failures("unknown fields", &failures);
}

/// `ResourceFault::MissingField` is documented as "a required field is absent or null", and
/// schema/README.md puts `null` in a required field beside a missing one.
#[test]
fn null_in_a_required_field_is_reported_as_missing() {
    let cat = catalogue();
    let mut failures = Vec::new();
    for ex in examples() {
        for site in sites(cat, ex.kind, &ex.value) {
            if !site.field.required {
                continue;
            }
            let expect = Expect::Fails(Some(ResourceFault::MissingField), site.path.to_string());
            let case = Case::new(Constraint::Required, "null", null_in(&site), expect);
            if let Err(e) = run_case(ex, &site, &case, false) {
                failures.push(e);
            }
        }
    }
    assert_no_failures("null in required fields", &failures);
}
