//! The JWS algorithms this filter verifies (RFC 7518, RFC 8037).

/// A supported `alg`. `none`, `HS384`/`HS512`, `ES512`, `ES256K` and the
/// rest are refused as `alg_not_allowed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alg {
    Rs256,
    Rs384,
    Rs512,
    Ps256,
    Ps384,
    Ps512,
    Es256,
    Es384,
    EdDsa,
    /// Only with the provider's `local_hmac_secret`, never with a JWKS key.
    Hs256,
}

/// The kind of key an algorithm needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Rsa,
    P256,
    P384,
    Ed25519,
    Hmac,
}

impl Alg {
    pub const ALL: [Alg; 10] = [
        Alg::Rs256,
        Alg::Rs384,
        Alg::Rs512,
        Alg::Ps256,
        Alg::Ps384,
        Alg::Ps512,
        Alg::Es256,
        Alg::Es384,
        Alg::EdDsa,
        Alg::Hs256,
    ];

    /// The algorithm named exactly (case-sensitive, as RFC 7515 says).
    pub fn from_name(name: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|a| a.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Rs384 => "RS384",
            Alg::Rs512 => "RS512",
            Alg::Ps256 => "PS256",
            Alg::Ps384 => "PS384",
            Alg::Ps512 => "PS512",
            Alg::Es256 => "ES256",
            Alg::Es384 => "ES384",
            Alg::EdDsa => "EdDSA",
            Alg::Hs256 => "HS256",
        }
    }

    pub fn key_kind(self) -> KeyKind {
        match self {
            Alg::Rs256 | Alg::Rs384 | Alg::Rs512 | Alg::Ps256 | Alg::Ps384 | Alg::Ps512 => {
                KeyKind::Rsa
            }
            Alg::Es256 => KeyKind::P256,
            Alg::Es384 => KeyKind::P384,
            Alg::EdDsa => KeyKind::Ed25519,
            Alg::Hs256 => KeyKind::Hmac,
        }
    }
}

#[cfg(test)]
mod tests;
