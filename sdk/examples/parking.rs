//! A merchant's parking-payment endpoint: the README's quick start.
//!
//! `cargo run -p wechatpay-notify --example parking` handles the signed sample request in
//! `samples/requests/` with the sample keys (and a clock pinned to its timestamp).

use wechatpay_notify::generated::kinds::TransactionSuccessParking;
use wechatpay_notify::keys::{ApiV3Key, Keyring};
use wechatpay_notify::{Delivery, Dispatcher, Receiver, time::FixedClock, v3::Verifier};

async fn on_parking_paid(
    d: Delivery<TransactionSuccessParking>,
) -> Result<(), wechatpay_notify::error::HandlerError> {
    let p = &d.resource;
    // Cross-check with your own order before acting: same order, same amount.
    println!(
        "order {} paid: {} fen ({})",
        p.out_trade_no, p.amount.total, p.trade_state
    );
    Ok(())
}

fn dispatcher(dir: &str) -> Result<Dispatcher, Box<dyn std::error::Error>> {
    let mut keys = Keyring::new();
    let pem = std::fs::read_to_string(format!("{dir}/keys/wechatpay-public-key.pem"))?;
    keys.add_public_key_pem("PUB_KEY_ID_0114232134912410000000000000", &pem)?;
    let api_v3_key =
        ApiV3Key::from_text(&std::fs::read_to_string(format!("{dir}/keys/apiv3.key"))?)?;
    // In production: `Verifier::new(keys)` (system clock, 300 s window).
    let verifier = Verifier::new(keys).with_clock(FixedClock(1_700_000_000));
    Ok(Dispatcher::new(Receiver::with_verifier(verifier, api_v3_key)).on(on_parking_paid))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../samples");
    let dispatcher = dispatcher(dir)?;
    // What your HTTP framework hands you: the headers and the raw body bytes.
    let capture: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(format!(
        "{dir}/requests/transaction-success-parking.json"
    ))?)?;
    let mut headers = http::HeaderMap::new();
    for pair in capture["headers"].as_array().into_iter().flatten() {
        headers.append(
            http::HeaderName::from_bytes(pair[0].as_str().unwrap_or_default().as_bytes())?,
            pair[1].as_str().unwrap_or_default().parse()?,
        );
    }
    let body = capture["body"].as_str().unwrap_or_default().as_bytes();

    let outcome = dispatcher.handle(&headers, body).await;
    println!("reply: {} {:?}", outcome.reply.status, outcome.reply.body);
    Ok(())
}
