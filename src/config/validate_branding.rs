//! `[environments.branding]`: a logo file, a primary colour that keeps buttons readable, and a
//! support contact. A colour that fails WCAG AA against the buttons' white text is refused
//! here, not discovered by an agent who cannot read the sign-in button.

use std::path::Path;

use super::file::FileBranding;
use super::model::{Branding, Logo, Support};
use super::validate::{resolve, Errors};

/// WCAG 2.1 AA for normal text.
pub const MIN_CONTRAST: f64 = 4.5;
const MAX_LOGO_BYTES: u64 = 256 * 1024;

/// Relative luminance of "#rrggbb" (WCAG 2.1), or `None` when it is not that form.
pub fn luminance(hex: &str) -> Option<f64> {
    let digits = hex
        .strip_prefix('#')
        .filter(|d| d.len() == 6 && d.is_ascii())?;
    let channel = |i: usize| -> Option<f64> {
        let c = f64::from(u8::from_str_radix(&digits[i..i + 2], 16).ok()?) / 255.0;
        Some(match c <= 0.039_28 {
            true => c / 12.92,
            false => ((c + 0.055) / 1.055).powf(2.4),
        })
    };
    Some(0.2126 * channel(0)? + 0.7152 * channel(2)? + 0.0722 * channel(4)?)
}

/// The contrast ratio of two luminances (1 to 21).
pub fn contrast(a: f64, b: f64) -> f64 {
    let (hi, lo) = if a > b { (a, b) } else { (b, a) };
    (hi + 0.05) / (lo + 0.05)
}

fn color(errs: &mut Errors, key: &str, text: &str) -> Option<String> {
    let Some(l) = luminance(text) else {
        errs.push(key, format!("{text:?} is not a colour like \"#1d63b8\""));
        return None;
    };
    let ratio = contrast(l, 1.0);
    if ratio < MIN_CONTRAST {
        let msg = format!("{text} has {ratio:.1}:1 contrast against the white button text; WCAG AA needs {MIN_CONTRAST}:1 (use a darker shade)");
        errs.push(key, msg);
        return None;
    }
    Some(text.to_ascii_lowercase())
}

fn logo(errs: &mut Errors, key: &str, path: &str, base: &Path) -> Option<Logo> {
    let ext = path.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    let content_type = match ext.as_str() {
        "png" => "image/png",
        "svg" => "image/svg+xml",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        _ => {
            errs.push(
                key,
                format!("{path:?} is not a .png, .svg, .jpg or .webp file"),
            );
            return None;
        }
    };
    let full = resolve(base, path);
    match std::fs::read(&full) {
        Ok(bytes) if bytes.len() as u64 <= MAX_LOGO_BYTES => Some(Logo {
            bytes: std::sync::Arc::new(bytes),
            content_type,
        }),
        Ok(_) => {
            errs.push(key, format!("{} is larger than 256 KiB", full.display()));
            None
        }
        Err(e) => {
            errs.push(key, format!("cannot read {}: {e}", full.display()));
            None
        }
    }
}

fn support(errs: &mut Errors, key: &str, text: &str) -> Option<Support> {
    let text = text.trim();
    let email = text.contains('@') && !text.contains(['/', ' ', ':']);
    let href = match (email, text.strip_prefix("https://")) {
        (true, _) => format!("mailto:{text}"),
        (false, Some(rest)) if !rest.is_empty() && !text.contains([' ', '"', '<', '>']) => {
            text.to_string()
        }
        _ => {
            errs.push(
                key,
                format!("{text:?} is neither an email address nor an https:// URL"),
            );
            return None;
        }
    };
    Some(Support {
        text: text.to_string(),
        href,
    })
}

pub(super) fn branding(errs: &mut Errors, key: &str, file: &FileBranding, base: &Path) -> Branding {
    let key = |k: &str| format!("{key}.branding.{k}");
    Branding {
        logo: file
            .logo
            .as_deref()
            .and_then(|p| logo(errs, &key("logo"), p, base)),
        color: file
            .color
            .as_deref()
            .and_then(|c| color(errs, &key("color"), c)),
        support: file
            .support
            .as_deref()
            .and_then(|s| support(errs, &key("support"), s)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contrast_is_computed_as_wcag_does() {
        let white = luminance("#ffffff").unwrap();
        let ratio = |c: &str| contrast(luminance(c).unwrap(), white);
        assert!((ratio("#000000") - 21.0).abs() < 0.01);
        assert!(
            (ratio("#2186eb") - 3.7).abs() < 0.05,
            "the old button colour fails"
        );
        assert!(ratio("#1d63b8") >= MIN_CONTRAST, "the new one passes");
        for bad in ["1d63b8", "#1d63b", "#1d63bz", "#ÿÿÿ"] {
            assert!(luminance(bad).is_none(), "{bad}");
        }
    }
}
