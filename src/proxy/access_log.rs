//! The access log: one line per request, written when the response body is finished (or
//! dropped), so it carries the real duration and byte count of streamed bodies.
//!
//! Query strings are never logged (they can carry tokens), nor are cookies or other headers.

use std::net::IpAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use bytes::Bytes;
use http_body::{Frame, SizeHint};

#[derive(Debug)]
pub struct AccessRecord {
    pub started: Instant,
    pub peer: IpAddr,
    pub method: http::Method,
    pub host: String,
    /// Normalized path without the query, or the raw path when it was rejected.
    pub path: String,
    pub environment: String,
    pub status: u16,
    pub upstream: Option<Duration>,
    pub error: Option<String>,
    /// The id the request's audit events carry too.
    pub request_id: u64,
    /// The signed-in (or SSO) user, once identified.
    pub user: Option<String>,
}

/// Wraps a response body, counting bytes and logging the record when it ends.
pub struct LoggedBody {
    inner: Body,
    record: AccessRecord,
    bytes: u64,
}

impl LoggedBody {
    pub fn wrap(inner: Body, record: AccessRecord) -> Body {
        Body::new(Self {
            inner,
            record,
            bytes: 0,
        })
    }
}

impl http_body::Body for LoggedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                self.bytes += data.len() as u64;
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for LoggedBody {
    fn drop(&mut self) {
        let r = &self.record;
        // Milliseconds to the microsecond: enough precision, readable numbers.
        let ms = |d: Duration| (d.as_secs_f64() * 1_000_000.0).round() / 1000.0;
        let upstream_ms = r.upstream.map(ms);
        tracing::info!(
            target: "mfagate::access",
            peer = %r.peer,
            method = %r.method,
            host = %r.host,
            path = %r.path,
            environment = %r.environment,
            status = r.status,
            duration_ms = ms(r.started.elapsed()),
            upstream_ms,
            bytes = self.bytes,
            error = r.error.as_deref(),
            request_id = %crate::audit::request_id(r.request_id),
            user = r.user.as_deref(),
            "request"
        );
    }
}
