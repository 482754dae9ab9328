//! The profile's photo: chosen from the device (a phone's camera roll
//! holds photos of several megabytes), made a 256-pixel square JPEG on
//! the device (cropped to its middle), and sent as that, a few kilobytes,
//! to `/api/me/photo`. Shown from there; initials when there is none or
//! it cannot be fetched (offline).

use wasm_bindgen_futures::spawn_local;
use web_common::api;
use web_sys::{Blob, HtmlInputElement};
use yew::prelude::*;

/// The side of the square sent, in pixels.
const SIDE: u32 = 256;

/// `file` as a `SIDE`-pixel square JPEG, cropped to its middle.
async fn shrink(file: &Blob) -> Result<Blob, String> {
    crate::picture::jpeg(file, crate::picture::Fit::Square(SIDE), 0.85)
        .await
        .map(|made| made.blob)
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
