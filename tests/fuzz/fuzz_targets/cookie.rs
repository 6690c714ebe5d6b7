//! The cookie rewrite: for any Cookie header bytes, no piece that any dashboard could read
//! as the credential (or a gateway cookie) survives, except the bound value added back.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mfagate::canon::cookie::{is_gateway_name, name_is, piece_is, pieces, rewrite};

fuzz_target!(|data: &[u8]| {
    let Ok(value) = http::HeaderValue::from_bytes(data) else {
        return;
    };
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::COOKIE, value);
    let remove = |n: &[u8]| is_gateway_name(n) || name_is(n, "dash_session");
    rewrite(&mut headers, &remove, &[("dash_session".into(), "BOUND".into())]);
    let line = headers.get(http::header::COOKIE).expect("bound value added");
    for piece in pieces(line.as_bytes()) {
        if piece_is(&piece, &remove) {
            assert_eq!(piece.raw, b"dash_session=BOUND", "{:?}", String::from_utf8_lossy(line.as_bytes()));
        }
    }
});
