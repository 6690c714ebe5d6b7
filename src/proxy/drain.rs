//! Request bodies the gateway answers without reading (a redirect to the login page, a 401, a
//! refused path) are drained, bounded, after the answer is sent. Dropping an unread HTTP/2
//! request body makes the server reset the stream while the client is still sending, and
//! clients then report a stream error instead of the answer; on HTTP/1.1 it costs the
//! keep-alive connection.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;

/// How much of an unread body is read away, and for how long, before giving up (a body the
/// gateway would have forwarded costs no more than forwarding it would have).
const DRAIN_BYTES: usize = 8 * 1024 * 1024;
const DRAIN_TIME: Duration = Duration::from_secs(5);

/// A client request body that drains itself if dropped unread; or one the gateway already
/// read (and maybe rewrote), put back so later phases see the request as usual.
pub struct Drained {
    inner: Option<Incoming>,
    buffered: Option<Bytes>,
}

impl Drained {
    pub fn new(inner: Incoming) -> Self {
        Self {
            inner: Some(inner),
            buffered: None,
        }
    }

    /// A body already read off the client.
    pub fn buffered(bytes: Bytes) -> Self {
        Self {
            inner: None,
            buffered: Some(bytes).filter(|b| !b.is_empty()),
        }
    }
}

impl Body for Drained {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        if let Some(bytes) = self.buffered.take() {
            return Poll::Ready(Some(Ok(Frame::data(bytes))));
        }
        match self.inner.as_mut() {
            Some(b) => Pin::new(b).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.buffered.is_none() && self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        match &self.buffered {
            Some(bytes) => SizeHint::with_exact(bytes.len() as u64),
            None => self.inner.as_ref().map(Body::size_hint).unwrap_or_default(),
        }
    }
}

impl Drop for Drained {
    fn drop(&mut self) {
        let Some(body) = self.inner.take().filter(|b| !b.is_end_stream()) else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            let limited = http_body_util::Limited::new(body, DRAIN_BYTES);
            let _ = tokio::time::timeout(DRAIN_TIME, limited.collect()).await;
        });
    }
}
