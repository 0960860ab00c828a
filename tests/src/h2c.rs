//! A minimal HTTP/2 client over cleartext (prior knowledge) that sends
//! `:path` byte for byte, many requests on one connection: for the path
//! suite, which sends thousands of odd paths (`tests/tests/path_guard.rs`).
//! curl's `--request-target` sends them verbatim too, but one process per
//! request (curl 7.88 fails reusing an h2c connection to Envoy: "Error in
//! the HTTP2 framing layer"), which costs tens of seconds there.
//!
//! Requests go one at a time (a stream, then the next). Header blocks are
//! sent as HPACK literals without indexing and without Huffman coding;
//! responses are decoded with the full HPACK decoder (static and dynamic
//! tables, Huffman), which is all that Envoy's encoder needs.

use crate::client::Response;
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const DATA: u8 = 0;
const HEADERS: u8 = 1;
const RST_STREAM: u8 = 3;
const SETTINGS: u8 = 4;
const PING: u8 = 6;
const GOAWAY: u8 = 7;
const CONTINUATION: u8 = 9;
const END_STREAM: u8 = 0x1;
const ACK: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY: u8 = 0x20;

/// One connection to Envoy.
pub struct H2c {
    stream: TcpStream,
    next_id: u32,
    decoder: Decoder,
    /// Envoy sent GOAWAY or closed: no more requests on this connection.
    closed: bool,
}

/// What happened to one request.
pub enum Outcome {
    Response(Response),
    /// Envoy reset the stream (RST_STREAM) or the connection (GOAWAY, EOF).
    Reset,
}

