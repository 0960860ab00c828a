//! JSON Web Key Sets (RFC 7517) parsed once into ready verifying keys, so a
//! request never re-parses a key.
//!
//! Usable keys: `RSA` (`n`, `e`; 2048 to 4096 bits), `EC` on `P-256` and
//! `P-384` (`x`, `y`), `OKP` `Ed25519` (`x`). A key is skipped, with a reason,
//! when it is of another type or curve, declares `use` other than `sig` or
//! `key_ops` without `verify`, has an `alg` that is unsupported or does not
//! fit its type, holds private material (`d`), or does not decode. `oct`
//! (HMAC) keys are always skipped: an HS256 secret comes only from the
//! provider's `local_hmac_secret`, never from a key set that may be public.
//! A set with no usable key is an error.

use super::alg::{Alg, KeyKind};
use base64::engine::general_purpose::URL_SAFE_NO_PAD_INDIFFERENT;
use base64::Engine;
use rsa::{BoxedUint, PublicKey as RsaPublicKey};
use serde_json::{Map, Value};

/// Largest JWKS document accepted, in bytes.
pub const MAX_JWKS_BYTES: usize = 512 * 1024;
/// Most keys read from one set; the rest are skipped.
pub const MAX_KEYS: usize = 64;
/// Smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: usize = 2048;
/// Larger RSA moduli are refused.
pub const MAX_RSA_BITS: usize = 4096;

/// A verifying key, parsed.
#[derive(Debug, Clone)]
pub enum PublicKey {
    Rsa(RsaPublicKey),
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl PublicKey {
    pub fn kind(&self) -> KeyKind {
        match self {
            PublicKey::Rsa(_) => KeyKind::Rsa,
            PublicKey::P256(_) => KeyKind::P256,
            PublicKey::P384(_) => KeyKind::P384,
            PublicKey::Ed25519(_) => KeyKind::Ed25519,
        }
    }
}

/// One usable key of a set.
#[derive(Debug, Clone)]
pub struct Jwk {
    pub kid: Option<String>,
    /// The key's own `alg`: when present, the only algorithm it verifies.
    pub alg: Option<Alg>,
    pub key: PublicKey,
}

impl Jwk {
    /// True when this key may verify a token signed with `alg`.
    pub fn allows(&self, alg: Alg) -> bool {
        self.key.kind() == alg.key_kind() && self.alg.is_none_or(|a| a == alg)
    }
}

/// A key left out of the set, for the configuration log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedKey {
    /// Position in `keys`.
    pub index: usize,
    pub kid: Option<String>,
    pub reason: String,
}

/// The usable keys of a JWKS.
#[derive(Debug, Clone, Default)]
pub struct Jwks {
    keys: Vec<Jwk>,
}

impl Jwks {
    /// Parses a JWKS document. Skipped keys come back with their reasons; an
    /// error means the document is unusable as a whole.
    pub fn parse(text: &str) -> Result<(Jwks, Vec<SkippedKey>), String> {
        if text.len() > MAX_JWKS_BYTES {
            return Err(format!("JWKS larger than {MAX_JWKS_BYTES} bytes"));
        }
        let doc: Value =
            serde_json::from_str(text).map_err(|e| format!("invalid JWKS JSON: {e}"))?;
        let Some(list) = doc.get("keys").and_then(Value::as_array) else {
            return Err("a JWKS must be a JSON object with a \"keys\" array".to_string());
        };
        let mut keys = Vec::new();
        let mut skipped = Vec::new();
        for (index, entry) in list.iter().enumerate() {
            let kid = entry.get("kid").and_then(Value::as_str).map(str::to_string);
            let result = if index >= MAX_KEYS {
                Err(format!("more than {MAX_KEYS} keys"))
            } else {
                entry
                    .as_object()
                    .ok_or_else(|| "not a JSON object".to_string())
                    .and_then(parse_key)
            };
            match result {
                Ok(jwk) => keys.push(jwk),
                Err(reason) => skipped.push(SkippedKey { index, kid, reason }),
            }
        }
        if keys.is_empty() {
            let why = skipped
                .iter()
                .map(|s| format!("keys[{}]: {}", s.index, s.reason))
                .collect::<Vec<_>>()
                .join("; ");
            return Err(if why.is_empty() {
                "the JWKS has no keys".to_string()
            } else {
                format!("the JWKS has no usable key ({why})")
            });
        }
        Ok((Jwks { keys }, skipped))
    }

    /// A set of already parsed keys (tests, and glue that merges sets).
    pub fn from_keys(keys: Vec<Jwk>) -> Jwks {
        Jwks { keys }
    }

