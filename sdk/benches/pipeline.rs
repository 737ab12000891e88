//! The cost of one APIv3 notification, step by step, beside the floor of its primitives.
//!
//! `cargo bench -p wechatpay-notify --bench pipeline --features testkit`
//!
//! - `floor`: aws-lc-rs RSA-2048 verify with a parsed key + base64 decodes + aws-lc-rs
//!   AES-256-GCM open + serde_json envelope parse, on the same inputs (the same distinct
//!   requests, in the same order, as `whole/first_delivery`): the least any receiver must do.
//! - `whole/first_delivery`: headers → verify → envelope → decrypt → classify → typed parse of
//!   every field → validate → dispatch to a handler → reply, with the signature cache on but
//!   missing (each iteration takes the next of more distinct requests than the cache holds).
//! - `whole/duplicate`: a byte-identical copy of a delivered request (cache hit).
//! - `step/*`: each step alone. `classify_parse_validate` is what the receiver does with the
//!   plaintext (one pass for this kind, the event type's default); `classify` is the
//!   standalone probe, which the receiver runs only for a plaintext of another kind.
//! - `path/paired` (printed after the criterion groups): the floor, a first delivery and a
//!   duplicate timed in alternating blocks over the same requests, with the medians of the
//!   per-round ratios. On a shared machine whose load changes from minute to minute, these
//!   ratios move far less than the ratio of two medians measured minutes apart.

use std::hint::black_box;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use criterion::{Criterion, criterion_group, criterion_main};
use wechatpay_notify::dispatch::{Delivery, Dispatcher};
use wechatpay_notify::generated::kinds::TransactionSuccessBasic;
use wechatpay_notify::keys::ApiV3Key;
use wechatpay_notify::testkit::{SignedRequest, TestSigner, V3RequestBuilder};
use wechatpay_notify::time::FixedClock;
use wechatpay_notify::v3::{Envelope, Verifier};
use wechatpay_notify::validate::Validate;
use wechatpay_notify::{Receiver, resource};

const KEY_ID: &str = "PUB_KEY_ID_0114232134912410000000000000";
const NOW: i64 = 1_700_000_000;
/// More distinct requests than the signature cache holds (4096), so first deliveries miss.
const DISTINCT: usize = 5000;

fn payment() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../schema/examples/transaction-success-basic.json"
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v.to_string()
}

fn requests(signer: &TestSigner, key: &ApiV3Key, n: usize) -> Vec<SignedRequest> {
    let plaintext = payment();
    (0..n)
        .map(|i| {
            V3RequestBuilder::new("TRANSACTION.SUCCESS", plaintext.clone())
                .id(format!("EV-{i:08}-0000-4000-8000-000000000000"))
                .timestamp(NOW)
                .original_type("transaction")
                .summary("支付成功")
                .sign(signer, key)
        })
        .collect()
}

/// Polls a future that is ready at once (the handlers here never wait).
fn ready<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the handler waited"),
    }
}

