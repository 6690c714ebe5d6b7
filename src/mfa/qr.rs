//! QR code of the otpauth URI as an SVG data URI, so the enrollment page needs no script and no
//! extra request that could leak the seed into a URL or log. SVG keeps it sharp at any zoom
//! and needs no image encoder.

use base64::Engine;
use qrcode::render::svg;
use qrcode::QrCode;

/// Side of one module in SVG units (the page scales the image).
const MODULE: u32 = 6;

pub fn svg_data_uri(text: &str) -> Option<String> {
    let code = QrCode::new(text.as_bytes()).ok()?;
    let image = code
        .render::<svg::Color<'_>>()
        .module_dimensions(MODULE, MODULE)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .quiet_zone(true)
        .build();
    Some(format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(image)
    ))
}

#[cfg(test)]
mod tests {
    use base64::Engine;

    #[test]
    fn produces_an_svg() {
        let uri = super::svg_data_uri("otpauth://totp/x?secret=AAAA").unwrap();
        let b64 = uri.strip_prefix("data:image/svg+xml;base64,").unwrap();
        let svg = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        let svg = String::from_utf8(svg).unwrap();
        assert!(svg.contains("<svg") && svg.contains("<path"), "{svg}");
    }
}
