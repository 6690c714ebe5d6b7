//! Configuration: the TOML file format (`file`), its validation (`validate`) and the validated
//! model (`model`) the rest of the gateway uses.

mod defaults;
pub mod file;
pub mod model;
mod validate;
mod validate_audit;
mod validate_auth;
mod validate_branding;
pub use validate_branding::{contrast, luminance, MIN_CONTRAST};
mod validate_logout;
mod validate_member_hash;
mod validate_passkeys;
mod validate_policy;
mod validate_sso;
mod validate_store;

use std::fmt;
use std::path::Path;

pub use file::FileConfig;
pub use model::*;

/// One configuration problem, named by its key path (e.g. `environments[1].upstream`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Every problem found in one config, reported together.
#[derive(Debug, Clone)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl ConfigErrors {
    fn single(key: &str, message: impl Into<String>) -> Self {
        Self(vec![ConfigError {
            key: key.into(),
            message: message.into(),
        }])
    }
}

impl FileConfig {
    /// Parses the TOML text; shape errors (unknown keys, wrong types) name the exact key path
    /// serde was at (`environments[1].login.routes[0].format`) and the line.
    pub fn parse(text: &str) -> Result<Self, ConfigErrors> {
        let located = |e: &toml::de::Error| {
            e.span()
                .map(|s| format!(" (at line {})", text[..s.start].lines().count().max(1)))
                .unwrap_or_default()
        };
        let de = toml::Deserializer::parse(text).map_err(|e| {
            ConfigErrors::single("config", format!("{}{}", e.message(), located(&e)))
        })?;
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let key = if path == "." {
                "config".to_string()
            } else {
                path
            };
            let inner = e.inner();
            ConfigErrors::single(&key, format!("{}{}", inner.message(), located(inner)))
        })
    }
}

impl Config {
    /// Parses and validates TOML text; relative paths resolve against `base_dir`.
    pub fn from_toml(text: &str, base_dir: &Path) -> Result<Self, ConfigErrors> {
        Self::from_file_config(FileConfig::parse(text)?, base_dir)
    }

    pub fn from_file_config(file: FileConfig, base_dir: &Path) -> Result<Self, ConfigErrors> {
        validate::validate(file, base_dir)
    }

    /// Loads a config file; paths inside it are relative to its folder.
    pub fn load(path: &Path) -> Result<Self, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors::single("config", format!("cannot read {}: {e}", path.display()))
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::from_toml(&text, base)
    }
}
