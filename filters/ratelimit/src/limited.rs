//! Envoy's local_ratelimit `response_headers_to_add`: headers added to the
//! answer of a request the filter refused (Envoy adds them to rate-limited
//! responses only). The answer is a fresh local reply, so the append
//! actions differ only for headers the reply already has (`content-type`,
//! `retry-after`, the `x-ratelimit-*`).

use tollgate_common::header::{AppendAction, HeaderValueOption};
use tollgate_common::reply::LocalReply;
use tollgate_common::request::{Request, RequestSource};

pub fn add_headers<S: RequestSource>(
    mut reply: LocalReply,
    options: &[HeaderValueOption],
    req: &Request<S>,
) -> LocalReply {
    for o in options {
        let name = o.header.key.as_str();
        let value = o.header.value.expand(req);
        if value.is_empty() && !o.keep_empty_value {
            continue;
        }
        let present = !reply.headers.all(name).is_empty();
        match o.append_action {
            AppendAction::AppendIfExistsOrAdd => {}
            AppendAction::AddIfAbsent if present => continue,
            AppendAction::AddIfAbsent => {}
            AppendAction::OverwriteIfExists if !present => continue,
            AppendAction::OverwriteIfExists | AppendAction::OverwriteIfExistsOrAdd => {
                reply.headers.remove_all(name)
            }
        }
        reply.headers.push(name, value);
    }
    reply
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_common::testing::request;

    #[test]
    fn actions_on_the_reply_headers() {
        let options: Vec<HeaderValueOption> = serde_json::from_value(serde_json::json!([
            {"header": {"key": "x-local-rate-limit", "value": "true"}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"},
            {"header": {"key": "retry-after", "value": "9"}, "append_action": "ADD_IF_ABSENT"},
            {"header": {"key": "content-type", "value": "text/plain"}, "append_action": "OVERWRITE_IF_EXISTS"},
            {"header": {"key": "x-absent", "value": "a"}, "append_action": "OVERWRITE_IF_EXISTS"},
            {"header": {"key": "x-who", "value": "%REQ(x-user)%"}},
            {"header": {"key": "x-empty", "value": "%REQ(x-none)%"}}
        ]))
        .unwrap();
        let reply = add_headers(
            LocalReply::too_many_requests("rate limit exceeded", 2),
            &options,
            &request(&[("x-user", "alice")]),
        );
        assert_eq!(
            reply.header_pairs(),
            vec![
                ("retry-after", "2"),
                ("x-local-rate-limit", "true"),
                ("content-type", "text/plain"),
                ("x-who", "alice")
            ]
        );
    }
}
