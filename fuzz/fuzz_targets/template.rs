//! Header value templates: the first line is the template, the rest request
//! header lines; parsed, then expanded against that request.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tollgate_common::template::Template;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (source, rest) = text.split_once('\n').unwrap_or((text, ""));
    let Ok(t) = Template::parse(source) else {
        return;
    };
    let req = tollgate_fuzz::request_of(&tollgate_fuzz::text_headers(rest.as_bytes()));
    let out = t.expand(&req);
    if let Some(s) = t.as_static() {
        assert_eq!(s, out, "a static template expands to itself");
    }
    let _ = t.source();
});
