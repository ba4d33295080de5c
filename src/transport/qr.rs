//! QR codes of the audience link: SVG for the projector, text for a terminal.

use qrcode::render::{svg, unicode};
use qrcode::QrCode;

use crate::error::{Error, Result};

fn code(url: &str) -> Result<QrCode> {
    QrCode::new(url.as_bytes())
        .map_err(|e| Error::internal(format!("cannot encode {url:?} as a QR code: {e}")))
}

/// Black on white with a quiet zone, scalable to any size.
pub fn svg(url: &str) -> Result<String> {
    Ok(code(url)?
        .render::<svg::Color>()
        .min_dimensions(256, 256)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build())
}

/// Half-block characters, two modules per character cell, for a terminal.
pub fn terminal(url: &str) -> Result<String> {
    Ok(code(url)?
        .render::<unicode::Dense1x2>()
        .dark_color(unicode::Dense1x2::Light)
        .light_color(unicode::Dense1x2::Dark)
        .build())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_svg_is_an_svg() {
        let s = super::svg("http://192.168.1.20:8080/123456").unwrap();
        assert!(s.contains("<svg"), "{s}");
    }
}