fn bench(c: &mut Criterion) {
    let signer = TestSigner::fixed(KEY_ID);
    let key = ApiV3Key::from_text("0123456789abcdefghijklmnopqrstuv").unwrap();
    let reqs = requests(&signer, &key, DISTINCT);
    let one = &reqs[0];
    let verifier = Verifier::new(signer.keyring().unwrap()).with_clock(FixedClock(NOW));
    let receiver = Receiver::with_verifier(
        verifier.clone(),
        ApiV3Key::from_text("0123456789abcdefghijklmnopqrstuv").unwrap(),
    );
    let dispatcher =
        Dispatcher::new(receiver.clone()).on(|d: Delivery<TransactionSuccessBasic>| async move {
            black_box(&d.resource.out_trade_no);
            Ok(())
        });
    eprintln!(
        "request: body {} bytes, resource plaintext {} bytes",
        one.body.len(),
        payment().len()
    );

    // The floor's inputs, prepared as a receiver prepares them once: a parsed RSA key and an
    // AES key.
    let der = spki_der(&signer);
    let parsed = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der.as_slice())
        .parse()
        .unwrap();
    let aes = LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, b"0123456789abcdefghijklmnopqrstuv").unwrap(),
    );

    let mut g = c.benchmark_group("path");
    // Both cycle through the same distinct requests, so both pay the same memory traffic.
    let mut i = 0usize;
    g.bench_function("floor", |b| {
        b.iter(|| {
            i = (i + 1) % reqs.len();
            floor(black_box(&reqs[i]), &parsed, &aes)
        })
    });
    g.bench_function("whole/first_delivery", |b| {
        b.iter(|| {
            i = (i + 1) % reqs.len();
            let r = &reqs[i];
            let out = ready(dispatcher.handle(&r.headers, &r.body));
            assert_eq!(out.reply.status, 204);
            out
        })
    });
    let no_cache = Dispatcher::new(Receiver::with_verifier(
        verifier.clone().with_signature_cache(0),
        ApiV3Key::from_text("0123456789abcdefghijklmnopqrstuv").unwrap(),
    ))
    .on(|d: Delivery<TransactionSuccessBasic>| async move {
        black_box(&d.resource.out_trade_no);
        Ok(())
    });
    g.bench_function("whole/first_delivery_without_cache", |b| {
        b.iter(|| {
            i = (i + 1) % reqs.len();
            let r = &reqs[i];
            ready(no_cache.handle(&r.headers, &r.body))
        })
    });
    let dup = &reqs[1];
    ready(dispatcher.handle(&dup.headers, &dup.body));
    g.bench_function("whole/duplicate", |b| {
        b.iter(|| {
            let out = ready(dispatcher.handle(&dup.headers, &dup.body));
            assert_eq!(out.reply.status, 204);
            out
        })
    });
    g.finish();

    let mut g = c.benchmark_group("step");
    let uncached = verifier.clone().with_signature_cache(0);
    g.bench_function("verify_and_envelope", |b| {
        b.iter(|| uncached.verify(&one.headers, black_box(&one.body)).unwrap())
    });
    let verified = uncached.verify(&one.headers, &one.body).unwrap();
    g.bench_function("decrypt", |b| b.iter(|| verified.decrypt(&key).unwrap()));
    let plaintext = verified.decrypt(&key).unwrap();
    g.bench_function("classify", |b| {
        b.iter(|| {
            wechatpay_notify::generated::classify(
                "TRANSACTION.SUCCESS",
                Some("transaction"),
                black_box(&plaintext),
            )
            .unwrap()
        })
    });
    g.bench_function("classify_parse_validate", |b| {
        b.iter(|| {
            resource::parse_v3(
                "TRANSACTION.SUCCESS",
                Some("transaction"),
                black_box(&plaintext),
            )
            .unwrap()
        })
    });
    g.bench_function("parse", |b| {
        b.iter(|| {
            resource::parse_kind(
                wechatpay_notify::Kind::TransactionSuccessBasic,
                black_box(&plaintext),
            )
            .unwrap()
        })
    });
    g.bench_function("receive_duplicate", |b| {
        b.iter(|| {
            receiver
                .receive(&dup.headers, black_box(&dup.body))
                .unwrap()
        })
    });
    let parsed_n =
        resource::parse_kind(wechatpay_notify::Kind::TransactionSuccessBasic, &plaintext).unwrap();
    g.bench_function("validate", |b| b.iter(|| black_box(&parsed_n).validate()));
    g.bench_function("rsa_verify_only", |b| {
        let sig = STANDARD
            .decode(one.headers["wechatpay-signature"].as_bytes())
            .unwrap();
        let msg = message(one);
        b.iter(|| parsed.verify_sig(black_box(&msg), &sig).unwrap())
    });
    g.finish();

    if paired_wanted() {
        // A fresh cache: every request's first delivery in this measurement misses it.
        let fresh = Dispatcher::new(Receiver::with_verifier(
            verifier.clone().with_signature_cache(4096),
            ApiV3Key::from_text("0123456789abcdefghijklmnopqrstuv").unwrap(),
        ))
        .on(|d: Delivery<TransactionSuccessBasic>| async move {
            black_box(&d.resource.out_trade_no);
            Ok(())
        });
        paired(&reqs, &fresh, &parsed, &aes);
    }
}

/// Whether this run measures `path/paired`: under `cargo bench`, unless a filter leaves it out
/// (or criterion only lists, tests or profiles).
fn paired_wanted() -> bool {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |f: &str| args.iter().any(|a| a == f);
    if !flag("--bench") || flag("--list") || flag("--test") || flag("--profile-time") {
        return false;
    }
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    filters.is_empty() || filters.iter().any(|f| "path/paired".contains(f.as_str()))
}

