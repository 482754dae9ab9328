//! Which layout the screen has room for, as the style sheet decides it: a
//! phone's, one column, or a desktop's, where the board's stages stand side
//! by side. The board draws differently for each (a phone draws one stage
//! of cards, not six), so it follows the style sheet's media query.

use wasm_bindgen::{JsCast, closure::Closure};
use yew::prelude::*;

/// The style sheet's breakpoint for a desktop (`style.css`).
const WIDE: &str = "(min-width: 1000px)";

fn matches(query: &str) -> bool {
    web_sys::window()
        .and_then(|w| w.match_media(query).ok().flatten())
        .is_some_and(|m| m.matches())
}

/// Whether the screen is a desktop's now; follows a resized window or a
/// turned tablet.
#[hook]
pub fn use_wide() -> bool {
    let wide = use_state(|| matches(WIDE));
    {
        let wide = wide.clone();
        use_effect_with((), move |_| {
            let list = web_sys::window().and_then(|w| w.match_media(WIDE).ok().flatten());
            let heard = Closure::<dyn Fn()>::new(move || wide.set(matches(WIDE)));
            if let Some(list) = &list {
                let _ =
                    list.add_event_listener_with_callback("change", heard.as_ref().unchecked_ref());
            }
            move || {
                if let Some(list) = &list {
                    let _ = list.remove_event_listener_with_callback(
                        "change",
                        heard.as_ref().unchecked_ref(),
                    );
                }
            }
        });
    }
    *wide
}
