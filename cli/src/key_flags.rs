//! The key flags `inspect` and `serve` share, and the keyring they build.

use std::path::{Path, PathBuf};

use wechatpay_notify::keys::{ApiV2Key, ApiV3Key, Keyring};
use wechatpay_notify::v2::SignTypes;

use crate::UsageError;

/// Where the keys come from.
#[derive(clap::Args, Debug, Clone)]
pub struct KeyFlags {
    /// File holding the 32-byte APIv3 key (surrounding whitespace trimmed).
    #[arg(long, value_name = "F")]
    pub api_v3_key_file: Option<PathBuf>,
    /// File holding the APIv2 key (surrounding whitespace trimmed).
    #[arg(long, value_name = "F")]
    pub api_v2_key_file: Option<PathBuf>,
    /// A WeChat Pay public key (PEM) under the Wechatpay-Serial value it answers to:
    /// a PUB_KEY_ID_… id or a certificate serial. Repeatable.
    #[arg(long = "public-key", value_name = "ID=FILE")]
    pub public_keys: Vec<String>,
    /// A platform certificate (PEM), registered under its own serial. Repeatable.
    #[arg(long = "platform-cert", value_name = "FILE")]
    pub platform_certs: Vec<PathBuf>,
    /// APIv2 sign types accepted, comma-separated: md5, hmac-sha256.
    #[arg(long, value_name = "LIST", default_value = "md5,hmac-sha256")]
    pub v2_sign_types: String,
}

fn read(path: &Path, what: &str) -> Result<String, UsageError> {
    std::fs::read_to_string(path)
        .map_err(|e| UsageError(format!("cannot read {what} {}: {e}", path.display())))
}

impl KeyFlags {
    /// The keyring from `--public-key` and `--platform-cert`.
    pub fn keyring(&self) -> Result<Keyring, UsageError> {
        let mut keyring = Keyring::new();
        for spec in &self.public_keys {
            let (id, file) = spec
                .split_once('=')
                .ok_or_else(|| UsageError(format!("--public-key {spec}: expected ID=FILE")))?;
            let pem = read(Path::new(file), "public key")?;
            keyring
                .add_public_key_pem(id.trim(), &pem)
                .map_err(|e| UsageError(format!("--public-key {id}: {e}")))?;
        }
        for file in &self.platform_certs {
            let pem = read(file, "platform certificate")?;
            keyring
                .add_platform_certificate_pem(&pem)
                .map_err(|e| UsageError(format!("--platform-cert {}: {e}", file.display())))?;
        }
        Ok(keyring)
    }

    /// The APIv3 key, required.
    pub fn api_v3_key(&self) -> Result<ApiV3Key, UsageError> {
        let path = self.api_v3_key_file.as_ref().ok_or_else(|| {
            UsageError("--api-v3-key-file is required for APIv3 notifications".to_owned())
        })?;
        let text = read(path, "APIv3 key file")?;
        ApiV3Key::from_text(&text)
            .map_err(|e| UsageError(format!("--api-v3-key-file {}: {e}", path.display())))
    }

    /// The APIv2 key, required for APIv2 notifications.
    pub fn api_v2_key(&self) -> Result<ApiV2Key, UsageError> {
        let path = self.api_v2_key_file.as_ref().ok_or_else(|| {
            UsageError("--api-v2-key-file is required for APIv2 notifications".to_owned())
        })?;
        let text = read(path, "APIv2 key file")?;
        ApiV2Key::from_text(&text)
            .map_err(|e| UsageError(format!("--api-v2-key-file {}: {e}", path.display())))
    }

    /// The APIv2 sign types `--v2-sign-types` accepts.
    pub fn v2_sign_types(&self) -> Result<SignTypes, UsageError> {
        self.v2_sign_types.parse().map_err(|_| {
            UsageError(format!(
                "--v2-sign-types: {:?}: expected a comma-separated list of md5, hmac-sha256",
                self.v2_sign_types
            ))
        })
    }

    /// Checks `--v2-sign-types`.
    pub fn check_v2_sign_types(&self) -> Result<(), UsageError> {
        self.v2_sign_types().map(|_| ())
    }
}
