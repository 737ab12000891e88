//! `wechatpay-notify inspect`: verify, decrypt, classify, parse and validate captured
//! requests, printing one result per request (JSON Lines with `--json`).

use std::io::{BufRead, Read, Write};
use std::path::PathBuf;

use serde_json::{Value, json};
use wechatpay_notify::catalogue::V2ReplyStyle;
use wechatpay_notify::reply::Reply;
use wechatpay_notify::time::FixedClock;
use wechatpay_notify::v3::{Envelope, Verifier};
use wechatpay_notify::{Receiver, Strictness};

use crate::key_flags::KeyFlags;
use crate::{EXIT_OK, EXIT_REJECTED, EXIT_USAGE, UsageError, request_file};

/// Flags of `inspect`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print one compact JSON object per request (JSON Lines).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    keys: KeyFlags,
    /// Take this Unix time as "now" for the timestamp window.
    #[arg(long, value_name = "UNIX", conflicts_with = "no_time_check")]
    now: Option<i64>,
    /// Do not check Wechatpay-Timestamp against the clock (the signature is still verified).
    #[arg(long)]
    no_time_check: bool,
    /// Reject notifications with constraint violations instead of reporting them.
    #[arg(long)]
    strict: bool,
    /// A JSON Lines file, one request object per line.
    #[arg(long, value_name = "FILE.jsonl", conflicts_with_all = ["requests", "v2"])]
    batch: Option<PathBuf>,
    /// An APIv2 XML body (`-` for standard input); repeatable. Needs --api-v2-key-file, and
    /// --api-v3-key-file for the payscore-style events.
    #[arg(long, value_name = "BODY.xml", conflicts_with = "requests")]
    v2: Vec<String>,
    /// Request files (`-` for standard input): {"headers": …, "body": "…"}.
    #[arg(value_name = "REQUEST")]
    requests: Vec<String>,
}

pub fn run(args: &Args) -> u8 {
    match run_inner(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_USAGE
        }
    }
}

fn run_inner(args: &Args) -> Result<u8, UsageError> {
    args.keys.check_v2_sign_types()?;
    if !args.v2.is_empty() {
        return run_v2(args);
    }
    let inputs = read_inputs(args)?;
    let receiver = receiver(args)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut code = EXIT_OK;
    for (label, text) in inputs {
        let result = inspect_one(&receiver, &text);
        if result["ok"] != Value::Bool(true) {
            code = EXIT_REJECTED;
        }
        let line = if args.json {
            result.to_string()
        } else {
            human(&label, &result)
        };
        if writeln!(out, "{line}").is_err() {
            return Ok(code);
        }
    }
    Ok(code)
}

fn receiver(args: &Args) -> Result<Receiver, UsageError> {
    let mut verifier = Verifier::new(args.keys.keyring()?);
    if let Some(now) = args.now {
        verifier = verifier.with_clock(FixedClock(now));
    }
    if args.no_time_check {
        verifier = verifier.without_time_check();
    }
    let strictness = if args.strict {
        Strictness::Strict
    } else {
        Strictness::Lenient
    };
    Ok(Receiver::with_verifier(verifier, args.keys.api_v3_key()?).with_strictness(strictness))
}

