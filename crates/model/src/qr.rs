//! A link's QR code as SVG: the modules the `qrcode` crate encodes (error
//! correction M), drawn as one rectangle per run of dark modules in a row,
//! inside the four-module quiet zone readers need. The same drawing on the
//! partner's device (the links screen, offline) and on the server (the
//! co-branded copies of resources).

/// The code of `text`: its side in modules (quiet zone included) and the
/// SVG path of its dark modules; `None` when it cannot be encoded (a link
/// is far shorter than a code holds).
pub fn path(text: &str) -> Option<(usize, String)> {
    let qr = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M).ok()?;
    let width = qr.width();
    let colors = qr.to_colors();
    let mut path = String::new();
    for (y, row) in colors.chunks(width).enumerate() {
        let mut x = 0;
        while x < width {
            if row[x] == qrcode::Color::Dark {
                let start = x;
                while x < width && row[x] == qrcode::Color::Dark {
                    x += 1;
                }
                let run = x - start;
                path.push_str(&format!("M{} {}h{run}v1h-{run}z", start + 4, y + 4));
            } else {
                x += 1;
            }
        }
    }
    Some((width + 8, path))
}

/// The code of `text` as a whole SVG document, black on white.
pub fn svg(text: &str) -> Option<String> {
    let (size, path) = path(text)?;
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" \
         width=\"{size}\" height=\"{size}\" shape-rendering=\"crispEdges\">\
         <rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_makes_a_square_code_in_its_quiet_zone() {
        let (size, path) = path("https://portal.example/r/0123456789ab").unwrap();
        // Version 3 (29 modules) at level M for a 37-byte link, plus 8.
        assert_eq!(size, 37);
        assert!(
            path.starts_with("M4 4h7v1h-7z"),
            "the finder's top row: {path}"
        );
        assert_ne!(
            path,
            self::path("https://portal.example/r/0123456789ac")
                .unwrap()
                .1
        );
        let svg = svg("x").unwrap();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    }
}