    pub fn keys(&self) -> &[Jwk] {
        &self.keys
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

fn parse_key(obj: &Map<String, Value>) -> Result<Jwk, String> {
    let kid = match obj.get("kid") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err("\"kid\" is not a string".to_string()),
    };
    if let Some(u) = obj.get("use") {
        if u.as_str() != Some("sig") {
            return Err(format!("\"use\" is {u}, not \"sig\""));
        }
    }
    if let Some(ops) = obj.get("key_ops") {
        let verify = ops
            .as_array()
            .is_some_and(|a| a.iter().any(|o| o.as_str() == Some("verify")));
        if !verify {
            return Err("\"key_ops\" does not include \"verify\"".to_string());
        }
    }
    if ["d", "p", "q", "k"].iter().any(|f| obj.contains_key(*f)) && str_field(obj, "kty")? != "oct"
    {
        return Err("holds private key material".to_string());
    }
    let key = match str_field(obj, "kty")? {
        "RSA" => rsa_key(obj)?,
        "EC" => match str_field(obj, "crv")? {
            "P-256" => PublicKey::P256(
                p256::ecdsa::VerifyingKey::from_sec1_bytes(&ec_point(obj, 32)?)
                    .map_err(|_| "not a point on P-256".to_string())?,
            ),
            "P-384" => PublicKey::P384(
                p384::ecdsa::VerifyingKey::from_sec1_bytes(&ec_point(obj, 48)?)
                    .map_err(|_| "not a point on P-384".to_string())?,
            ),
            other => return Err(format!("unsupported EC curve {other:?}")),
        },
        "OKP" => match str_field(obj, "crv")? {
            "Ed25519" => {
                let x: [u8; 32] = b64_field(obj, "x")?
                    .try_into()
                    .map_err(|_| "\"x\" is not 32 bytes".to_string())?;
                let vk = ed25519_dalek::VerifyingKey::from_bytes(&x)
                    .map_err(|_| "not an Ed25519 public key".to_string())?;
                if vk.is_weak() {
                    return Err("a weak (small-order) Ed25519 key".to_string());
                }
                PublicKey::Ed25519(vk)
            }
            other => return Err(format!("unsupported OKP curve {other:?}")),
        },
        "oct" => {
            return Err(
                "oct (HMAC) keys are not read from a JWKS; use local_hmac_secret".to_string(),
            )
        }
        other => return Err(format!("unsupported kty {other:?}")),
    };
    let alg = match obj.get("alg") {
        None => None,
        Some(Value::String(name)) => {
            let alg = Alg::from_name(name).ok_or_else(|| format!("unsupported alg {name:?}"))?;
            if alg.key_kind() != key.kind() {
                return Err(format!("alg {name:?} does not fit the key type"));
            }
            Some(alg)
        }
        Some(_) => return Err("\"alg\" is not a string".to_string()),
    };
    Ok(Jwk { kid, alg, key })
}

fn rsa_key(obj: &Map<String, Value>) -> Result<PublicKey, String> {
    let n = unsigned(obj, "n")?;
    let e = unsigned(obj, "e")?;
    let bits = n.bit_width_vartime() as usize;
    if bits < MIN_RSA_BITS {
        return Err(format!("RSA key of {bits} bits, fewer than {MIN_RSA_BITS}"));
    }
    // Refuses moduli over 4096 bits (as rsa 0.9 did: verifying cost grows
    // with the key) and exponents outside 2..2^33.
    let key = RsaPublicKey::new_with_size_limits(n, e, MIN_RSA_BITS..=MAX_RSA_BITS)
        .map_err(|e| format!("invalid RSA key: {e}"))?;
    Ok(PublicKey::Rsa(key))
}

/// A public big-endian integer member, its precision the bytes it needs
/// (leading zero bytes, which some key sets carry, would widen every
/// operation); zero is refused.
fn unsigned(obj: &Map<String, Value>, name: &str) -> Result<BoxedUint, String> {
    let bytes = b64_field(obj, name)?;
    match bytes.iter().position(|b| *b != 0) {
        Some(first) => Ok(BoxedUint::from_be_slice_vartime(
            bytes.get(first..).unwrap_or_default(),
        )),
        None => Err(format!("{name:?} is zero")),
    }
}

/// The SEC1 uncompressed encoding of `x`, `y`, each exactly `len` bytes.
fn ec_point(obj: &Map<String, Value>, len: usize) -> Result<Vec<u8>, String> {
    let x = b64_field(obj, "x")?;
    let y = b64_field(obj, "y")?;
    if x.len() != len || y.len() != len {
        return Err(format!("\"x\" and \"y\" must be {len} bytes each"));
    }
    let mut point = Vec::with_capacity(1 + 2 * len);
    point.push(0x04);
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);
    Ok(point)
}

fn str_field<'a>(obj: &'a Map<String, Value>, name: &str) -> Result<&'a str, String> {
    match obj.get(name) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(format!("{name:?} is not a string")),
        None => Err(format!("no {name:?}")),
    }
}

/// A base64url member; padding is tolerated in key sets (some publishers add
/// it), non-canonical trailing bits are not.
fn b64_field(obj: &Map<String, Value>, name: &str) -> Result<Vec<u8>, String> {
    let text = str_field(obj, name)?;
    let bytes = URL_SAFE_NO_PAD_INDIFFERENT
        .decode(text)
        .map_err(|_| format!("{name:?} is not base64url"))?;
    if bytes.is_empty() {
        return Err(format!("{name:?} is empty"));
    }
    Ok(bytes)
}
