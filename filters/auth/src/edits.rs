//! Changes to the request headers that an allowed request carries upstream,
//! applied in order by the glue.

use tollgate_common::header::HeaderTarget;
use tollgate_common::request::{Request, RequestSource};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Remove(String),
    Set(String, String),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Edits(pub Vec<Op>);

impl Edits {
    pub fn remove(&mut self, name: &str) {
        self.0.push(Op::Remove(name.to_string()));
    }

    pub fn set(&mut self, name: &str, value: &str) {
        self.0.push(Op::Set(name.to_string(), value.to_string()));
    }

    /// The header's value after the edits so far.
    pub fn current<S: RequestSource>(&self, name: &str, req: &Request<S>) -> Option<String> {
        for op in self.0.iter().rev() {
            match op {
                Op::Remove(n) if n == name => return None,
                Op::Set(n, v) if n == name => return Some(v.clone()),
                _ => {}
            }
        }
        req.header(name)
    }

    /// The value the edits set for `name`, if they set one (tests, glue).
    pub fn value(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find_map(|op| match op {
                Op::Set(n, v) if n == name => Some(v.as_str()),
                Op::Remove(n) if n == name => Some(""),
                _ => None,
            })
            .filter(|v| !v.is_empty())
    }

    pub fn apply(&self, target: &mut impl HeaderTarget) {
        for op in &self.0 {
            match op {
                Op::Remove(n) => target.remove(n),
                Op::Set(n, v) => target.set(n, v),
            }
        }
    }
}
