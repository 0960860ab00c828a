//! The headers filter's configuration (Envoy's header mutation vocabulary):
//!
//! ```json
//! {
//!   "request_headers_to_add": [HeaderValueOption, ...],
//!   "request_headers_to_remove": ["name", ...],
//!   "response_headers_to_add": [...],
//!   "response_headers_to_remove": [...],
//!   "mutations": {"request_mutations": [HeaderMutation, ...],
//!                 "response_mutations": [...]},
//!   "rules": [{"match": RequestMatch, "request_headers_to_add": [...], ...,
//!              "mutations": {...}}],
//!   "ambiguous_path_action": "REJECT_REQUEST"
//! }
//! ```
//!
//! `mutations` is Envoy's header_mutation filter's form: each
//! `HeaderMutation` is `{"append": HeaderValueOption}`, `{"remove": name}` or
//! `{"remove_on_match": {"key_matcher": StringMatcher}}`, applied in order.
//! Request mutations run before the `*_headers_to_add` family, response
//! mutations after it, as Envoy orders a header_mutation filter and the
//! route's lists (see [`crate::mutation`]).
//!
//! Every field is optional and unknown fields are errors.

use serde::Deserialize;
use std::rc::Rc;
use tollgate_common::header::{HeaderValueOption, MutableHeaderName};
use tollgate_common::matcher::{RequestMatch, StringMatcher};
use tollgate_common::path::AmbiguousPathAction;
use tollgate_common::ConfigError;

/// The four mutation lists, at the top level and in each rule.
#[derive(Debug, Clone, Default)]
pub struct Mutations {
    pub request_headers_to_add: Vec<HeaderValueOption>,
    pub request_headers_to_remove: Vec<MutableHeaderName>,
    pub response_headers_to_add: Vec<HeaderValueOption>,
    pub response_headers_to_remove: Vec<MutableHeaderName>,
    /// header_mutation's `mutations.request_mutations`, in order.
    pub request_mutations: Vec<HeaderMutation>,
    /// header_mutation's `mutations.response_mutations`, in order.
    pub response_mutations: Vec<HeaderMutation>,
}

impl Mutations {
    pub fn is_empty(&self) -> bool {
        self.request_headers_to_add.is_empty()
            && self.request_headers_to_remove.is_empty()
            && self.response_headers_to_add.is_empty()
            && self.response_headers_to_remove.is_empty()
            && self.request_mutations.is_empty()
            && self.response_mutations.is_empty()
    }

    /// True when these mutations touch response headers.
    pub fn has_response(&self) -> bool {
        !self.response_headers_to_add.is_empty()
            || !self.response_headers_to_remove.is_empty()
            || !self.response_mutations.is_empty()
    }
}

