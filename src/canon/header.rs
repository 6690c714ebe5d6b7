//! Header names under the loosest reading: letter case ignored, and `_` read as `-`, since
//! CGI-style servers (PHP, Rails/Rack, Django's `META`) turn both into `HTTP_X_NAME` and some
//! proxies pass names with `_` through.

/// Whether header `name` starts with `prefix` under that reading.
pub fn starts_alike(name: &str, prefix: &str) -> bool {
    let dashed = |b: u8| match b {
        b'_' => b'-',
        b => b.to_ascii_lowercase(),
    };
    name.len() >= prefix.len()
        && name
            .bytes()
            .zip(prefix.bytes())
            .all(|(a, b)| dashed(a) == dashed(b))
}

/// Whether header `name` reads as `wanted`.
pub fn alike(name: &str, wanted: &str) -> bool {
    name.len() == wanted.len() && starts_alike(name, wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn underscores_and_case_do_not_tell_names_apart() {
        assert!(alike("x-member-id", "X-Member-Id"));
        assert!(alike("x_member_id", "x-member-id"));
        assert!(alike("X-MEMBER_ID", "x_member-id"));
        assert!(!alike("x-member-idx", "x-member-id"));
        assert!(!alike("x-memberid", "x-member-id"));
        assert!(starts_alike("x_mfagate_anything", "x-mfagate-"));
        assert!(!starts_alike("x-mfagat", "x-mfagate-"));
    }
}
