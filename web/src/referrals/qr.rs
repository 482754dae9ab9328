//! A link's QR code, drawn on the device (`model::qr`), so a partner at a
//! fair shows it with no network.

use yew::prelude::*;

/// The code of `text` as an image named `label`; nothing when it cannot
/// be encoded.
pub fn code(text: &str, label: &str) -> Html {
    let Some((size, path)) = model::qr::path(text) else {
        return Html::default();
    };
    html! {
        <svg class="qr" role="img" aria-label={label.to_owned()}
            viewBox={format!("0 0 {size} {size}")} shape-rendering="crispEdges">
            <rect width={size.to_string()} height={size.to_string()} fill="#fff" />
            <path d={path} fill="#000" />
        </svg>
    }
}
