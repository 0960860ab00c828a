//! Compact JWS decoding (RFC 7515 section 7.1), strictly: exactly three parts
//! of canonical unpadded base64url, a JSON object header without duplicated
//! keys, a supported `alg` (never `none`), no `crit`. Header parameters that
//! point at keys (`jku`, `jwk`, `x5u`, `x5c`) are ignored: keys come only from
//! the provider's configuration.

use super::alg::Alg;
use super::error::{JwtError, Reason};
use super::strict_json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};

/// Longest token accepted, in bytes: far above real access tokens (a few
/// KB even with many group claims), low enough that a megabyte of header
/// costs nothing but this comparison.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// The JOSE header fields this filter uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub alg: Alg,
    pub kid: Option<String>,
    pub typ: Option<String>,
}

/// A decoded token whose signature is not yet checked.
#[derive(Debug, Clone)]
pub struct Token<'a> {
    pub header: Header,
    /// `header.payload` exactly as sent: the bytes the signature covers.
    pub signing_input: &'a str,
    /// The payload part as sent (base64url of the claims JSON), for
    /// `forward_payload_header`.
    pub payload_segment: &'a str,
    pub signature: Vec<u8>,
    payload: Vec<u8>,
}

/// Decodes a token's structure and header. Claims are parsed only after the
/// signature holds ([`Token::claims`]).
pub fn decode(token: &str) -> Result<Token<'_>, JwtError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(JwtError::new(Reason::TooLarge, "token too large"));
    }
    let mut parts = token.split('.');
    let (Some(head), Some(payload_segment), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::malformed("not three dot-separated parts"));
    };
    let header = parse_header(&b64(head, "header is not base64url")?)?;
    let payload = b64(payload_segment, "payload is not base64url")?;
    if sig.is_empty() {
        return Err(JwtError::malformed("no signature"));
    }
    let signature = b64(sig, "signature is not base64url")?;
    // head + "." + payload: a prefix of the token, so no copy.
    let signing_input = token
        .get(..head.len() + 1 + payload_segment.len())
        .ok_or(JwtError::malformed("not three dot-separated parts"))?;
    Ok(Token {
        header,
        signing_input,
        payload_segment,
        signature,
        payload,
    })
}

impl Token<'_> {
    /// The claims: a JSON object without duplicated keys.
    pub fn claims(&self) -> Result<Map<String, Value>, JwtError> {
        strict_json::parse_object(&self.payload).map_err(|why| {
            JwtError::malformed(if why == strict_json::DUPLICATE {
                "duplicated key in claims"
            } else {
                "claims are not a JSON object"
            })
        })
    }
}

fn b64(part: &str, detail: &'static str) -> Result<Vec<u8>, JwtError> {
    if part.is_empty() {
        return Err(JwtError::malformed(detail));
    }
    // No padding, URL-safe alphabet only, unused trailing bits zero: one
    // spelling per value, so a token cannot be re-encoded into another string
    // with the same meaning.
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JwtError::malformed(detail))
}

fn parse_header(bytes: &[u8]) -> Result<Header, JwtError> {
    let map = strict_json::parse_object(bytes).map_err(|why| {
        JwtError::malformed(if why == strict_json::DUPLICATE {
            "duplicated key in header"
        } else {
            "header is not a JSON object"
        })
    })?;
    let alg = match map.get("alg") {
        Some(Value::String(name)) => Alg::from_name(name).ok_or(JwtError::new(
            Reason::AlgNotAllowed,
            "alg is none or unsupported",
        ))?,
        Some(_) => return Err(JwtError::malformed("alg is not a string")),
        None => return Err(JwtError::malformed("no alg in header")),
    };
    if map.contains_key("crit") {
        // RFC 7515 4.1.11: extensions the recipient does not understand make
        // the token invalid; this filter understands none.
        return Err(JwtError::malformed("crit header parameter"));
    }
    Ok(Header {
        alg,
        kid: optional_string(&map, "kid", "kid is not a string")?,
        typ: optional_string(&map, "typ", "typ is not a string")?,
    })
}

fn optional_string(
    map: &Map<String, Value>,
    name: &str,
    detail: &'static str,
) -> Result<Option<String>, JwtError> {
    match map.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(JwtError::malformed(detail)),
    }
}
