//! A link's QR code, drawn on the device as SVG from the modules the
//! `qrcode` crate encodes, so a partner at a fair shows it with no network.

use yew::prelude::*;

/// The code of `text` as an image named `label`; nothing when it cannot
/// be encoded (a link is far shorter than a QR code holds).
pub fn code(text: &str, label: &str) -> Html {
    let Ok(qr) = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M) else {
        return Html::default();
    };
    let width = qr.width();
    // The quiet zone readers need: four modules round the code.
    let size = width + 8;
    // One rectangle per run of dark modules in a row: a fifth of the
    // path a square per module makes.
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
                path.push_str(&format!(
                    "M{} {}h{}v1h-{}z",
                    start + 4,
                    y + 4,
                    x - start,
                    x - start
                ));
            } else {
                x += 1;
            }
        }
    }
    html! {
        <svg class="qr" role="img" aria-label={label.to_owned()}
            viewBox={format!("0 0 {size} {size}")} shape-rendering="crispEdges">
            <rect width={size.to_string()} height={size.to_string()} fill="#fff" />
            <path d={path} fill="#000" />
        </svg>
    }
}
