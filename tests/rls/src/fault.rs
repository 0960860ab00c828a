//! The fault modes, applied in front of the gRPC service at the HTTP level
//! (so they can break the protocol, not only answer within it).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use http_body::Frame;
use tonic::body::Body;
use tonic::codegen::Service;

use crate::Shared;

#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer honestly.
    None,
    /// gRPC status 0 (OK) with one length-prefixed message whose bytes are not
    /// protobuf (an unterminated varint): only decoding can notice.
    Garbage,
    /// HTTP/2 200 `text/plain` with no gRPC framing and no `grpc-status`.
    NotGrpc,
    /// A trailers-only gRPC error.
    Status(tonic::Code),
    /// An HTTP error status (e.g. 503 from a proxy in front of the service):
    /// `text/plain`, no gRPC framing or status.
    HttpStatus(u16),
    /// gRPC status OK with one well-formed `RateLimitResponse` (overall code
    /// OK) padded with an unknown field to this many bytes: only a size
    /// limit can notice.
    Huge(usize),
}

impl Fault {
    /// A gRPC code by name (`UNAVAILABLE`, `unavailable`, `DEADLINE_EXCEEDED`) or number.
    pub fn parse_status(text: &str) -> Result<Fault, String> {
        if let Ok(n) = text.parse::<i32>() {
            let code = tonic::Code::from_i32(n);
            return if code as i32 == n {
                Ok(Fault::Status(code))
            } else {
                Err(format!("unknown gRPC status {n}"))
            };
        }
        (0..=16)
            .map(tonic::Code::from_i32)
            .find(|c| name(*c).eq_ignore_ascii_case(text))
            .map(Fault::Status)
            .ok_or_else(|| format!("unknown gRPC status {text:?}"))
    }
}

/// The gRPC spelling (`Code::description` is prose).
fn name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "CANCELLED",
        Unknown => "UNKNOWN",
        InvalidArgument => "INVALID_ARGUMENT",
        DeadlineExceeded => "DEADLINE_EXCEEDED",
        NotFound => "NOT_FOUND",
        AlreadyExists => "ALREADY_EXISTS",
        PermissionDenied => "PERMISSION_DENIED",
        ResourceExhausted => "RESOURCE_EXHAUSTED",
        FailedPrecondition => "FAILED_PRECONDITION",
        Aborted => "ABORTED",
        OutOfRange => "OUT_OF_RANGE",
        Unimplemented => "UNIMPLEMENTED",
        Internal => "INTERNAL",
        Unavailable => "UNAVAILABLE",
        DataLoss => "DATA_LOSS",
        Unauthenticated => "UNAUTHENTICATED",
    }
}

/// Wraps the generated server: counts calls, delays, and replaces the
/// answer when a fault is set.
#[derive(Clone)]
pub struct Faulty<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> Faulty<S> {
    pub fn new(inner: S, shared: Arc<Shared>) -> Faulty<S> {
        Faulty { inner, shared }
    }
}

type Resp = http::Response<Body>;

impl<S> Service<http::Request<Body>> for Faulty<S>
where
    S: Service<http::Request<Body>, Response = Resp, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Resp;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Resp, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        // The clone is not the instance poll_ready readied: swap them (tower's rule).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let shared = self.shared.clone();
        Box::pin(async move {
            shared.calls.fetch_add(1, Ordering::SeqCst);
            let delay = shared.delay_ms.load(Ordering::SeqCst);
            if delay > 0 {
                tokio::time::sleep(Duration::from_millis(delay)).await;
            }
            let fault = shared
                .fault
                .lock()
                .map(|f| f.clone())
                .unwrap_or(Fault::None);
            match fault {
                Fault::None => inner.call(req).await,
                Fault::Garbage => Ok(garbage()),
                Fault::NotGrpc => Ok(not_grpc()),
                Fault::Status(code) => {
                    Ok(tonic::Status::new(code, "tollgate-rls: fault injected").into_http())
                }
                Fault::HttpStatus(status) => Ok(http_status(status)),
                Fault::Huge(size) => Ok(huge(size)),
            }
        })
    }
}

fn garbage() -> Resp {
    // An unterminated varint: prost fails with "invalid varint".
    let message = [0xffu8; 11];
    let mut frame = Vec::with_capacity(5 + message.len());
    frame.push(0); // not compressed
    frame.extend_from_slice(&(message.len() as u32).to_be_bytes());
    frame.extend_from_slice(&message);
    let mut trailers = HeaderMap::new();
    trailers.insert("grpc-status", HeaderValue::from_static("0"));
    response("application/grpc", Fixed::new(frame, Some(trailers)))
}