impl H2c {
    pub fn connect(port: u16) -> io::Result<H2c> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        stream.set_nodelay(true)?;
        let mut c = H2c {
            stream,
            next_id: 1,
            decoder: Decoder::default(),
            closed: false,
        };
        c.stream.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")?;
        c.frame(SETTINGS, 0, 0, &[])?;
        // A large connection window, so many small bodies never stall.
        c.frame(8, 0, 0, &0x7fff_0000u32.to_be_bytes())?;
        Ok(c)
    }

    pub fn is_closed(&self) -> bool {
        self.closed
    }

    fn frame(&mut self, kind: u8, flags: u8, id: u32, payload: &[u8]) -> io::Result<()> {
        let len = u32::try_from(payload.len()).map_err(io::Error::other)?;
        let mut f = len.to_be_bytes()[1..].to_vec();
        f.push(kind);
        f.push(flags);
        f.extend_from_slice(&(id & 0x7fff_ffff).to_be_bytes());
        f.extend_from_slice(payload);
        self.stream.write_all(&f)
    }

    fn read_frame(&mut self) -> io::Result<(u8, u8, u32, Vec<u8>)> {
        let mut head = [0u8; 9];
        self.stream.read_exact(&mut head)?;
        let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
        let id = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
        let mut payload = vec![0u8; len];
        self.stream.read_exact(&mut payload)?;
        Ok((head[3], head[4], id, payload))
    }

    /// A GET of `path` (sent as given) with `headers` besides the pseudo
    /// headers (`:authority` is `localhost`).
    pub fn get(&mut self, path: &[u8], headers: &[(String, String)]) -> io::Result<Outcome> {
        if self.closed {
            return Err(io::Error::other("connection closed"));
        }
        let id = self.next_id;
        self.next_id += 2;
        let mut block = Vec::new();
        for (n, v) in [
            (&b":method"[..], &b"GET"[..]),
            (b":scheme", b"http"),
            (b":path", path),
            (b":authority", b"localhost"),
        ] {
            literal(&mut block, n, v);
        }
        for (n, v) in headers {
            literal(&mut block, n.to_ascii_lowercase().as_bytes(), v.as_bytes());
        }
        self.frame(HEADERS, END_STREAM | END_HEADERS, id, &block)?;
        let mut status = None;
        let mut fields = Vec::new();
        let mut body = Vec::new();
        let mut pending: Option<(u32, Vec<u8>, bool)> = None;
        loop {
            let (kind, flags, sid, payload) = match self.read_frame() {
                Ok(f) => f,
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    self.closed = true;
                    return Ok(Outcome::Reset);
                }
                Err(e) => return Err(e),
            };
            match kind {
                SETTINGS if flags & ACK == 0 => self.frame(SETTINGS, ACK, 0, &[])?,
                PING if flags & ACK == 0 => self.frame(PING, ACK, 0, &payload)?,
                GOAWAY => {
                    self.closed = true;
                    // Streams up to the last one Envoy processed may still end.
                    let last = payload.get(..4).map_or(0, |b| {
                        u32::from_be_bytes([b[0], b[1], b[2], b[3]]) & 0x7fff_ffff
                    });
                    if last < id {
                        return Ok(Outcome::Reset);
                    }
                }
                RST_STREAM if sid == id => return Ok(Outcome::Reset),
                HEADERS | CONTINUATION => {
                    let fragment = if kind == HEADERS {
                        let p = unpad(flags, &payload);
                        let skip = if flags & PRIORITY != 0 { 5 } else { 0 };
                        pending = Some((sid, Vec::new(), flags & END_STREAM != 0));
                        p.get(skip..).unwrap_or_default().to_vec()
                    } else {
                        payload
                    };
                    if let Some((_, b, _)) = pending.as_mut() {
                        b.extend_from_slice(&fragment);
                    }
                    if flags & END_HEADERS != 0 {
                        let Some((sid, b, end)) = pending.take() else {
                            continue;
                        };
                        // Every block is decoded (the dynamic table follows them all).
                        let decoded = self.decoder.decode(&b)?;
                        if sid != id {
                            continue;
                        }
                        for (n, v) in decoded {
                            if n == b":status" {
                                status = String::from_utf8_lossy(&v).parse().ok();
                            } else if !n.starts_with(b":") {
                                fields.push((
                                    String::from_utf8_lossy(&n).into_owned(),
                                    String::from_utf8_lossy(&v).into_owned(),
                                ));
                            }
                        }
                        if end {
                            break;
                        }
                    }
                }
                DATA => {
                    let p = unpad(flags, &payload);
                    if sid == id {
                        body.extend_from_slice(p);
                    }
                    if !payload.is_empty() {
                        let n = u32::try_from(payload.len()).map_err(io::Error::other)?;
                        self.frame(8, 0, 0, &n.to_be_bytes())?;
                        if sid == id && flags & END_STREAM == 0 {
                            self.frame(8, 0, sid, &n.to_be_bytes())?;
                        }
                    }
                    if sid == id && flags & END_STREAM != 0 {
                        break;
                    }
                }
                _ => {}
            }
        }
        let status = status.ok_or_else(|| io::Error::other("no :status"))?;
        Ok(Outcome::Response(Response {
            status,
            headers: fields,
            body,
        }))
    }
}

fn unpad(flags: u8, payload: &[u8]) -> &[u8] {
    if flags & PADDED == 0 {
        return payload;
    }
    let Some((&pad, rest)) = payload.split_first() else {
        return payload;
    };
    rest.get(..rest.len().saturating_sub(pad as usize))
        .unwrap_or_default()
}

/// A literal header field without indexing, new name, no Huffman.
fn literal(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.push(0);
    for s in [name, value] {
        integer(out, s.len(), 7, 0);
        out.extend_from_slice(s);
    }
}

fn integer(out: &mut Vec<u8>, mut n: usize, prefix: u32, first: u8) {
    let max = (1usize << prefix) - 1;
    if n < max {
        out.push(first | n as u8);
        return;
    }
    out.push(first | max as u8);
    n -= max;
    while n >= 128 {
        out.push((n % 128) as u8 | 0x80);
        n /= 128;
    }
    out.push(n as u8);
}

