//! Where a provider's keys come from: `local_jwks` and `local_hmac_secret`
//! (Envoy's DataSource shape) and `remote_jwks` (Envoy's RemoteJwks with an
//! HttpUri). Parsed and checked while deserializing.

use super::jwks::{Jwks, SkippedKey};
use super::provider::{DEFAULT_CACHE_DURATION, MIN_HMAC_SECRET_BYTES};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Deserialize;
use std::fmt;
use std::time::Duration;
use tollgate_common::config::NonEmpty;
use tollgate_common::duration::Duration as ConfigDuration;

/// `local_jwks`: Envoy's DataSource with `inline_string` (or `inline_bytes`,
/// base64 as in proto3 JSON), or `environment_variable` (Tollgate's `env`
/// too), read from the VM's environment (`vm_config.environment_variables`).
/// `filename` cannot be read by a wasm filter and is refused.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "DataSource")]
pub struct LocalJwks {
    pub jwks: Jwks,
    pub skipped: Vec<SkippedKey>,
}

impl TryFrom<DataSource> for LocalJwks {
    type Error = String;
    fn try_from(d: DataSource) -> Result<Self, String> {
        let text = String::from_utf8(d.bytes()?).map_err(|_| "the JWKS is not UTF-8")?;
        let (jwks, skipped) = Jwks::parse(&text)?;
        Ok(LocalJwks { jwks, skipped })
    }
}

/// The HS256 secret (the bytes of `inline_string`, or `inline_bytes`
/// decoded). Never printed.
#[derive(Clone, Deserialize)]
#[serde(try_from = "DataSource")]
pub struct HmacSecret(pub(crate) Vec<u8>);

impl fmt::Debug for HmacSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HmacSecret(..)")
    }
}

impl TryFrom<DataSource> for HmacSecret {
    type Error = String;
    fn try_from(d: DataSource) -> Result<Self, String> {
        let bytes = d.bytes()?;
        if bytes.len() < MIN_HMAC_SECRET_BYTES {
            return Err(format!(
                "an HS256 secret needs at least {MIN_HMAC_SECRET_BYTES} bytes"
            ));
        }
        Ok(HmacSecret(bytes))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DataSource {
    inline_string: Option<String>,
    inline_bytes: Option<String>,
    filename: Option<String>,
    environment_variable: Option<String>,
    env: Option<String>,
}

impl DataSource {
    fn bytes(self) -> Result<Vec<u8>, String> {
        // Envoy's DataSource names it environment_variable; Tollgate's other
        // secrets say env. One variable, either spelling.
        let env = match (self.environment_variable, self.env) {
            (Some(_), Some(_)) => return Err("give one of environment_variable and env".into()),
            (a, b) => a.or(b),
        };
        match (self.inline_string, self.inline_bytes, self.filename, env) {
            (Some(s), None, None, None) => Ok(s.into_bytes()),
            (None, Some(b), None, None) => STANDARD
                .decode(b)
                .map_err(|_| "inline_bytes is not base64".to_string()),
            (None, None, None, Some(name)) => {
                tollgate_common::secret::read_env(&name).map(String::into_bytes)
            }
            (None, None, None, None) => {
                Err("needs inline_string, inline_bytes or environment_variable".to_string())
            }
            (None, None, Some(_), None) => Err(
                "filename cannot be read by a wasm filter: use inline_string \
                     or environment_variable"
                    .to_string(),
            ),
            _ => Err("give exactly one of inline_string, inline_bytes and \
                      environment_variable"
                .to_string()),
        }
    }
}

/// `remote_jwks`: where the glue fetches the key set.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawRemoteJwks")]
pub struct RemoteJwks {
    pub uri: String,
    /// `:authority` for the fetch (the URI's host and port).
    pub authority: String,
    /// `:path` for the fetch (path and query, `/` when empty).
    pub path: String,
    pub cluster: String,
    pub timeout: Duration,
    pub cache_duration: Duration,
    /// Its shared-data keys ([`crate::jwt::jwks_store::key`] and `lease_key`),
    /// computed once here rather than on every request that reads the set.
    pub store_key: String,
    pub lease_key: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRemoteJwks {
    http_uri: HttpUri,
    cache_duration: Option<ConfigDuration>,
}

/// Envoy's `config.core.v3.HttpUri`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpUri {
    uri: String,
    cluster: NonEmpty,
    timeout: ConfigDuration,
}

impl TryFrom<RawRemoteJwks> for RemoteJwks {
    type Error = String;
    fn try_from(r: RawRemoteJwks) -> Result<Self, String> {
        let uri = r.http_uri.uri;
        let rest = uri
            .strip_prefix("https://")
            .or_else(|| uri.strip_prefix("http://"))
            .ok_or_else(|| format!("http_uri.uri {uri:?} must start with http:// or https://"))?;
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        if authority.is_empty() || !tollgate_common::syntax::safe_value(&uri) || uri.contains(' ') {
            return Err(format!("http_uri.uri {uri:?} is not a valid URI"));
        }
        let path = match path {
            "" => "/".to_string(),
            p if p.starts_with('?') => format!("/{p}"),
            p => p.to_string(),
        };
        let cluster = r.http_uri.cluster.0;
        Ok(RemoteJwks {
            authority: authority.to_string(),
            path,
            store_key: crate::jwt::jwks_store::key(&cluster, &uri),
            lease_key: crate::jwt::jwks_store::lease_key(&cluster, &uri),
            cluster,
            timeout: r.http_uri.timeout.as_std(),
            cache_duration: r
                .cache_duration
                .map_or(DEFAULT_CACHE_DURATION, ConfigDuration::as_std),
            uri,
        })
    }
}
