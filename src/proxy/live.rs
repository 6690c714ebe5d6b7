//! Response bodies of signed-in requests that the live-connection registry can cut.

use crate::session::live::LiveGuard;

/// A response body that ends (with an error, so the client sees the stream cut, not a clean
/// end) when the registry closes its session: long polls and server-sent events of a
/// revoked session stop like WebSockets do.
pub struct LiveBody {
    inner: axum::body::Body,
    cancelled: std::pin::Pin<Box<tokio_util::sync::WaitForCancellationFutureOwned>>,
    _guard: LiveGuard,
}

impl LiveBody {
    pub fn new(inner: axum::body::Body, guard: LiveGuard) -> Self {
        Self {
            inner,
            cancelled: Box::pin(guard.cancelled_owned()),
            _guard: guard,
        }
    }
}

impl http_body::Body for LiveBody {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        use std::future::Future;
        if self.cancelled.as_mut().poll(cx).is_ready() {
            let cut = std::io::Error::other("session revoked");
            return std::task::Poll::Ready(Some(Err(axum::Error::new(cut))));
        }
        std::pin::Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
