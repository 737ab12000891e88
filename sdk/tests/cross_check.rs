//! Business cross-check on every shipped example (`schema/examples/`): an expectation built
//! from the example's own values agrees; each field expected otherwise gives exactly its
//! mismatch (path, expected, found — `None` where the example lacks the field); several wrong
//! fields are all reported, in catalogue order.

use serde_json::Value;
use wechatpay_notify::Kind;
use wechatpay_notify::cross_check::{CrossCheck, Mismatch};
use wechatpay_notify::generated::kinds;
use wechatpay_notify::resource::parse_kind;

/// The example's JSON and its typed parse.
fn parse<T: TryFrom<wechatpay_notify::Notification>>(kind: Kind, file: &str) -> (Value, T)
where
    T::Error: std::fmt::Debug,
{
    let path = format!("{}/../schema/examples/{file}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let json = serde_json::from_slice(&bytes).unwrap();
    let notification = parse_kind(kind, &bytes).unwrap_or_else(|e| panic!("{file}: {e}"));
    (json, T::try_from(notification).unwrap())
}

/// The example's value at a cross-check path (`amount.total`), if present.
fn at<'a>(json: &'a Value, path: &str) -> Option<&'a Value> {
    json.pointer(&format!("/{}", path.replace('.', "/")))
        .filter(|v| !v.is_null())
}

/// A value an `…Expected` field holds (the 7 kinds cross-check strings and integers).
trait Sample: Clone {
    /// From the example's JSON.
    fn from_json(v: &Value) -> Self;
    /// A value that differs.
    fn wrong(&self) -> Self;
    /// A value to expect where the example has none.
    fn filler() -> Self;
    /// As a mismatch shows it.
    fn text(&self) -> String;
}

impl Sample for String {
    fn from_json(v: &Value) -> Self {
        v.as_str().expect("a string").to_owned()
    }
    fn wrong(&self) -> Self {
        format!("{self}-not-mine")
    }
    fn filler() -> Self {
        "expected-but-absent".to_owned()
    }
    fn text(&self) -> String {
        self.clone()
    }
}

impl Sample for i64 {
    fn from_json(v: &Value) -> Self {
        v.as_i64().expect("an integer")
    }
    fn wrong(&self) -> Self {
        self + 1
    }
    fn filler() -> Self {
        1
    }
    fn text(&self) -> String {
        self.to_string()
    }
}

fn wrong_value<T: Sample>(own: Option<&T>) -> T {
    own.map_or_else(T::filler, T::wrong)
}

macro_rules! cross_check_example {
    ($test:ident: $kind:ident, $expected:ident, $file:literal, [$($field:ident = $path:literal),+ $(,)?]) => {
        #[test]
        fn $test() {
            let (json, typed): (Value, kinds::$kind) = parse(Kind::$kind, $file);
            assert_eq!(
                Kind::$kind.info().cross_check,
                [$($path),+],
                "this test lists every cross-check path of the kind, in order"
            );
            // Nothing expected, nothing compared.
            assert_eq!(typed.cross_check(&kinds::$expected::default()), []);

            let mut own = kinds::$expected::default();
            $( own.$field = at(&json, $path).map(Sample::from_json); )+
            assert_eq!(typed.cross_check(&own), [], "the example agrees with itself");

            let mut all_wrong = own.clone();
            let mut all_mismatches = Vec::new();
            $(
                let wrong = wrong_value(own.$field.as_ref());
                let mismatch = Mismatch {
                    path: $path,
                    expected: wrong.text(),
                    found: own.$field.as_ref().map(Sample::text),
                };
                let mut one = own.clone();
                one.$field = Some(wrong.clone());
                assert_eq!(typed.cross_check(&one), std::slice::from_ref(&mismatch), "{}", $path);
                all_wrong.$field = Some(wrong);
                all_mismatches.push(mismatch);
            )+
            assert_eq!(typed.cross_check(&all_wrong), all_mismatches);
        }
    };
}

