//! `wechatpay-notify catalog [--json]`: every kind the catalogue knows.

use serde::Serialize;
use wechatpay_notify::Kind;

/// Flags of `catalog`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print a JSON array, one object per kind.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Entry {
    kind: &'static str,
    event_type: Option<&'static str>,
    variant: Option<&'static str>,
    format: &'static str,
    title: &'static str,
    rust_type: &'static str,
    schema: &'static str,
}

fn entries() -> Vec<Entry> {
    Kind::ALL
        .iter()
        .map(|k| {
            let info = k.info();
            Entry {
                kind: info.id,
                event_type: info.event_type,
                variant: info.variant,
                format: info.format.as_str(),
                title: info.title,
                rust_type: info.rust_type,
                schema: info.schema,
            }
        })
        .collect()
}

pub fn run(args: &Args) -> u8 {
    let entries = entries();
    if args.json {
        match serde_json::to_string_pretty(&entries) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("error: {e}");
                return crate::EXIT_USAGE;
            }
        }
    } else {
        let width = entries
            .iter()
            .map(|e| e.kind.chars().count())
            .max()
            .unwrap_or(4);
        for e in &entries {
            println!(
                "{:<width$}  {:<8}  {:<40}  {}",
                e.kind, e.format, e.rust_type, e.title
            );
        }
        println!("{} kinds", entries.len());
    }
    crate::EXIT_OK
}
