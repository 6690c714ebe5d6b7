//! Device trust: every browser must pass MFA itself; afterwards it is trusted for the
//! environment's `device_trust_days`. The decisions here are pure (clock as a parameter).

use crate::store::records::DeviceRecord;

/// Whether `device` (as stored for this user) still skips the second factor at `now`.
pub fn is_trusted(device: Option<&DeviceRecord>, now: u64) -> bool {
    device.is_some_and(|d| d.trusted_until > now)
}

/// The record after a successful second factor on this device.
pub fn trust(
    existing: Option<DeviceRecord>,
    id: &str,
    user_agent: &str,
    ip: &str,
    trust_secs: u64,
    now: u64,
) -> DeviceRecord {
    DeviceRecord {
        id: id.to_string(),
        label: label(user_agent),
        first_seen: existing.as_ref().map_or(now, |d| d.first_seen),
        last_seen: now,
        last_ip: ip.to_string(),
        trusted_until: now + trust_secs,
        passkey: false,
    }
}

/// "Browser on OS" from a User-Agent, for people recognising their devices in a list.
pub fn label(user_agent: &str) -> String {
    let ua = user_agent;
    let browser = if ua.contains("Edg/") {
        "Edge"
    } else if ua.contains("OPR/") {
        "Opera"
    } else if ua.contains("Firefox/") {
        "Firefox"
    } else if ua.contains("Chrome/") || ua.contains("Chromium/") {
        "Chrome"
    } else if ua.contains("Safari/") {
        "Safari"
    } else if ua.is_empty() {
        "Unknown client"
    } else {
        "Other client"
    };
    let os = if ua.contains("Android") {
        "Android"
    } else if ua.contains("iPhone") || ua.contains("iPad") {
        "iOS"
    } else if ua.contains("Windows") {
        "Windows"
    } else if ua.contains("Mac OS X") || ua.contains("Macintosh") {
        "macOS"
    } else if ua.contains("Linux") {
        "Linux"
    } else {
        "unknown OS"
    };
    format!("{browser} on {os}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_trust_window() {
        assert_eq!(
            label("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36"),
            "Chrome on Linux"
        );
        assert_eq!(
            label(
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0"
            ),
            "Firefox on Windows"
        );
        let d = trust(None, "dev", "curl/8", "127.0.0.1", 30 * 86_400, 1000);
        assert_eq!((d.first_seen, d.trusted_until), (1000, 1000 + 30 * 86_400));
        assert!(is_trusted(Some(&d), 1000 + 30 * 86_400 - 1));
        assert!(!is_trusted(Some(&d), 1000 + 30 * 86_400));
        assert!(!is_trusted(None, 0));
        let again = trust(Some(d), "dev", "curl/8", "10.0.0.1", 10, 5000);
        assert_eq!(
            (again.first_seen, again.last_seen, again.last_ip.as_str()),
            (1000, 5000, "10.0.0.1")
        );
    }
}
