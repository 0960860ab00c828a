//! The `tollgate` module's configuration: one JSON object with a member per
//! filter, each holding exactly what that filter's own module takes, e.g.
//! `{"auth": {...}, "ratelimit": {...}, "headers": {...}}`. A member left
//! out (or `null`) leaves its filter out.

use serde::Deserialize;
use serde_json::Value;
use tollgate_common::config::ROOT_FIELD;
use tollgate_common::ConfigError;

/// Each filter's own configuration, as JSON bytes.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Parts {
    pub auth: Option<Vec<u8>>,
    pub ratelimit: Option<Vec<u8>>,
    pub headers: Option<Vec<u8>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    auth: Option<Value>,
    ratelimit: Option<Value>,
    headers: Option<Value>,
}

/// Splits the configuration into the filters' own. The filters check their
/// parts (and name the field) when they load them.
pub fn parse(bytes: &[u8]) -> Result<Parts, ConfigError> {
    let raw: Raw = tollgate_common::config::parse(bytes)?;
    let part = |v: Option<Value>| v.map(|v| v.to_string().into_bytes());
    let parts = Parts {
        auth: part(raw.auth),
        ratelimit: part(raw.ratelimit),
        headers: part(raw.headers),
    };
    if parts == Parts::default() {
        return Err(ConfigError::new(
            ROOT_FIELD,
            "names no filter: expected at least one of `auth`, `ratelimit`, `headers`",
        ));
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_members_as_json() {
        let p = parse(br#"{"headers": {"request_headers_to_add": []}, "ratelimit": null}"#);
        assert_eq!(
            p,
            Ok(Parts {
                headers: Some(br#"{"request_headers_to_add":[]}"#.to_vec()),
                ..Parts::default()
            })
        );
    }

    #[test]
    fn unknown_member_is_named() {
        let e = parse(br#"{"auth": {}, "jwt": {}}"#).err();
        assert_eq!(e.map(|e| e.field), Some("jwt".to_string()));
    }

    #[test]
    fn no_filter_is_an_error() {
        for text in ["", "{}", r#"{"auth": null}"#] {
            let e = parse(text.as_bytes()).err();
            assert_eq!(e.map(|e| e.field), Some(ROOT_FIELD.to_string()), "{text}");
        }
    }

    #[test]
    fn not_an_object_is_an_error() {
        assert!(parse(b"[1]").is_err());
        assert!(parse(b"{\"auth\": {}").is_err());
    }
}
