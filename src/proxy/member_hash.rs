//! Phase "verify member" (between sanitize and identify) for an environment with
//! `[environments.member_hash]`: a chat widget's member id is read off the request under the
//! loosest reading a dashboard could apply (every copy, every spelling of the name, every
//! decoding), judged by the pure `federation::member_hash::verdict`, and the dashboard is told
//! the verified id in its own header, which no client can set.
//!
//! Only requests to the configured `paths` are checked: the gateway vouches for a member
//! nowhere else, and the verified header is removed from every request, so a member id on
//! another route (an agent looking a customer up, say) reaches the dashboard as what it is, an
//! unverified parameter.

use bytes::Bytes;
use http::header::CONTENT_LENGTH;
use http::uri::PathAndQuery;
use http::{HeaderMap, HeaderValue, Request};

use super::drain::Drained;
use super::error::ProxyError;
use super::headers;
use super::phases::RequestCtx;
use crate::canon::{json, query};
use crate::config::Environment;
use crate::federation::member_hash::{
    verdict, Claim, Location, MemberHashSettings, OnFailure, Verdict,
};

/// The id a request's hash verified, carried from this phase to the upstream request (a
/// request extension: never on the wire, so no client can supply it).
#[derive(Clone)]
struct VerifiedMember(HeaderValue);

/// Checks a request to a route in `paths`: a verified member is noted for the upstream
/// request; an unverified claim is refused or stripped; a request claiming no member goes
/// on as it is. `ctx.path_and_query` is updated when the query is stripped.
pub(super) async fn verify(
    ctx: &mut RequestCtx<'_>,
    req: Request<Drained>,
    auth: Option<&crate::gate::auth::Auth>,
) -> Result<Request<Drained>, ProxyError> {
    let env: &Environment = ctx.env;
    let Some(m) = env.member_hash.as_ref().filter(|m| m.inspects(&ctx.canon)) else {
        return Ok(req);
    };
    let (mut parts, body) = req.into_parts();
    let (body, read) = read_body(m, body).await?;
    let json = match &read {
        Some(bytes) => Some(std::str::from_utf8(bytes).map_err(|_| not_json())?),
        None => None,
    };
    let claims = |locations| claims(locations, ctx.path_and_query.query(), &parts.headers, json);
    let judged = verdict(&m.secret, &claims(&m.ids)?, &claims(&m.hashes)?);
    match told(judged) {
        Ok(member) => {
            if let Some(member) = member {
                parts.extensions.insert(member);
            }
            Ok(Request::from_parts(parts, body))
        }
        Err(why) => {
            if let Some(auth) = auth {
                let stripped = m.on_failure == OnFailure::Strip;
                let kind = crate::audit::EventKind::MemberHashFailed {
                    reason: why.into(),
                    stripped,
                };
                auth.audit.record(ctx.audit(auth).event(kind)).await;
            }
            fail(m, ctx, (parts, body), json, why)
        }
    }
}

/// The body, read (bounded) when a location is in it; the request carries it on either way.
async fn read_body(
    m: &MemberHashSettings,
    body: Drained,
) -> Result<(Drained, Option<Bytes>), ProxyError> {
    if !m.reads_body() {
        return Ok((body, None));
    }
    let unreadable: fn(String) -> ProxyError =
        |_| ProxyError::MemberHashInvalid("the body could not be read");
    let bytes = super::login::read_bounded(body, m.max_body_bytes, unreadable).await?;
    Ok((Drained::buffered(bytes.clone()), Some(bytes)))
}

/// The verdict as the upstream request carries it: the verified id as a header value, or
/// why the claim fails.
fn told(judged: Verdict) -> Result<Option<VerifiedMember>, &'static str> {
    match judged {
        Verdict::Unclaimed => Ok(None),
        Verdict::Verified(id) => HeaderValue::from_str(&id)
            .map(|v| Some(VerifiedMember(v)))
            .map_err(|_| "the member id cannot be sent in a header"),
        Verdict::Failed(why) => Err(why),
    }
}

/// A claim that failed: refused, or the request stripped of every copy of the id and the
/// hash (its body rewritten when they were in it).
fn fail(
    m: &MemberHashSettings,
    ctx: &mut RequestCtx<'_>,
    (mut parts, body): (http::request::Parts, Drained),
    json: Option<&str>,
    why: &'static str,
) -> Result<Request<Drained>, ProxyError> {
    // Neither the id nor the hash is logged: only why the claim failed.
    let on_failure = m.on_failure;
    let environment = &ctx.env.name;
    tracing::info!(%environment, reason = why, ?on_failure, "member hash did not verify");
    if on_failure == OnFailure::Refuse {
        return Err(ProxyError::MemberHashInvalid(why));
    }
    let body = match strip(m, ctx, &mut parts, json)? {
        Some(new) => {
            parts
                .headers
                .insert(CONTENT_LENGTH, HeaderValue::from(new.len()));
            Drained::buffered(Bytes::from(new))
        }
        None => body,
    };
    Ok(Request::from_parts(parts, body))
}

