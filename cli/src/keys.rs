//! `wechatpay-notify keys gen DIR`: test key material for `serve`, `send` and `demo` — both
//! sides' keys in one folder. TEST ONLY: the WeChat Pay private key stands in for WeChat Pay's.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use wechatpay_notify::crypto::random_bytes;
use wechatpay_notify::testkit::{TestSigner, random_alphanumeric};

use crate::{EXIT_OK, EXIT_USAGE, UsageError};

/// Flags of `keys`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    /// Write fresh test keys into DIR (created if missing; existing files are not overwritten):
    /// apiv3.key, apiv2.key, storage.key, wechatpay-private-key.pem, wechatpay-public-key.pem,
    /// key-id.
    Gen {
        /// The folder.
        dir: PathBuf,
    },
}

/// The key files, once written.
pub struct TestKeys {
    /// The signer (WeChat Pay's side).
    pub signer: TestSigner,
    /// The APIv3 key text.
    pub api_v3_key: String,
    /// The APIv2 key text.
    pub api_v2_key: String,
    /// The storage key, 64 hex digits.
    pub storage_key: String,
}

impl TestKeys {
    /// Fresh keys: an RSA-2048 key under a random `PUB_KEY_ID_…` id, 32-character APIv2 and
    /// APIv3 keys, a storage key.
    pub fn generate() -> TestKeys {
        let digits: String = random_bytes::<26>()
            .iter()
            .map(|b| char::from(b'0' + b % 10))
            .collect();
        TestKeys {
            signer: TestSigner::generate(format!("PUB_KEY_ID_01{digits}")),
            api_v3_key: random_alphanumeric(32),
            api_v2_key: random_alphanumeric(32),
            storage_key: random_bytes::<32>()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
        }
    }

    /// Writes the files into `dir`, refusing to overwrite any.
    pub fn write(&self, dir: &Path) -> Result<(), UsageError> {
        let fail = |p: &Path, e: std::io::Error| UsageError(format!("{}: {e}", p.display()));
        std::fs::create_dir_all(dir).map_err(|e| fail(dir, e))?;
        for (name, text) in [
            ("apiv3.key", format!("{}\n", self.api_v3_key)),
            ("apiv2.key", format!("{}\n", self.api_v2_key)),
            ("storage.key", format!("{}\n", self.storage_key)),
            ("wechatpay-private-key.pem", self.signer.private_key_pem()),
            ("wechatpay-public-key.pem", self.signer.public_key_pem()),
            ("key-id", format!("{}\n", self.signer.key_id())),
        ] {
            let path = dir.join(name);
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .map_err(|e| fail(&path, e))?;
            f.write_all(text.as_bytes()).map_err(|e| fail(&path, e))?;
        }
        Ok(())
    }
}

pub fn run(args: &Args) -> u8 {
    let Command::Gen { dir } = &args.command;
    let keys = TestKeys::generate();
    match keys.write(dir) {
        Ok(()) => {
            let d = dir.display();
            let id = keys.signer.key_id();
            println!("wrote test keys to {d} (key id {id})");
            println!(
                "serve: --api-v3-key-file {d}/apiv3.key --api-v2-key-file {d}/apiv2.key --storage-key-file {d}/storage.key --public-key {id}={d}/wechatpay-public-key.pem"
            );
            println!(
                "send:  --private-key {d}/wechatpay-private-key.pem --key-id {id} --api-v3-key-file {d}/apiv3.key --api-v2-key-file {d}/apiv2.key"
            );
            EXIT_OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_USAGE
        }
    }
}
