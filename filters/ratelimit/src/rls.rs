//! Envoy's rate-limit service protocol (`envoy.service.ratelimit.v3`),
//! hand-written prost messages (no protoc) with the field numbers of
//! `rls.proto`, `ratelimit.proto` (extensions.common.ratelimit.v3) and
//! `base.proto` (`HeaderValue`). Only the fields this filter sends or reads
//! are declared; prost skips the others when decoding.

use prost::Message;

pub const SERVICE: &str = "envoy.service.ratelimit.v3.RateLimitService";
pub const METHOD: &str = "ShouldRateLimit";

/// `RateLimitResponse.Code`.
pub const CODE_UNKNOWN: i32 = 0;
pub const CODE_OK: i32 = 1;
pub const CODE_OVER_LIMIT: i32 = 2;

#[derive(Clone, PartialEq, Message)]
pub struct RateLimitRequest {
    #[prost(string, tag = "1")]
    pub domain: String,
    #[prost(message, repeated, tag = "2")]
    pub descriptors: Vec<RateLimitDescriptor>,
    #[prost(uint32, tag = "3")]
    pub hits_addend: u32,
}

#[derive(Clone, PartialEq, Message)]
pub struct RateLimitDescriptor {
    #[prost(message, repeated, tag = "1")]
    pub entries: Vec<Entry>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Entry {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct RateLimitResponse {
    #[prost(int32, tag = "1")]
    pub overall_code: i32,
    #[prost(message, repeated, tag = "2")]
    pub statuses: Vec<DescriptorStatus>,
    #[prost(message, repeated, tag = "3")]
    pub response_headers_to_add: Vec<HeaderValue>,
    #[prost(message, repeated, tag = "4")]
    pub request_headers_to_add: Vec<HeaderValue>,
}

#[derive(Clone, PartialEq, Message)]
pub struct DescriptorStatus {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(message, optional, tag = "2")]
    pub current_limit: Option<RateLimit>,
    #[prost(uint32, tag = "3")]
    pub limit_remaining: u32,
    #[prost(message, optional, tag = "4")]
    pub duration_until_reset: Option<ProtoDuration>,
}

#[derive(Clone, PartialEq, Message)]
pub struct RateLimit {
    #[prost(uint32, tag = "1")]
    pub requests_per_unit: u32,
    #[prost(int32, tag = "2")]
    pub unit: i32,
    #[prost(string, tag = "3")]
    pub name: String,
}

/// `envoy.config.core.v3.HeaderValue`: `value`, or `raw_value` (bytes) when
/// `value` is empty.
#[derive(Clone, PartialEq, Message)]
pub struct HeaderValue {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(string, tag = "2")]
    pub value: String,
    #[prost(bytes = "vec", tag = "3")]
    pub raw_value: Vec<u8>,
}

impl HeaderValue {
    /// The value as text (`raw_value` lossily when `value` is empty).
    pub fn text(&self) -> String {
        if self.value.is_empty() {
            String::from_utf8_lossy(&self.raw_value).into_owned()
        } else {
            self.value.clone()
        }
    }
}

/// `google.protobuf.Duration`.
#[derive(Clone, Copy, PartialEq, Message)]
pub struct ProtoDuration {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

impl ProtoDuration {
    /// Whole seconds rounded up; negative durations read 0.
    pub fn ceil_secs(self) -> u64 {
        let secs = u64::try_from(self.seconds).unwrap_or(0);
        if self.seconds >= 0 && self.nanos > 0 {
            secs.saturating_add(1)
        } else {
            secs
        }
    }
}

/// A message with no fields: decoding it only checks the wire format.
#[derive(Clone, PartialEq, Message)]
struct Empty {}

/// True when `bytes` are well-formed protobuf. Envoy reads the "cluster
/// name" of a gRPC call as a serialized `GrpcService` first, and only when
/// that fails as a cluster name: a name that parses is refused in the
/// configuration.
pub fn is_wire_format(bytes: &[u8]) -> bool {
    Empty::decode(bytes).is_ok()
}

/// The request for `descriptors` (each a list of (key, value) entries).
pub fn request(domain: &str, descriptors: &[Vec<(&str, String)>], hits_addend: u32) -> Vec<u8> {
    RateLimitRequest {
        domain: domain.to_string(),
        descriptors: descriptors
            .iter()
            .map(|d| RateLimitDescriptor {
                entries: d
                    .iter()
                    .map(|(k, v)| Entry {
                        key: (*k).to_string(),
                        value: v.clone(),
                    })
                    .collect(),
            })
            .collect(),
        hits_addend,
    }
    .encode_to_vec()
}

/// Decodes a response; bytes that are not one are an error, never a panic.
pub fn decode_response(bytes: &[u8]) -> Result<RateLimitResponse, String> {
    RateLimitResponse::decode(bytes).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests;
