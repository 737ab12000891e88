//! `wechatpay-notify`: serve, inspect, replay and list WeChat Pay notifications; simulate WeChat
//! Pay (`send`, `keys`, `demo`).

mod catalog;
mod demo;
mod examples;
mod inspect;
mod key_flags;
mod keys;
mod ledger_url;
mod logging;
mod metrics;
mod replay;
mod request_file;
mod send;
mod serve;
mod service_flags;
mod sink;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit code: every request was accepted.
pub const EXIT_OK: u8 = 0;
/// Exit code: at least one request was rejected.
pub const EXIT_REJECTED: u8 = 1;
/// Exit code: usage or configuration error.
pub const EXIT_USAGE: u8 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "wechatpay-notify",
    version,
    about = "Receive WeChat Pay notifications: verified, decrypted, typed, validated"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Verify, decrypt, classify, parse and validate captured requests, and show the reply.
    Inspect(Box<inspect::Args>),
    /// List every notification kind in the catalogue.
    Catalog(catalog::Args),
    /// Receive notifications over HTTP: verified, recorded in the ledger, processed once.
    Serve(Box<serve::Args>),
    /// Run stored notifications again (quarantined, failed) through the exactly-once path.
    Replay(Box<replay::Args>),
    /// Play WeChat Pay: make a notification of a kind and deliver it with retries.
    Send(Box<send::Args>),
    /// Test key material for serve, send and demo.
    Keys(keys::Args),
    /// The whole story on loopback: keys, serve, every kind delivered, a table and a verdict.
    Demo(demo::Args),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let code = match cli.command {
        Command::Inspect(args) => inspect::run(&args),
        Command::Catalog(args) => catalog::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Replay(args) => replay::run(&args),
        Command::Send(args) => send::run(&args),
        Command::Keys(args) => keys::run(&args),
        Command::Demo(args) => demo::run(&args),
    };
    ExitCode::from(code)
}

/// Runs an async command on a multi-threaded runtime: its exit code, or 2 with the message of
/// a usage or configuration error (or of a runtime that cannot start).
fn block_on(command: impl std::future::Future<Output = Result<u8, UsageError>>) -> u8 {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return EXIT_USAGE;
        }
    };
    runtime.block_on(command).unwrap_or_else(|e| {
        eprintln!("error: {e}");
        EXIT_USAGE
    })
}

/// A configuration or usage problem: printed on stderr, exit code 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
