//! Path normalization then the canonical form: never a panic, and whatever is admitted is
//! a fixed point (of the canonical form and of the whole reading) free of dot segments,
//! control characters and look-alikes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(normal) = mfagate::canon::normalize::normalize_path(raw) else {
        return;
    };
    for case_sensitive in [false, true] {
        let Ok(canon) = mfagate::canon::canonical(&normal, case_sensitive) else {
            continue;
        };
        assert!(canon.starts_with('/'));
        assert!(!canon.chars().any(char::is_control), "{canon:?}");
        assert!(canon.split('/').all(|s| s != "." && s != ".."), "{canon:?}");
        let again = mfagate::canon::canonical(&canon, case_sensitive).expect("fixed point");
        assert_eq!(again, canon);
        // The whole reading (normalize, then canonical) is a fixed point too.
        let normal_again = mfagate::canon::normalize::normalize_path(&canon).expect("normal");
        let whole = mfagate::canon::canonical(&normal_again, case_sensitive).expect("fixed");
        assert_eq!(whole, canon);
    }
});