/// A gRPC response frame (not compressed) carrying `message`, then grpc-status 0.
fn grpc_ok(message: &[u8]) -> Resp {
    let mut frame = Vec::with_capacity(5 + message.len());
    frame.push(0);
    frame.extend_from_slice(&(message.len() as u32).to_be_bytes());
    frame.extend_from_slice(message);
    let mut trailers = HeaderMap::new();
    trailers.insert("grpc-status", HeaderValue::from_static("0"));
    response("application/grpc", Fixed::new(frame, Some(trailers)))
}

/// `RateLimitResponse { overall_code: OK }` plus unknown field 15 (bytes)
/// making the message `size` bytes long (at least the 2 bytes of the code).
pub fn huge_message(size: usize) -> Vec<u8> {
    let mut message = vec![0x08, 0x01]; // field 1 (overall_code), varint 1 (OK)
    if size <= 2 + 2 {
        return message;
    }
    // Field 15, wire type 2: tag byte 0x7a, a varint length, the bytes.
    let mut pad = size - 2 - 1;
    let mut len_bytes = varint(pad);
    while 2 + 1 + len_bytes.len() + pad > size && pad > 0 {
        pad -= 1;
        len_bytes = varint(pad);
    }
    message.push(0x7a);
    message.extend_from_slice(&len_bytes);
    message.resize(message.len() + pad, b'x');
    message
}

fn varint(mut n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

fn huge(size: usize) -> Resp {
    grpc_ok(&huge_message(size))
}

fn http_status(status: u16) -> Resp {
    let mut resp = response(
        "text/plain",
        Fixed::new(b"tollgate-rls: HTTP error injected\n".to_vec(), None),
    );
    *resp.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::SERVICE_UNAVAILABLE);
    resp
}

fn not_grpc() -> Resp {
    response(
        "text/plain",
        Fixed::new(
            b"tollgate-rls: this is not a gRPC response\n".to_vec(),
            None,
        ),
    )
}

fn response(content_type: &'static str, body: Fixed) -> Resp {
    let mut resp = http::Response::new(Body::new(body));
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    resp
}

/// A body of one data frame and optional trailers.
struct Fixed {
    data: Option<Bytes>,
    trailers: Option<HeaderMap>,
}

impl Fixed {
    fn new(data: Vec<u8>, trailers: Option<HeaderMap>) -> Fixed {
        Fixed {
            data: Some(Bytes::from(data)),
            trailers,
        }
    }
}

impl http_body::Body for Fixed {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if let Some(data) = self.data.take() {
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        Poll::Ready(self.trailers.take().map(|t| Ok(Frame::trailers(t))))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none() && self.trailers.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names() {
        assert!(matches!(
            Fault::parse_status("UNAVAILABLE"),
            Ok(Fault::Status(tonic::Code::Unavailable))
        ));
        assert!(matches!(
            Fault::parse_status("deadline_exceeded"),
            Ok(Fault::Status(tonic::Code::DeadlineExceeded))
        ));
        assert!(matches!(
            Fault::parse_status("13"),
            Ok(Fault::Status(tonic::Code::Internal))
        ));
        assert!(Fault::parse_status("99").is_err());
        assert!(Fault::parse_status("nope").is_err());
    }

    #[test]
    fn huge_message_has_the_size_and_is_well_formed() {
        for size in [0, 4, 5, 130, 131, 200, 16_388, 20_000, 1 << 20] {
            let m = huge_message(size);
            assert_eq!(&m[..2], [0x08, 0x01], "overall_code OK");
            if size <= 4 {
                assert_eq!(m.len(), 2);
                continue;
            }
            assert_eq!(m.len(), size, "{size}");
            assert_eq!(m[2], 0x7a, "field 15, length-delimited");
            let (mut len, mut shift, mut i) = (0usize, 0, 3);
            while m[i] & 0x80 != 0 {
                len |= usize::from(m[i] & 0x7f) << shift;
                shift += 7;
                i += 1;
            }
            len |= usize::from(m[i]) << shift;
            assert_eq!(m.len() - i - 1, len, "{size}");
        }
    }
}
