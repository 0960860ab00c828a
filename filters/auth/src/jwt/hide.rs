//! Removing a verified JWT from the request (`forward: false`), wherever it
//! was found: the header, the query parameter (`:path` is rewritten) or the
//! cookie.

use crate::api_key::query::{strip_cookie, strip_query_param};
use crate::edits::Edits;
use crate::jwt::Location;
use tollgate_common::request::{Request, RequestSource};

pub fn token<S: RequestSource>(location: &Location, req: &Request<S>, edits: &mut Edits) {
    match location {
        Location::Header { name, .. } => edits.remove(name),
        Location::Param(name) => {
            let path = edits.current(":path", req);
            if let Some(p) = path.and_then(|p| strip_query_param(&p, name)) {
                edits.set(":path", &p);
            }
        }
        Location::Cookie(name) => match edits
            .current("cookie", req)
            .and_then(|v| strip_cookie(&v, name))
        {
            Some(v) if v.is_empty() => edits.remove("cookie"),
            Some(v) => edits.set("cookie", &v),
            None => {}
        },
    }
}
