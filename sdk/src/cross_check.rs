//! Business cross-check: does the notification agree with the merchant's own records?
//!
//! A verified signature proves who sent a notification, not that it is about the order the
//! merchant thinks: a notification for another merchant id, another app, another order or
//! another amount must not mark an order paid. WeChat Pay's guidance is to compare the
//! notification with the merchant's own data before acting on it, and a decrypted but
//! unauthenticated payload ([`Trust::DecryptedUnauthenticated`](crate::catalogue::Trust))
//! must be confirmed this way (or by a query).
//!
//! The catalogue names, per kind, the fields that identify and price the business object
//! (`cross_check` in `schema/kinds/*.yaml`: `appid`, `mchid`, `out_trade_no`, `amount.total`…).
//! For each kind the generator writes a `…Expected` struct with one optional field per path
//! and an impl of [`CrossCheck`], which compares every expected value with the notification
//! and reports every [`Mismatch`], not only the first.

use std::fmt;

use serde::Serialize;

use crate::types::{Int, OpenEnum};

/// A notification kind whose business fields can be compared with the merchant's
/// expectation; implemented by every generated kind type.
///
/// ```
/// use wechatpay_notify::cross_check::{CrossCheck, Mismatch};
/// use wechatpay_notify::generated::kinds::{
///     TransactionSuccessParking, TransactionSuccessParkingExpected,
/// };
///
/// let paid: TransactionSuccessParking = serde_json::from_str(r#"{
///     "appid": "wx2421b1c4370ec43b", "sp_mchid": "10000100",
///     "out_trade_no": "20150806125346", "trade_state": "SUCCESS",
///     "trade_scene": "PARKING", "amount": { "total": 528800, "currency": "CNY" }
/// }"#)?;
///
/// // The merchant's own order: its number, and what it charges.
/// let order = TransactionSuccessParkingExpected::default()
///     .out_trade_no("20150806125346")
///     .amount_total(500000);
///
/// let mismatches = paid.cross_check(&order);
/// assert_eq!(
///     mismatches,
///     [Mismatch {
///         path: "amount.total",
///         expected: "500000".into(),
///         found: Some("528800".into()),
///     }]
/// );
/// assert_eq!(
///     mismatches[0].to_string(),
///     "amount.total: expected 500000, found 528800"
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
pub trait CrossCheck {
    /// What the merchant expects of this kind: the generated `…Expected` struct, one optional
    /// field per cross-check path (`None` is not compared).
    type Expected;

    /// Compares every value `expected` states with the notification, in the catalogue's
    /// order, and returns every mismatch (empty when the notification agrees). A value the
    /// notification lacks is a mismatch with [`Mismatch::found`] `None`.
    fn cross_check(&self, expected: &Self::Expected) -> Vec<Mismatch>;
}

/// A value of the notification that differs from what the merchant expects.
///
/// Not `#[non_exhaustive]`: a plain record, which merchants' tests compare with a literal.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Mismatch {
    /// The catalogue path of the field (`amount.total`, `out_trade_no`).
    pub path: &'static str,
    /// The expected value, as text (an integer in decimal, an enum's wire text).
    pub expected: String,
    /// The notification's value, as text; `None` when the notification lacks it.
    pub found: Option<String>,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.found {
            Some(found) => write!(
                f,
                "{}: expected {}, found {found}",
                self.path, self.expected
            ),
            None => write!(f, "{}: expected {}, found none", self.path, self.expected),
        }
    }
}

/// A notification value that can be cross-checked: strings, integers, enums.
pub trait Checked {
    /// The type the merchant states the expected value in: `String`, `i64`, the enum.
    type Expected;

    /// `true` when the value is the expected one.
    fn agrees_with(&self, expected: &Self::Expected) -> bool;

    /// The value as a [`Mismatch`] shows it.
    fn text(&self) -> String;

    /// The expected value as a [`Mismatch`] shows it.
    fn expected_text(expected: &Self::Expected) -> String;
}

