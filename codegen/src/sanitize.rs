//! Wire names to Rust identifiers: the one function every name goes through.

/// The identifier style wanted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Case {
    /// Types and enum variants: `TRANSACTION.SUCCESS#PARKING` → `TransactionSuccessParking`,
    /// `v2:refund-processed` → `V2RefundProcessed`, `PAY_FAIL` → `PayFail`.
    UpperCamel,
    /// Fields and modules: `sp_mchid` → `sp_mchid`, `tradeType` → `trade_type`,
    /// `type` → `r#type`.
    Snake,
}

/// The Rust identifier for `name` in `case`, or `None` when `name` holds no ASCII letter or
/// digit to make one from.
///
/// Words are split at every character that is not an ASCII letter or digit, and (for
/// snake_case) at case changes (`tradeType`, `HTTPServer`). An upper-camel word written in
/// capitals is capitalised (`SUCCESS` → `Success`); one in mixed case keeps its inner
/// capitals (`ParkingAmount`). Identifiers that would start with a digit get a prefix (`V`,
/// `_`); keywords become raw identifiers (`r#type`), or get a `_` suffix where Rust allows no
/// raw form (`self_`).
pub fn sanitize(name: &str, case: Case) -> Option<String> {
    let chunks: Vec<&str> = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|s| !s.is_empty())
        .collect();
    if chunks.is_empty() {
        return None;
    }
    let mut out = String::new();
    match case {
        Case::UpperCamel => {
            for chunk in chunks {
                let capitals = !chunk.bytes().any(|b| b.is_ascii_lowercase());
                for (i, c) in chunk.chars().enumerate() {
                    if i == 0 {
                        out.push(c.to_ascii_uppercase());
                    } else if capitals {
                        out.push(c.to_ascii_lowercase());
                    } else {
                        out.push(c);
                    }
                }
            }
            if out.starts_with(|c: char| c.is_ascii_digit()) {
                out.insert(0, 'V');
            }
            if out == "Self" {
                out.push('_');
            }
        }
        Case::Snake => {
            let words: Vec<String> = chunks.into_iter().flat_map(snake_words).collect();
            out = words.join("_");
            if out.starts_with(|c: char| c.is_ascii_digit()) {
                out.insert(0, '_');
            }
            if NO_RAW_FORM.contains(&out.as_str()) {
                out.push('_');
            } else if KEYWORDS.contains(&out.as_str()) {
                out.insert_str(0, "r#");
            }
        }
    }
    Some(out)
}

/// `true` when `name` is an identifier the catalogue may give a type: an ASCII letter in
/// capitals first, then ASCII letters and digits, and not a name generated code relies on.
pub fn is_type_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_uppercase())
        && name.bytes().all(|b| b.is_ascii_alphanumeric())
        && !RESERVED_TYPE_NAMES.contains(&name)
}

/// Names a catalogue type may not take: generated code uses them unqualified (the prelude),
/// so a type of that name would shadow them.
pub const RESERVED_TYPE_NAMES: &[&str] = &[
    "Self",
    "Option",
    "Some",
    "None",
    "Result",
    "Ok",
    "Err",
    "String",
    "Vec",
    "Box",
    "Clone",
    "Copy",
    "Send",
    "Sync",
    "Sized",
    "Default",
    "Drop",
    "Eq",
    "PartialEq",
    "Ord",
    "PartialOrd",
    "From",
    "Into",
    "TryFrom",
    "TryInto",
    "Iterator",
    "IntoIterator",
    "Extend",
    "ToOwned",
    "ToString",
    "AsRef",
    "AsMut",
    "Fn",
    "FnMut",
    "FnOnce",
    "Unpin",
];

/// Splits one chunk of letters and digits at case changes, lowercased.
fn snake_words(chunk: &str) -> Vec<String> {
    let chars: Vec<char> = chunk.chars().collect();
    let mut words = Vec::new();
    let mut word = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if i > 0 && c.is_ascii_uppercase() {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            let boundary = prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next_lower);
            if boundary && !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
        }
        word.push(c.to_ascii_lowercase());
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// Keywords that have no raw-identifier form.
const NO_RAW_FORM: &[&str] = &["self", "super", "crate"];

/// Strict and reserved keywords (edition 2024).
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "do", "dyn",
    "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let",
    "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref", "return",
    "static", "struct", "trait", "true", "try", "type", "typeof", "unsafe", "unsized", "use",
    "virtual", "where", "while", "yield",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn camel(s: &str) -> String {
        sanitize(s, Case::UpperCamel).unwrap()
    }

    fn snake(s: &str) -> String {
        sanitize(s, Case::Snake).unwrap()
    }

    #[test]
    fn kind_ids_to_types() {
        assert_eq!(
            camel("TRANSACTION.SUCCESS#PARKING"),
            "TransactionSuccessParking"
        );
        assert_eq!(camel("v2:refund-processed"), "V2RefundProcessed");
        assert_eq!(camel("v2:CHECK.SUCCESS"), "V2CheckSuccess");
        assert_eq!(
            camel("EDU_SCHOOL_PAY.USER_DEBT_STATE_UPDATE"),
            "EduSchoolPayUserDebtStateUpdate"
        );
    }

    #[test]
    fn values_to_variants() {
        assert_eq!(camel("PAY_FAIL"), "PayFail");
        assert_eq!(camel("SUCCESS"), "Success");
        assert_eq!(camel("Y"), "Y");
        assert_eq!(camel("mch_payment"), "MchPayment");
        assert_eq!(camel("ParkingAmount"), "ParkingAmount");
        assert_eq!(camel("1"), "V1");
        assert_eq!(camel("SELF"), "Self_");
        assert_eq!(sanitize("停车", Case::UpperCamel), None);
    }

    #[test]
    fn fields() {
        assert_eq!(snake("sp_mchid"), "sp_mchid");
        assert_eq!(snake("tradeType"), "trade_type");
        assert_eq!(snake("HTTPServer"), "http_server");
        assert_eq!(snake("RefundFee2"), "refund_fee2");
        assert_eq!(snake("type"), "r#type");
        assert_eq!(snake("self"), "self_");
        assert_eq!(snake("3ds"), "_3ds");
        assert_eq!(
            snake("transaction-success-parking"),
            "transaction_success_parking"
        );
    }

    #[test]
    fn type_names() {
        assert!(is_type_name("ParkingAmount"));
        assert!(!is_type_name("parkingAmount"));
        assert!(!is_type_name("Parking_Amount"));
        assert!(!is_type_name("Option"));
    }
}
