//! Query-parameter and cookie handling for API key sources.

/// Percent-decoding of a query component (`+` is kept: keys do not contain
/// spaces); an invalid escape or non-UTF-8 result leaves the text as is.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (b, hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

/// `path` without every `name=...` query parameter; `None` when it has none.
pub fn strip_query_param(path: &str, name: &str) -> Option<String> {
    let (base, query) = path.split_once('?')?;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| percent_decode(pair.split_once('=').map_or(*pair, |(n, _)| n)) != name)
        .collect();
    if kept.len() == query.split('&').count() {
        return None;
    }
    let kept = kept.join("&");
    Some(if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{kept}")
    })
}

/// The cookie header without the named cookie; `None` when it has none.
pub fn strip_cookie(header: &str, name: &str) -> Option<String> {
    let all: Vec<&str> = header
        .split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    let kept: Vec<&str> = all
        .iter()
        .copied()
        .filter(|p| p.split_once('=').map_or(*p, |(n, _)| n).trim() != name)
        .collect();
    (kept.len() != all.len()).then(|| kept.join("; "))
}