/// The floor, a first delivery (a signature-cache miss) and a duplicate (a hit), timed in
/// alternating blocks of `BLOCK` requests, the order rotating each round; prints the median
/// time of each and the medians of the per-round ratios.
fn paired(
    reqs: &[SignedRequest],
    dispatcher: &Dispatcher,
    key: &ParsedPublicKey,
    aes: &LessSafeKey,
) {
    const ROUNDS: usize = 201;
    const BLOCK: usize = 100;
    // The duplicate is a request of its own; the others are the floor's and first deliveries'.
    let (dup, reqs) = reqs.split_first().expect("requests");
    ready(dispatcher.handle(&dup.headers, &dup.body));
    // Each cycles through every request on its own: a first delivery comes back to a request
    // only after more others than the cache holds, so it always misses.
    let (mut next_floor, mut next_first) = (0usize, 0usize);
    let mut times: [Vec<f64>; 3] = Default::default();
    let (mut first_over_floor, mut dup_over_first) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let mut t = [0f64; 3];
        for k in 0..3 {
            let which = (round + k) % 3;
            let start = Instant::now();
            for _ in 0..BLOCK {
                match which {
                    0 => {
                        next_floor = (next_floor + 1) % reqs.len();
                        black_box(floor(&reqs[next_floor], key, aes));
                    }
                    1 => {
                        next_first = (next_first + 1) % reqs.len();
                        let r = &reqs[next_first];
                        let out = ready(dispatcher.handle(&r.headers, &r.body));
                        assert_eq!(out.reply.status, 204);
                    }
                    _ => {
                        let out = ready(dispatcher.handle(&dup.headers, &dup.body));
                        assert_eq!(out.reply.status, 204);
                    }
                }
            }
            t[which] = start.elapsed().as_secs_f64() * 1e6 / BLOCK as f64;
        }
        for (all, v) in times.iter_mut().zip(t) {
            all.push(v);
        }
        first_over_floor.push(t[1] / t[0]);
        dup_over_first.push(t[2] / t[1]);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let [floor_t, first_t, dup_t] = times.map(|mut v| median(&mut v));
    eprintln!(
        "path/paired: floor {floor_t:.2} µs, first delivery {first_t:.2} µs ({:.3} × floor), duplicate {dup_t:.2} µs ({:.3} × first delivery); medians of {ROUNDS} rounds of {BLOCK} requests each",
        median(&mut first_over_floor),
        median(&mut dup_over_first),
    );
}

fn message(r: &SignedRequest) -> Vec<u8> {
    let ts = r.headers["wechatpay-timestamp"].as_bytes();
    let nonce = r.headers["wechatpay-nonce"].as_bytes();
    let mut m = Vec::with_capacity(ts.len() + nonce.len() + r.body.len() + 3);
    m.extend_from_slice(ts);
    m.push(b'\n');
    m.extend_from_slice(nonce);
    m.push(b'\n');
    m.extend_from_slice(&r.body);
    m.push(b'\n');
    m
}

/// The least a receiver must do: verify, decode, open, parse the envelope.
fn floor(r: &SignedRequest, key: &ParsedPublicKey, aes: &LessSafeKey) -> Vec<u8> {
    let sig = STANDARD
        .decode(r.headers["wechatpay-signature"].as_bytes())
        .unwrap();
    key.verify_sig(&message(r), &sig).unwrap();
    let env = Envelope::parse(&r.body).unwrap();
    let mut ct = STANDARD.decode(env.resource.ciphertext.as_bytes()).unwrap();
    let nonce = Nonce::try_assume_unique_for_key(env.resource.nonce.as_bytes()).unwrap();
    let aad = env.resource.associated_data.as_deref().unwrap_or("");
    let n = aes
        .open_in_place(nonce, Aad::from(aad.as_bytes()), &mut ct)
        .unwrap()
        .len();
    ct.truncate(n);
    ct
}

/// The signer's public key as SubjectPublicKeyInfo DER, which aws-lc-rs parses.
fn spki_der(signer: &TestSigner) -> Vec<u8> {
    let pem = signer.public_key_pem();
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(b64).unwrap()
}

criterion_group!(benches, bench);
criterion_main!(benches);