cross_check_example!(refund_abnormal: RefundAbnormal, RefundAbnormalExpected, "refund-abnormal.json", [
    mchid = "mchid",
    sp_mchid = "sp_mchid",
    sub_mchid = "sub_mchid",
    out_trade_no = "out_trade_no",
    out_refund_no = "out_refund_no",
    amount_total = "amount.total",
    amount_refund = "amount.refund",
]);

cross_check_example!(refund_closed: RefundClosed, RefundClosedExpected, "refund-closed.json", [
    mchid = "mchid",
    sp_mchid = "sp_mchid",
    sub_mchid = "sub_mchid",
    out_trade_no = "out_trade_no",
    out_refund_no = "out_refund_no",
    amount_total = "amount.total",
    amount_refund = "amount.refund",
]);

cross_check_example!(refund_success: RefundSuccess, RefundSuccessExpected, "refund-success.json", [
    mchid = "mchid",
    sp_mchid = "sp_mchid",
    sub_mchid = "sub_mchid",
    out_trade_no = "out_trade_no",
    out_refund_no = "out_refund_no",
    amount_total = "amount.total",
    amount_refund = "amount.refund",
]);

cross_check_example!(transaction_success_basic: TransactionSuccessBasic, TransactionSuccessBasicExpected, "transaction-success-basic.json", [
    appid = "appid",
    mchid = "mchid",
    out_trade_no = "out_trade_no",
    amount_total = "amount.total",
]);

cross_check_example!(transaction_success_combine: TransactionSuccessCombine, TransactionSuccessCombineExpected, "transaction-success-combine.json", [
    combine_appid = "combine_appid",
    combine_mchid = "combine_mchid",
    combine_out_trade_no = "combine_out_trade_no",
]);

cross_check_example!(transaction_success_parking: TransactionSuccessParking, TransactionSuccessParkingExpected, "transaction-success-parking.json", [
    appid = "appid",
    sp_mchid = "sp_mchid",
    mchid = "mchid",
    sub_appid = "sub_appid",
    sub_mchid = "sub_mchid",
    out_trade_no = "out_trade_no",
    amount_total = "amount.total",
]);

cross_check_example!(transaction_success_partner: TransactionSuccessPartner, TransactionSuccessPartnerExpected, "transaction-success-partner.json", [
    sp_appid = "sp_appid",
    sp_mchid = "sp_mchid",
    sub_appid = "sub_appid",
    sub_mchid = "sub_mchid",
    out_trade_no = "out_trade_no",
    amount_total = "amount.total",
]);

#[test]
fn the_setters_build_the_same_expectation() {
    let (_, paid): (Value, kinds::TransactionSuccessParking) = parse(
        Kind::TransactionSuccessParking,
        "transaction-success-parking.json",
    );
    let order = kinds::TransactionSuccessParkingExpected::default()
        .appid("wx2421b1c4370ec43b")
        .sp_mchid("10000100")
        .out_trade_no("20150806125346")
        .amount_total(528800);
    let literal = kinds::TransactionSuccessParkingExpected {
        appid: Some("wx2421b1c4370ec43b".into()),
        sp_mchid: Some("10000100".into()),
        out_trade_no: Some("20150806125346".into()),
        amount_total: Some(528800),
        ..Default::default()
    };
    assert_eq!(order, literal);
    assert_eq!(paid.cross_check(&order), []);

    // A payment to another merchant, for another order and amount: every difference.
    let other = order
        .sp_mchid("10000200")
        .mchid("10000200")
        .out_trade_no("20150806125347")
        .amount_total(1);
    let shown: Vec<String> = paid
        .cross_check(&other)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        shown,
        [
            "sp_mchid: expected 10000200, found 10000100",
            "mchid: expected 10000200, found none",
            "out_trade_no: expected 20150806125347, found 20150806125346",
            "amount.total: expected 1, found 528800",
        ]
    );
}