/// Tells the dashboard the verified member: every client copy of the header (any case, `_`
/// for `-`) is removed first, then this request's verified id set, if any. Called on the
/// upstream request after its headers are sanitized.
pub(super) fn tell_upstream(env: &Environment, parts: &mut http::request::Parts) {
    let Some(m) = &env.member_hash else {
        return;
    };
    headers::remove_alike(&mut parts.headers, &m.verified_header);
    if let Some(VerifiedMember(id)) = parts.extensions.remove::<VerifiedMember>() {
        parts.headers.insert(m.verified_header.clone(), id);
    }
}

/// A body with `json:` locations is empty or one JSON document: a dashboard parsing it more
/// leniently could find an id the gateway did not see. Refused in either mode (what cannot
/// be read cannot be stripped either).
fn not_json() -> ProxyError {
    ProxyError::MemberHashInvalid("the body is not one JSON document")
}

/// Every reading of the values at `locations`.
fn claims(
    locations: &[Location],
    query: Option<&str>,
    headers: &HeaderMap,
    body: Option<&str>,
) -> Result<Vec<Claim>, ProxyError> {
    let mut out = Vec::new();
    for location in locations {
        match location {
            Location::Query(name) => {
                let values = query.map(|q| query::values(q, name)).unwrap_or_default();
                out.extend(values.into_iter().map(text_claim));
            }
            Location::Header(name) => header_claims(headers, name, &mut out),
            Location::Json(pointer) => json_claims(body, pointer, &mut out)?,
        }
    }
    Ok(out)
}

fn text_claim(value: Option<String>) -> Claim {
    value.map_or(Claim::Unreadable, Claim::Text)
}

/// Each line of the header, and each comma-separated part of a line (a dashboard may join
/// repeated lines with `,` and take one part).
fn header_claims(headers: &HeaderMap, name: &http::HeaderName, out: &mut Vec<Claim>) {
    for value in headers::values_alike(headers, name) {
        let Ok(line) = value.to_str() else {
            out.push(Claim::Unreadable);
            continue;
        };
        out.push(Claim::Text(line.to_string()));
        if line.contains(',') {
            out.extend(line.split(',').map(|p| Claim::Text(p.trim().to_string())));
        }
    }
}

/// Every value the pointer reaches: a string is a claim, `null` none, anything else a claim
/// that cannot verify (ids and hashes are sent as JSON strings).
fn json_claims(
    body: Option<&str>,
    pointer: &[String],
    out: &mut Vec<Claim>,
) -> Result<(), ProxyError> {
    let Some(body) = body.filter(|b| !b.is_empty()) else {
        return Ok(());
    };
    let values = json::values_at(body, pointer).map_err(|_| not_json())?;
    for value in values {
        match value {
            serde_json::Value::Null => {}
            serde_json::Value::String(s) => out.push(Claim::Text(s)),
            _ => out.push(Claim::Unreadable),
        }
    }
    Ok(())
}

/// Removes every copy of the id and of the hash: query pieces, headers, and body members;
/// returns the rewritten body, if it changed.
fn strip(
    m: &MemberHashSettings,
    ctx: &mut RequestCtx<'_>,
    parts: &mut http::request::Parts,
    body: Option<&str>,
) -> Result<Option<String>, ProxyError> {
    let mut names = Vec::new();
    let mut pointers = Vec::new();
    for location in m.ids.iter().chain(&m.hashes) {
        match location {
            Location::Query(name) => names.push(name.as_str()),
            Location::Header(name) => {
                headers::remove_alike(&mut parts.headers, name);
            }
            Location::Json(pointer) => pointers.push(pointer.clone()),
        }
    }
    strip_query(ctx, parts, &names)?;
    match body.filter(|b| !b.is_empty()) {
        Some(body) if !pointers.is_empty() => {
            json::without(body, &pointers).map_err(|_| not_json())
        }
        _ => Ok(None),
    }
}

/// The query without the `names`, both where the upstream request is built from
/// (`ctx.path_and_query`) and in the request's own URI, so no later phase reads the old one.
fn strip_query(
    ctx: &mut RequestCtx<'_>,
    parts: &mut http::request::Parts,
    names: &[&str],
) -> Result<(), ProxyError> {
    let Some(kept) = ctx
        .path_and_query
        .query()
        .and_then(|q| query::without(q, names))
    else {
        return Ok(());
    };
    let invalid = || ProxyError::MemberHashInvalid("the stripped query is invalid");
    let pq = match kept.is_empty() {
        true => ctx.path.clone(),
        false => format!("{}?{kept}", ctx.path),
    };
    let pq = PathAndQuery::try_from(pq).map_err(|_| invalid())?;
    let mut uri = std::mem::take(&mut parts.uri).into_parts();
    uri.path_and_query = Some(pq.clone());
    parts.uri = http::Uri::from_parts(uri).map_err(|_| invalid())?;
    ctx.path_and_query = pq;
    Ok(())
}
