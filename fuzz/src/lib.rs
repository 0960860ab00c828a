//! Helpers shared by the fuzz targets: readable input formats (so that seeds
//! extracted from the tests stay editable by hand) and fixed requests.
//!
//! Input formats:
//! - header lines: `name: value` per line (split at the first `:` that is not
//!   the first byte, so `:path: /x` works); lines without one are skipped;
//! - two-part inputs: the first part, a line `---`, then the second part.

use tollgate_common::testing::{request, FakeSource};
use tollgate_common::Request;

/// Splits `data` at the first line that is exactly `---`; without one, the
/// whole input is the first part and the second is empty.
pub fn two_parts(data: &[u8]) -> (&[u8], &[u8]) {
    for sep in [&b"\n---\n"[..], &b"\r\n---\r\n"[..]] {
        if let Some(i) = find(data, sep) {
            return (&data[..i], &data[i + sep.len()..]);
        }
    }
    (data, &[])
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Header lines as (name, raw value bytes).
pub fn header_lines(data: &[u8]) -> Vec<(String, Vec<u8>)> {
    data.split(|b| *b == b'\n')
        .filter_map(|line| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let colon = line.iter().skip(1).position(|b| *b == b':')? + 1;
            let name = String::from_utf8_lossy(&line[..colon]).into_owned();
            let value = &line[colon + 1..];
            let value = value.strip_prefix(b" ").unwrap_or(value);
            Some((name, value.to_vec()))
        })
        .collect()
}

/// Header lines as text (values lossily decoded, as the filters read them).
pub fn text_headers(data: &[u8]) -> Vec<(String, String)> {
    header_lines(data)
        .into_iter()
        .map(|(n, v)| (n, String::from_utf8_lossy(&v).into_owned()))
        .collect()
}

/// A fake request with these headers.
pub fn request_of(headers: &[(String, String)]) -> Request<FakeSource> {
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    request(&pairs)
}

/// Requests that configurations are evaluated against: ordinary ones and
/// hostile ones (odd paths, CR/LF in values, missing pseudo-headers).
pub fn sample_requests() -> Vec<Request<FakeSource>> {
    let sets: &[&[(&str, &str)]] = &[
        &[
            (":method", "GET"),
            (":path", "/api/v1/items?id=7"),
            (":authority", "api.example.com:443"),
            ("x-user", "alice"),
            ("x-api-key", "demo-key-1"),
            ("authorization", "Basic YWxpY2U6c2VjcmV0"),
            ("x-tollgate-identity", "alice"),
        ],
        &[
            (":method", "post"),
            (":path", "/admin/..;/%2e%2e/%2Fsecret//x/"),
            (":authority", "ADMIN.example.com."),
            ("x-user", "a\r\nx-injected: 1"),
            ("cookie", "jwt=abc; session=1"),
        ],
        &[(":path", "*"), ("x-forwarded-for", "10.0.0.1, 10.0.0.2")],
        &[],
    ];
    let mut out: Vec<Request<FakeSource>> = sets.iter().map(|s| request(s)).collect();
    out.push(
        FakeSource::new(&[(":method", "GET"), (":path", "/")])
            .client(None)
            .request(),
    );
    out
}
