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
    let mut path = String::new();
    for (i, colour) in qr.to_colors().into_iter().enumerate() {
        if colour == qrcode::Color::Dark {
            let (x, y) = (i % width + 4, i / width + 4);
            path.push_str(&format!("M{x} {y}h1v1h-1z"));
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