/// Envoy's `config.common.mutation_rules.v3.HeaderMutation`: one action.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawHeaderMutation")]
pub enum HeaderMutation {
    /// Adds the header as the option says (`append_action`).
    Append(HeaderValueOption),
    /// Removes the header if present.
    Remove(MutableHeaderName),
    /// Removes every header whose name matches, except pseudo-headers and
    /// `host`, which no Tollgate filter modifies.
    RemoveOnMatch(Rc<StringMatcher>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeaderMutation {
    append: Option<HeaderValueOption>,
    remove: Option<MutableHeaderName>,
    remove_on_match: Option<RemoveOnMatch>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RemoveOnMatch {
    key_matcher: StringMatcher,
}

impl TryFrom<RawHeaderMutation> for HeaderMutation {
    type Error = &'static str;
    fn try_from(r: RawHeaderMutation) -> Result<Self, Self::Error> {
        match (r.append, r.remove, r.remove_on_match) {
            (Some(a), None, None) => Ok(HeaderMutation::Append(a)),
            (None, Some(n), None) => Ok(HeaderMutation::Remove(n)),
            (None, None, Some(m)) => Ok(HeaderMutation::RemoveOnMatch(Rc::new(m.key_matcher))),
            _ => Err("a header mutation has exactly one of append, remove, remove_on_match"),
        }
    }
}

/// header_mutation's `Mutations` (the request and response lists; query
/// parameter and trailer mutations are not supported).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct EnvoyMutations {
    #[serde(default)]
    request_mutations: Vec<HeaderMutation>,
    #[serde(default)]
    response_mutations: Vec<HeaderMutation>,
}

/// A conditional set of mutations.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(from = "RawRule")]
pub struct Rule {
    /// The rule's `match`; absent means every request.
    pub matcher: RequestMatch,
    pub mutations: Mutations,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(from = "RawConfig")]
pub struct Config {
    /// Applied to every request, before any rule.
    pub mutations: Mutations,
    /// Applied in order, each when its match holds.
    pub rules: Vec<Rule>,
    /// What a request with an ambiguous path gets when a rule has a `path`
    /// condition.
    pub ambiguous_path_action: AmbiguousPathAction,
}

impl Config {
    /// True when some rule has a `path` condition.
    pub fn has_path_rules(&self) -> bool {
        self.rules.iter().any(|r| r.matcher.has_path_condition())
    }

    /// True when the filter can touch response headers at all, so the glue
    /// can skip response work when it cannot.
    pub fn has_response(&self) -> bool {
        self.mutations.has_response() || self.rules.iter().any(|r| r.mutations.has_response())
    }
}

/// Parses the plugin configuration; empty configuration is `{}`.
pub fn parse(bytes: &[u8]) -> Result<Config, ConfigError> {
    tollgate_common::config::parse(bytes)
}

// serde's `flatten` ignores `deny_unknown_fields`, so the four lists are
// written out in each raw struct and moved into `Mutations` afterwards (field
// paths in errors stay `rules[0].request_headers_to_add[1]...`).

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    request_headers_to_add: Vec<HeaderValueOption>,
    #[serde(default)]
    request_headers_to_remove: Vec<MutableHeaderName>,
    #[serde(default)]
    response_headers_to_add: Vec<HeaderValueOption>,
    #[serde(default)]
    response_headers_to_remove: Vec<MutableHeaderName>,
    #[serde(default)]
    mutations: EnvoyMutations,
    #[serde(default)]
    rules: Vec<Rule>,
    #[serde(default)]
    ambiguous_path_action: AmbiguousPathAction,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    #[serde(default, rename = "match")]
    matcher: RequestMatch,
    #[serde(default)]
    request_headers_to_add: Vec<HeaderValueOption>,
    #[serde(default)]
    request_headers_to_remove: Vec<MutableHeaderName>,
    #[serde(default)]
    response_headers_to_add: Vec<HeaderValueOption>,
    #[serde(default)]
    response_headers_to_remove: Vec<MutableHeaderName>,
    #[serde(default)]
    mutations: EnvoyMutations,
}

impl From<RawConfig> for Config {
    fn from(r: RawConfig) -> Self {
        Config {
            mutations: Mutations {
                request_headers_to_add: r.request_headers_to_add,
                request_headers_to_remove: r.request_headers_to_remove,
                response_headers_to_add: r.response_headers_to_add,
                response_headers_to_remove: r.response_headers_to_remove,
                request_mutations: r.mutations.request_mutations,
                response_mutations: r.mutations.response_mutations,
            },
            rules: r.rules,
            ambiguous_path_action: r.ambiguous_path_action,
        }
    }
}

impl From<RawRule> for Rule {
    fn from(r: RawRule) -> Self {
        Rule {
            matcher: r.matcher,
            mutations: Mutations {
                request_headers_to_add: r.request_headers_to_add,
                request_headers_to_remove: r.request_headers_to_remove,
                response_headers_to_add: r.response_headers_to_add,
                response_headers_to_remove: r.response_headers_to_remove,
                request_mutations: r.mutations.request_mutations,
                response_mutations: r.mutations.response_mutations,
            },
        }
    }
}

#[cfg(test)]
mod tests;
