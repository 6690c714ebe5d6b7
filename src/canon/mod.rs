//! The reading rule (DESIGN.md "Reading rule"): every security decision is taken on a reading
//! of the request at least as lenient as the most lenient dashboard's. This leaf module holds
//! the readings every decision shares: the normalized path the dashboard is sent, the canonical
//! form of a path for matching, and the lenient reading of cookie names. Pure functions, no
//! HTTP types beyond header bytes.

pub mod cookie;
pub mod normalize;
pub mod path;

pub use path::{canonical, CanonError, Pattern};
