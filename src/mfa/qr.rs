//! QR code of the otpauth URI as a PNG data URI, so the enrollment page needs no script and no
//! extra request that could leak the seed into a URL or log.

use base64::Engine;
use qrcode::{Color, QrCode};

/// Pixels per module and quiet-zone width in modules.
const SCALE: usize = 6;
const QUIET: usize = 4;

pub fn png_data_uri(text: &str) -> Option<String> {
    let code = QrCode::new(text.as_bytes()).ok()?;
    let width = code.width();
    let colors = code.to_colors();
    let side = (width + 2 * QUIET) * SCALE;
    let mut pixels = vec![255u8; side * side];
    for (i, color) in colors.iter().enumerate() {
        if *color == Color::Dark {
            let (mx, my) = (i % width + QUIET, i / width + QUIET);
            for y in my * SCALE..(my + 1) * SCALE {
                pixels[y * side + mx * SCALE..y * side + (mx + 1) * SCALE].fill(0);
            }
        }
    }
    let mut png = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut png, side as u32, side as u32);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().ok()?;
        writer.write_image_data(&pixels).ok()?;
    }
    Some(format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png)
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn produces_a_png() {
        let uri = super::png_data_uri("otpauth://totp/x?secret=AAAA").unwrap();
        assert!(uri.starts_with("data:image/png;base64,iVBORw0KGgo"));
    }
}
