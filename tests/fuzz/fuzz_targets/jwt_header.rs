//! Reading an SSO token's header: never a panic, and only an allowed algorithm without
//! critical extensions is accepted.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mfagate::federation::sso::read_header;

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let allowed = [jsonwebtoken::Algorithm::ES256, jsonwebtoken::Algorithm::RS256];
    if let Ok(header) = read_header(token, &allowed) {
        assert!(allowed.contains(&header.alg));
        assert!(header.crit.is_none_or(|c| c.is_empty()));
    }
});
