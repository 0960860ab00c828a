//! `{SHA}`: base64 of the SHA-1 of the password, unsalted (`htpasswd -s`).
//! Weak, but it is all Envoy's basic_auth supports, so configurations move
//! over unchanged.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha1::{Digest, Sha1};

#[derive(Debug, Clone)]
pub struct Sha1Hash([u8; 20]);

impl Sha1Hash {
    pub fn parse(b64: &str) -> Result<Sha1Hash, String> {
        let bytes = STANDARD
            .decode(b64)
            .map_err(|_| "{SHA} hash is not base64".to_string())?;
        let digest: [u8; 20] = bytes
            .try_into()
            .map_err(|_| "{SHA} hash is not 20 bytes".to_string())?;
        Ok(Sha1Hash(digest))
    }

    pub fn verify(&self, password: &[u8]) -> bool {
        let digest = Sha1::digest(password);
        crate::ct::eq(digest.as_slice(), &self.0)
    }
}
