//! The profile's photo: chosen from the device (a phone's camera roll
//! holds photos of several megabytes), made a 256-pixel square JPEG on
//! the device (cropped to its middle), and sent as that, a few kilobytes,
//! to `/api/me/photo`. Shown from there; initials when there is none or
//! it cannot be fetched (offline).

use js_sys::{Function, Promise};
use wasm_bindgen::{JsCast, JsValue, closure::Closure};
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_common::api;
use web_sys::{Blob, CanvasRenderingContext2d, HtmlCanvasElement, HtmlInputElement, ImageBitmap};
use yew::prelude::*;

/// The side of the square sent, in pixels.
const SIDE: u32 = 256;

/// `file` as a `SIDE`-pixel square JPEG, cropped to its middle.
async fn shrink(file: &Blob) -> Result<Blob, String> {
    let window = web_sys::window().ok_or("no window")?;
    let bitmap: ImageBitmap = JsFuture::from(
        window
            .create_image_bitmap_with_blob(file)
            .map_err(|_| "this file is not an image the browser can read")?,
    )
    .await
    .map_err(|_| "this file is not an image the browser can read")?
    .unchecked_into();
    let (w, h) = (f64::from(bitmap.width()), f64::from(bitmap.height()));
    let side = w.min(h);
    let canvas: HtmlCanvasElement = window
        .document()
        .ok_or("no document")?
        .create_element("canvas")
        .map_err(|_| "no canvas")?
        .unchecked_into();
    canvas.set_width(SIDE);
    canvas.set_height(SIDE);
    let context: CanvasRenderingContext2d = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .ok_or("no canvas")?
        .unchecked_into();
    context
        .draw_image_with_image_bitmap_and_sw_and_sh_and_dx_and_dy_and_dw_and_dh(
            &bitmap,
            (w - side) / 2.0,
            (h - side) / 2.0,
            side,
            side,
            0.0,
            0.0,
            f64::from(SIDE),
            f64::from(SIDE),
        )
        .map_err(|_| "the image could not be drawn")?;
    // `toBlob` answers by callback: made a promise here.
    let made = Promise::new(&mut |resolve: Function, reject: Function| {
        let done = Closure::once_into_js(move |blob: JsValue| {
            if blob.is_null() {
                let _ = reject.call0(&JsValue::NULL);
            } else {
                let _ = resolve.call1(&JsValue::NULL, &blob);
            }
        });
        let _ = canvas.to_blob_with_type_and_encoder_options(
            done.unchecked_ref(),
            "image/jpeg",
            &JsValue::from_f64(0.85),
        );
    });
    JsFuture::from(made)
        .await
        .map(|b| b.unchecked_into())
        .map_err(|_| "the photo could not be made smaller".to_owned())
}

#[derive(Properties, PartialEq)]
pub struct PhotoProps {
    pub name: AttrValue,
    pub has_photo: bool,
    /// A photo was sent: the app asks who is signed in again.
    pub on_saved: Callback<()>,
}

/// Up to two initials of `name`.
fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(2)
        .flat_map(char::to_uppercase)
        .collect()
}

#[function_component(Photo)]
pub fn photo(props: &PhotoProps) -> Html {
    // Bumped by each photo sent, so the image is fetched again.
    let version = use_state(|| 0u32);
    let shown = use_state(|| props.has_photo);
    let busy = use_state(|| false);
    let said = use_state(|| None::<String>);
    let chosen = {
        let (version, shown, busy, said, on_saved) = (
            version.clone(),
            shown.clone(),
            busy.clone(),
            said.clone(),
            props.on_saved.clone(),
        );
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let Some(file) = input.files().and_then(|f| f.get(0)) else {
                return;
            };
            input.set_value("");
            let (version, shown, busy, said, on_saved) = (
                version.clone(),
                shown.clone(),
                busy.clone(),
                said.clone(),
                on_saved.clone(),
            );
            busy.set(true);
            said.set(None);
            spawn_local(async move {
                let sent = match shrink(&file).await {
                    Ok(jpeg) => api::put_bytes("/api/me/photo", &jpeg.into(), "image/jpeg")
                        .await
                        .map_err(|e| e.to_string()),
                    Err(why) => Err(format!("{why}.")),
                };
                match sent {
                    Ok(_) => {
                        shown.set(true);
                        version.set(*version + 1);
                        said.set(Some("Photo saved.".to_owned()));
                        on_saved.emit(());
                    }
                    Err(why) => said.set(Some(why)),
                }
                busy.set(false);
            });
        })
    };
    let broken = {
        let shown = shown.clone();
        Callback::from(move |_| shown.set(false))
    };
    html! {
        <div class="photo-field">
            if *shown {
                <img class="photo" src={format!("/api/me/photo?v={}", *version)} alt="Your photo" width="72" height="72" onerror={broken} />
            } else {
                <span class="photo initials" aria-hidden="true">{ initials(&props.name) }</span>
            }
            <label class="button photo-pick">
                { if *busy { "Sending…" } else if *shown { "Change photo" } else { "Add a photo" } }
                <input type="file" accept="image/*" class="visually-hidden" onchange={chosen} disabled={*busy} />
            </label>
            if let Some(said) = &*said { <p class="hint" role="status">{ said }</p> }
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_are_the_first_letters_of_two_words() {
        assert_eq!(initials("eli moss"), "EM");
        assert_eq!(initials("Ana Maria Souza"), "AM");
        assert_eq!(initials(""), "");
    }
}