/// RFC 7541 Appendix A.
const STATIC: [(&str, &str); 61] = [
    (":authority", ""),
    (":method", "GET"),
    (":method", "POST"),
    (":path", "/"),
    (":path", "/index.html"),
    (":scheme", "http"),
    (":scheme", "https"),
    (":status", "200"),
    (":status", "204"),
    (":status", "206"),
    (":status", "304"),
    (":status", "400"),
    (":status", "404"),
    (":status", "500"),
    ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"),
    ("accept-language", ""),
    ("accept-ranges", ""),
    ("accept", ""),
    ("access-control-allow-origin", ""),
    ("age", ""),
    ("allow", ""),
    ("authorization", ""),
    ("cache-control", ""),
    ("content-disposition", ""),
    ("content-encoding", ""),
    ("content-language", ""),
    ("content-length", ""),
    ("content-location", ""),
    ("content-range", ""),
    ("content-type", ""),
    ("cookie", ""),
    ("date", ""),
    ("etag", ""),
    ("expect", ""),
    ("expires", ""),
    ("from", ""),
    ("host", ""),
    ("if-match", ""),
    ("if-modified-since", ""),
    ("if-none-match", ""),
    ("if-range", ""),
    ("if-unmodified-since", ""),
    ("last-modified", ""),
    ("link", ""),
    ("location", ""),
    ("max-forwards", ""),
    ("proxy-authenticate", ""),
    ("proxy-authorization", ""),
    ("range", ""),
    ("referer", ""),
    ("refresh", ""),
    ("retry-after", ""),
    ("server", ""),
    ("set-cookie", ""),
    ("strict-transport-security", ""),
    ("transfer-encoding", ""),
    ("user-agent", ""),
    ("vary", ""),
    ("via", ""),
    ("www-authenticate", ""),
];

type Field = (Vec<u8>, Vec<u8>);

/// HPACK decoding state of one connection.
struct Decoder {
    /// Newest first.
    table: Vec<Field>,
    size: usize,
    max: usize,
    huffman: HashMap<(u8, u32), u8>,
}

impl Default for Decoder {
    fn default() -> Self {
        let huffman = (0..=255u8)
            .map(|b| ((LENGTHS[b as usize], CODES[b as usize]), b))
            .collect();
        Decoder {
            table: Vec::new(),
            size: 0,
            max: 4096,
            huffman,
        }
    }
}

fn bad(what: &str) -> io::Error {
    io::Error::other(format!("HPACK: {what}"))
}

impl Decoder {
    fn decode(&mut self, mut b: &[u8]) -> io::Result<Vec<Field>> {
        let mut out = Vec::new();
        while let Some(&first) = b.first() {
            if first & 0x80 != 0 {
                let (i, rest) = int(b, 7)?;
                b = rest;
                out.push(self.entry(i)?);
            } else if first & 0x40 != 0 {
                let (field, rest) = self.literal(b, 6)?;
                b = rest;
                self.insert(field.clone());
                out.push(field);
            } else if first & 0x20 != 0 {
                let (max, rest) = int(b, 5)?;
                b = rest;
                self.max = max;
                self.evict();
            } else {
                let (field, rest) = self.literal(b, 4)?;
                b = rest;
                out.push(field);
            }
        }
        Ok(out)
    }

    fn entry(&self, i: usize) -> io::Result<Field> {
        match i {
            0 => Err(bad("index 0")),
            1..=61 => {
                let (n, v) = STATIC[i - 1];
                Ok((n.as_bytes().to_vec(), v.as_bytes().to_vec()))
            }
            _ => self
                .table
                .get(i - 62)
                .cloned()
                .ok_or_else(|| bad("index beyond the table")),
        }
    }

