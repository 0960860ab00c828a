//! bcrypt (`htpasswd -B`): `$2y$`, `$2b$`, `$2a$` with the `bcrypt` crate,
//! whose check compares in constant time.

/// Costs above this take seconds per check in V8 and block the worker.
pub const MAX_COST: u32 = 14;

#[derive(Debug, Clone)]
pub struct Bcrypt(String);

impl Bcrypt {
    pub fn parse(stored: &str) -> Result<Bcrypt, String> {
        if !["$2y$", "$2b$", "$2a$"]
            .iter()
            .any(|p| stored.starts_with(p))
        {
            return Err("unknown bcrypt variant (want $2y$, $2b$ or $2a$)".to_string());
        }
        let parts: ::bcrypt::HashParts = stored
            .parse()
            .map_err(|e| format!("invalid bcrypt hash: {e}"))?;
        let cost = parts.get_cost();
        if cost > MAX_COST {
            return Err(format!(
                "bcrypt cost {cost} is too slow for a request path (at most {MAX_COST})"
            ));
        }
        Ok(Bcrypt(stored.to_string()))
    }

    pub fn verify(&self, password: &[u8]) -> bool {
        ::bcrypt::verify(password, &self.0).unwrap_or(false)
    }
}
