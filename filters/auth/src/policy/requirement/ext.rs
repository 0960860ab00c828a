//! The `ext_authz` leaf's part of evaluation: its settable outcome, and the
//! method results carried across the pause while the service answers.

use super::{Check, Evaluator, Outcome, Requirement};
use tollgate_common::request::RequestSource;

/// The per-method results of one evaluation, owned, so that a request
/// paused for the authorization service is not checked twice (a wrong
/// password counts once toward the lockout).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checked {
    api_key: Option<Option<Result<String, ()>>>,
    basic: Option<Check>,
}

impl<S: RequestSource> Evaluator<'_, S> {
    /// Seeds the method results of an earlier evaluation.
    pub fn with_checked(self, checked: Checked) -> Self {
        if let Some(a) = checked.api_key {
            let _ = self.api_key.set(a);
        }
        if let Some(b) = checked.basic {
            let _ = self.basic.set(b);
        }
        self
    }

    /// The method results so far, to carry across a pause.
    pub fn checked(&self) -> Checked {
        Checked {
            api_key: self.api_key.get().cloned(),
            basic: self.basic.get().cloned(),
        }
    }

    /// Sets what the `ext_authz` leaf yields.
    pub fn set_ext_authz(&self, outcome: Outcome) {
        *self.ext_authz.borrow_mut() = Some(outcome);
    }
}

/// Whether a requirement names the `ext_authz` leaf.
pub fn uses_ext_authz(r: &Requirement) -> bool {
    match r {
        Requirement::ExtAuthz => true,
        Requirement::Any(c) | Requirement::All(c) => c.iter().any(uses_ext_authz),
        _ => false,
    }
}