/// `inspect --v2`: each body through the APIv2 path.
fn run_v2(args: &Args) -> Result<u8, UsageError> {
    let receiver = v2_receiver(args)?;
    let mut bodies = Vec::new();
    for path in &args.v2 {
        let body = if path == "-" {
            let mut b = Vec::new();
            std::io::stdin()
                .read_to_end(&mut b)
                .map_err(|e| UsageError(format!("standard input: {e}")))?;
            b
        } else {
            std::fs::read(path).map_err(|e| UsageError(format!("--v2 {path}: {e}")))?
        };
        bodies.push((path.clone(), body));
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut code = EXIT_OK;
    for (label, body) in bodies {
        let result = inspect_v2(&receiver, &body);
        if result["ok"] != Value::Bool(true) {
            code = EXIT_REJECTED;
        }
        let line = if args.json {
            result.to_string()
        } else {
            human(&label, &result)
        };
        if writeln!(out, "{line}").is_err() {
            return Ok(code);
        }
    }
    Ok(code)
}

fn v2_receiver(args: &Args) -> Result<Receiver, UsageError> {
    let api_v2_key = args.keys.api_v2_key()?;
    let receiver = if args.keys.api_v3_key_file.is_some() {
        Receiver::new(args.keys.keyring()?, args.keys.api_v3_key()?).with_api_v2_key(api_v2_key)
    } else {
        Receiver::for_v2(api_v2_key)
    };
    let strictness = if args.strict {
        Strictness::Strict
    } else {
        Strictness::Lenient
    };
    Ok(receiver
        .with_v2_sign_types(args.keys.v2_sign_types()?)
        .with_strictness(strictness))
}

/// The result object of one APIv2 body: as for APIv3, with `event_type` null for the classic
/// kinds (which carry none), `trust`, and the XML reply the kind expects.
fn inspect_v2(receiver: &Receiver, body: &[u8]) -> Value {
    match receiver.receive_v2(body) {
        Ok(received) => {
            let kind = received.kind();
            let resource = serde_json::to_value(&received.notification).unwrap_or(Value::Null);
            let info = kind.map(|k| k.info());
            let style = info
                .and_then(|i| i.v2)
                .map_or(V2ReplyStyle::ReturnCode, |s| s.reply);
            let reply = Reply::v2_success(style);
            let event_type = Some(received.meta.event_type).filter(|e| !e.is_empty());
            json!({
                "ok": true,
                "id": received.meta.id,
                "event_type": event_type,
                "kind": kind.map(|k| k.id()),
                "rust_type": info.map(|i| i.rust_type),
                "trust": info.map(|i| i.trust),
                "resource": resource,
                "violations": received.violations,
                "response": { "status": reply.status, "body": reply.body },
            })
        }
        Err(e) => {
            let reply = Reply::v2_failure(e.kind(), wechatpay_notify::v2::reply_style(body));
            let mut error = json!({ "kind": e.kind().as_str(), "message": e.to_string() });
            if let Some(path) = e.path() {
                error["path"] = Value::String(path);
            }
            let mut obj = json!({
                "ok": false,
                "error": error,
                "response": { "status": reply.status, "body": reply.body },
            });
            // For orientation only: the body's ids as sent, whether or not it verified.
            if let Ok(doc) = wechatpay_notify::v2::parse_flat(body, "xml", "xml") {
                if let Some(id) = doc.non_empty("event_id") {
                    obj["id"] = Value::String(id.to_owned());
                }
                if let Some(t) = doc.non_empty("event_type") {
                    obj["event_type"] = Value::String(t.to_owned());
                }
            }
            obj
        }
    }
}

/// (label, request text) for every request given.
fn read_inputs(args: &Args) -> Result<Vec<(String, String)>, UsageError> {
    let mut inputs = Vec::new();
    if let Some(batch) = &args.batch {
        let file = std::fs::File::open(batch)
            .map_err(|e| UsageError(format!("--batch {}: {e}", batch.display())))?;
        for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|e| UsageError(format!("--batch {}: {e}", batch.display())))?;
            if !line.trim().is_empty() {
                inputs.push((format!("{}:{}", batch.display(), i + 1), line));
            }
        }
        return Ok(inputs);
    }
    if args.requests.is_empty() {
        return Err(UsageError(
            "give REQUEST files, --batch FILE.jsonl or --v2 BODY.xml".to_owned(),
        ));
    }
    for r in &args.requests {
        let text = if r == "-" {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| UsageError(format!("standard input: {e}")))?;
            s
        } else {
            std::fs::read_to_string(r).map_err(|e| UsageError(format!("{r}: {e}")))?
        };
        inputs.push((r.clone(), text));
    }
    Ok(inputs)
}

/// The result object of one request.
fn inspect_one(receiver: &Receiver, text: &str) -> Value {
    let request = match request_file::parse(text) {
        Ok(r) => r,
        Err(message) => {
            return json!({
                "ok": false,
                "error": { "kind": "invalid_request_file", "message": message },
                "response": { "status": 400, "body": r#"{"code":"FAIL","message":"malformed request"}"# },
            });
        }
    };
    match receiver.receive(&request.headers, &request.body) {
        Ok(received) => {
            let kind = received.kind();
            let resource = serde_json::to_value(&received.notification).unwrap_or(Value::Null);
            let reply = Reply::success();
            json!({
                "ok": true,
                "id": received.meta.id,
                "event_type": received.meta.event_type,
                "kind": kind.map(|k| k.id()),
                "rust_type": kind.map(|k| k.info().rust_type),
                "resource": resource,
                "violations": received.violations,
                "response": { "status": reply.status, "body": reply.body },
            })
        }
        Err(e) => {
            let reply = Reply::failure(e.kind());
            let mut error = json!({ "kind": e.kind().as_str(), "message": e.to_string() });
            if let Some(path) = e.path() {
                error["path"] = Value::String(path);
            }
            let mut obj = json!({
                "ok": false,
                "error": error,
                "response": { "status": reply.status, "body": reply.body },
            });
            // For orientation only: the envelope as sent, whether or not it verified.
            if let Ok(env) = Envelope::parse(&request.body) {
                obj["id"] = Value::String(env.id.into_owned());
                obj["event_type"] = Value::String(env.event_type.into_owned());
            }
            obj
        }
    }
}

fn human(label: &str, r: &Value) -> String {
    let status = &r["response"]["status"];
    if r["ok"] == Value::Bool(true) {
        let kind = r["kind"].as_str().unwrap_or("(unknown kind: fallback)");
        let n = r["violations"].as_array().map_or(0, Vec::len);
        let mut s = format!(
            "{label}: ok {kind} id={} reply={status}",
            r["id"].as_str().unwrap_or("")
        );
        if n > 0 {
            s.push_str(&format!(" violations={n}"));
            for v in r["violations"].as_array().into_iter().flatten() {
                s.push_str(&format!(
                    "\n  {} [{}] {}",
                    v["path"].as_str().unwrap_or(""),
                    v["rule"].as_str().unwrap_or(""),
                    v["message"].as_str().unwrap_or("")
                ));
            }
        }
        s
    } else {
        format!(
            "{label}: rejected {}: {} reply={status} {}",
            r["error"]["kind"].as_str().unwrap_or(""),
            r["error"]["message"].as_str().unwrap_or(""),
            r["response"]["body"].as_str().unwrap_or("")
        )
    }
}