    fn literal<'a>(&self, b: &'a [u8], prefix: u32) -> io::Result<(Field, &'a [u8])> {
        let (i, rest) = int(b, prefix)?;
        let (name, rest) = if i == 0 {
            self.string(rest)?
        } else {
            (self.entry(i)?.0, rest)
        };
        let (value, rest) = self.string(rest)?;
        Ok(((name, value), rest))
    }

    fn string<'a>(&self, b: &'a [u8]) -> io::Result<(Vec<u8>, &'a [u8])> {
        let huff = b.first().is_some_and(|f| f & 0x80 != 0);
        let (len, rest) = int(b, 7)?;
        let s = rest.get(..len).ok_or_else(|| bad("short string"))?;
        let rest = &rest[len..];
        if !huff {
            return Ok((s.to_vec(), rest));
        }
        let mut out = Vec::new();
        let (mut code, mut bits) = (0u32, 0u8);
        for byte in s {
            for k in (0..8).rev() {
                code = (code << 1) | u32::from((byte >> k) & 1);
                bits += 1;
                if let Some(sym) = self.huffman.get(&(bits, code)) {
                    out.push(*sym);
                    code = 0;
                    bits = 0;
                } else if bits > 30 {
                    return Err(bad("bad Huffman code"));
                }
            }
        }
        Ok((out, rest))
    }

    fn insert(&mut self, field: Field) {
        self.size += field.0.len() + field.1.len() + 32;
        self.table.insert(0, field);
        self.evict();
    }

    fn evict(&mut self) {
        while self.size > self.max {
            match self.table.pop() {
                Some((n, v)) => self.size -= n.len() + v.len() + 32,
                None => {
                    self.size = 0;
                    break;
                }
            }
        }
    }
}

/// An HPACK integer with an N-bit prefix.
fn int(b: &[u8], prefix: u32) -> io::Result<(usize, &[u8])> {
    let max = (1usize << prefix) - 1;
    let first = *b.first().ok_or_else(|| bad("empty"))?;
    let mut n = usize::from(first) & max;
    let mut rest = &b[1..];
    if n < max {
        return Ok((n, rest));
    }
    let mut shift = 0;
    loop {
        let (&byte, r) = rest.split_first().ok_or_else(|| bad("short integer"))?;
        rest = r;
        n += usize::from(byte & 0x7f) << shift;
        shift += 7;
        if byte & 0x80 == 0 {
            return Ok((n, rest));
        }
        if shift > 28 {
            return Err(bad("integer too large"));
        }
    }
}