impl Checked for String {
    type Expected = String;

    fn agrees_with(&self, expected: &String) -> bool {
        self == expected
    }

    fn text(&self) -> String {
        self.clone()
    }

    fn expected_text(expected: &String) -> String {
        expected.clone()
    }
}

/// Compared by value: a quoted integer (`"528800"`) agrees with `528800`.
impl Checked for Int {
    type Expected = i64;

    fn agrees_with(&self, expected: &i64) -> bool {
        self.get() == *expected
    }

    fn text(&self) -> String {
        self.get().to_string()
    }

    fn expected_text(expected: &i64) -> String {
        expected.to_string()
    }
}

/// Compared by wire text, so `Unknown("SUCCESS")` agrees with the known `Success`.
impl<T: OpenEnum> Checked for T {
    type Expected = T;

    fn agrees_with(&self, expected: &T) -> bool {
        self.as_str() == expected.as_str()
    }

    fn text(&self) -> String {
        self.as_str().to_owned()
    }

    fn expected_text(expected: &T) -> String {
        expected.as_str().to_owned()
    }
}

/// Compares one field, for the generated [`CrossCheck`] impls: nothing when `expected` is
/// `None`; a [`Mismatch`] at `path` when `found` is absent or differs.
pub fn compare<T: Checked>(
    path: &'static str,
    expected: Option<&T::Expected>,
    found: Option<&T>,
    out: &mut Vec<Mismatch>,
) {
    let Some(expected) = expected else {
        return;
    };
    if found.is_some_and(|v| v.agrees_with(expected)) {
        return;
    }
    out.push(Mismatch {
        path,
        expected: T::expected_text(expected),
        found: found.map(Checked::text),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generated::enums::Currency;

    fn run<T: Checked>(expected: Option<&T::Expected>, found: Option<&T>) -> Vec<Mismatch> {
        let mut out = Vec::new();
        compare("x.y", expected, found, &mut out);
        out
    }

    fn mismatch(expected: &str, found: Option<&str>) -> Vec<Mismatch> {
        vec![Mismatch {
            path: "x.y",
            expected: expected.into(),
            found: found.map(Into::into),
        }]
    }

    #[test]
    fn nothing_expected_is_not_compared() {
        assert!(run::<String>(None, None).is_empty());
        assert!(run::<String>(None, Some(&"a".into())).is_empty());
    }

    #[test]
    fn strings() {
        assert!(run(Some(&"a".to_owned()), Some(&"a".to_owned())).is_empty());
        assert_eq!(
            run(Some(&"a".to_owned()), Some(&"b".to_owned())),
            mismatch("a", Some("b"))
        );
        assert_eq!(run::<String>(Some(&"a".into()), None), mismatch("a", None));
    }

    #[test]
    fn integers_compare_by_value() {
        let quoted: Int = serde_json::from_str("\"100\"").unwrap();
        assert!(run(Some(&100), Some(&quoted)).is_empty());
        assert!(run(Some(&100), Some(&Int::new(100))).is_empty());
        assert_eq!(
            run(Some(&100), Some(&Int::new(99))),
            mismatch("100", Some("99"))
        );
        assert_eq!(run::<Int>(Some(&-1), None), mismatch("-1", None));
    }

    #[test]
    fn enums_compare_by_wire_text() {
        let unknown = Currency::Unknown("CNY".into());
        assert!(run(Some(&Currency::Cny), Some(&unknown)).is_empty());
        assert!(run(Some(&unknown), Some(&Currency::Cny)).is_empty());
        let usd = Currency::Unknown("USD".into());
        assert_eq!(
            run(Some(&Currency::Cny), Some(&usd)),
            mismatch("CNY", Some("USD"))
        );
    }

    #[test]
    fn display() {
        let m = &mismatch("a", None)[0];
        assert_eq!(m.to_string(), "x.y: expected a, found none");
        let m = &mismatch("1", Some("2"))[0];
        assert_eq!(m.to_string(), "x.y: expected 1, found 2");
    }
}
