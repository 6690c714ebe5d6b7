//! The reading rule (DESIGN.md "Reading rule"): every security decision is taken on a reading
//! of the request at least as lenient as the most lenient dashboard's. This leaf module holds
//! the readings every decision shares: the normalized path the dashboard is sent, the canonical
//! form of a path for matching, the lenient reading of cookie and header names, of query
//! parameters and of JSON bodies (duplicate keys, key case). Pure functions, no HTTP types
//! beyond header bytes.

pub mod cookie;
pub mod header;
pub mod json;
pub mod normalize;
pub mod path;
pub mod query;

pub use path::{canonical, CanonError, Pattern};