/// RFC 7541 Appendix B: the Huffman code of each byte value (the EOS code
/// only pads), as (code, bit length).
#[rustfmt::skip]
const CODES: [u32; 256] = [
    0x1ff8, 0x7fffd8, 0xfffffe2, 0xfffffe3, 0xfffffe4, 0xfffffe5, 0xfffffe6, 0xfffffe7,
    0xfffffe8, 0xffffea, 0x3ffffffc, 0xfffffe9, 0xfffffea, 0x3ffffffd, 0xfffffeb, 0xfffffec,
    0xfffffed, 0xfffffee, 0xfffffef, 0xffffff0, 0xffffff1, 0xffffff2, 0x3ffffffe, 0xffffff3,
    0xffffff4, 0xffffff5, 0xffffff6, 0xffffff7, 0xffffff8, 0xffffff9, 0xffffffa, 0xffffffb,
    0x14, 0x3f8, 0x3f9, 0xffa, 0x1ff9, 0x15, 0xf8, 0x7fa,
    0x3fa, 0x3fb, 0xf9, 0x7fb, 0xfa, 0x16, 0x17, 0x18,
    0x0, 0x1, 0x2, 0x19, 0x1a, 0x1b, 0x1c, 0x1d,
    0x1e, 0x1f, 0x5c, 0xfb, 0x7ffc, 0x20, 0xffb, 0x3fc,
    0x1ffa, 0x21, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62,
    0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a,
    0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72,
    0xfc, 0x73, 0xfd, 0x1ffb, 0x7fff0, 0x1ffc, 0x3ffc, 0x22,
    0x7ffd, 0x3, 0x23, 0x4, 0x24, 0x5, 0x25, 0x26,
    0x27, 0x6, 0x74, 0x75, 0x28, 0x29, 0x2a, 0x7,
    0x2b, 0x76, 0x2c, 0x8, 0x9, 0x2d, 0x77, 0x78,
    0x79, 0x7a, 0x7b, 0x7ffe, 0x7fc, 0x3ffd, 0x1ffd, 0xffffffc,
    0xfffe6, 0x3fffd2, 0xfffe7, 0xfffe8, 0x3fffd3, 0x3fffd4, 0x3fffd5, 0x7fffd9,
    0x3fffd6, 0x7fffda, 0x7fffdb, 0x7fffdc, 0x7fffdd, 0x7fffde, 0xffffeb, 0x7fffdf,
    0xffffec, 0xffffed, 0x3fffd7, 0x7fffe0, 0xffffee, 0x7fffe1, 0x7fffe2, 0x7fffe3,
    0x7fffe4, 0x1fffdc, 0x3fffd8, 0x7fffe5, 0x3fffd9, 0x7fffe6, 0x7fffe7, 0xffffef,
    0x3fffda, 0x1fffdd, 0xfffe9, 0x3fffdb, 0x3fffdc, 0x7fffe8, 0x7fffe9, 0x1fffde,
    0x7fffea, 0x3fffdd, 0x3fffde, 0xfffff0, 0x1fffdf, 0x3fffdf, 0x7fffeb, 0x7fffec,
    0x1fffe0, 0x1fffe1, 0x3fffe0, 0x1fffe2, 0x7fffed, 0x3fffe1, 0x7fffee, 0x7fffef,
    0xfffea, 0x3fffe2, 0x3fffe3, 0x3fffe4, 0x7ffff0, 0x3fffe5, 0x3fffe6, 0x7ffff1,
    0x3ffffe0, 0x3ffffe1, 0xfffeb, 0x7fff1, 0x3fffe7, 0x7ffff2, 0x3fffe8, 0x1ffffec,
    0x3ffffe2, 0x3ffffe3, 0x3ffffe4, 0x7ffffde, 0x7ffffdf, 0x3ffffe5, 0xfffff1, 0x1ffffed,
    0x7fff2, 0x1fffe3, 0x3ffffe6, 0x7ffffe0, 0x7ffffe1, 0x3ffffe7, 0x7ffffe2, 0xfffff2,
    0x1fffe4, 0x1fffe5, 0x3ffffe8, 0x3ffffe9, 0xffffffd, 0x7ffffe3, 0x7ffffe4, 0x7ffffe5,
    0xfffec, 0xfffff3, 0xfffed, 0x1fffe6, 0x3fffe9, 0x1fffe7, 0x1fffe8, 0x7ffff3,
    0x3fffea, 0x3fffeb, 0x1ffffee, 0x1ffffef, 0xfffff4, 0xfffff5, 0x3ffffea, 0x7ffff4,
    0x3ffffeb, 0x7ffffe6, 0x3ffffec, 0x3ffffed, 0x7ffffe7, 0x7ffffe8, 0x7ffffe9, 0x7ffffea,
    0x7ffffeb, 0xffffffe, 0x7ffffec, 0x7ffffed, 0x7ffffee, 0x7ffffef, 0x7fffff0, 0x3ffffee,
];

#[rustfmt::skip]
const LENGTHS: [u8; 256] = [
    13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
    28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
    6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
    5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
    13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
    7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
    15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
    6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
    20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
    24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
    22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
    21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
    26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
    19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
    20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
    26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7541_examples_decode() {
        // C.4.1: a request with Huffman coding.
        let mut d = Decoder::default();
        let block = [
            0x82, 0x86, 0x84, 0x41, 0x8c, 0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab,
            0x90, 0xf4, 0xff,
        ];
        let got = d.decode(&block).unwrap();
        let want: Vec<Field> = [
            (":method", "GET"),
            (":scheme", "http"),
            (":path", "/"),
            (":authority", "www.example.com"),
        ]
        .iter()
        .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect();
        assert_eq!(got, want);
        // C.4.2: the dynamic table entry is used.
        let got = d
            .decode(&[
                0x82, 0x86, 0x84, 0xbe, 0x58, 0x86, 0xa8, 0xeb, 0x10, 0x64, 0x9c, 0xbf,
            ])
            .unwrap();
        assert_eq!(got[3].1, b"www.example.com");
        assert_eq!(got[4], (b"cache-control".to_vec(), b"no-cache".to_vec()));
    }

    #[test]
    fn integers_round_trip() {
        for n in [0usize, 5, 30, 31, 127, 128, 1337, 70_000] {
            let mut out = Vec::new();
            integer(&mut out, n, 5, 0);
            assert_eq!(int(&out, 5).unwrap().0, n);
        }
    }
}
