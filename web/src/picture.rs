//! Pictures made smaller on the device, before they cross a phone's
//! network: the profile's photo (a square) and a chat picture's thumbnail
//! (within a box). The browser decodes the file (`createImageBitmap`,
//! which turns a phone photo upright by its EXIF orientation), a canvas
//! draws it at the size wanted, and it is encoded again as JPEG.

use js_sys::{Function, Promise};
use wasm_bindgen::{JsCast, JsValue, closure::Closure};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, CanvasRenderingContext2d, HtmlCanvasElement, ImageBitmap};

/// The size wanted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fit {
    /// A square of this side, cropped to the picture's middle.
    Square(u32),
    /// The whole picture, its longer side at most this (never enlarged).
    Within(u32),
}

/// A picture as made: a JPEG and its size in pixels.
pub struct Smaller {
    pub blob: Blob,
    pub width: u32,
    pub height: u32,
}

/// `file` drawn to `fit`, as a JPEG of `quality` (0 to 1).
pub async fn jpeg(file: &Blob, fit: Fit, quality: f64) -> Result<Smaller, String> {
    let unreadable = "this file is not an image the browser can read";
    let window = web_sys::window().ok_or("no window")?;
    let bitmap: ImageBitmap = JsFuture::from(
        window
            .create_image_bitmap_with_blob(file)
            .map_err(|_| unreadable)?,
    )
    .await
    .map_err(|_| unreadable)?
    .unchecked_into();
    let (w, h) = (f64::from(bitmap.width()), f64::from(bitmap.height()));
    if w < 1.0 || h < 1.0 {
        return Err(unreadable.to_owned());
    }
    // The part of the picture taken, and the size drawn.
    let (sx, sy, sw, sh, width, height) = match fit {
        Fit::Square(side) => {
            let s = w.min(h);
            ((w - s) / 2.0, (h - s) / 2.0, s, s, side, side)
        }
        Fit::Within(edge) => {
            let scale = (f64::from(edge) / w.max(h)).min(1.0);
            let out = |v: f64| ((v * scale).round() as u32).max(1);
            (0.0, 0.0, w, h, out(w), out(h))
        }
    };
    let canvas: HtmlCanvasElement = window
        .document()
        .ok_or("no document")?
        .create_element("canvas")
        .map_err(|_| "no canvas")?
        .unchecked_into();
    canvas.set_width(width);
    canvas.set_height(height);
    let context: CanvasRenderingContext2d = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .ok_or("no canvas")?
        .unchecked_into();
    // A JPEG has no transparency: what was clear is white, not black.
    context.set_fill_style_str("#fff");
    context.fill_rect(0.0, 0.0, f64::from(width), f64::from(height));
    context
        .draw_image_with_image_bitmap_and_sw_and_sh_and_dx_and_dy_and_dw_and_dh(
            &bitmap,
            sx,
            sy,
            sw,
            sh,
            0.0,
            0.0,
            f64::from(width),
            f64::from(height),
        )
        .map_err(|_| "the image could not be drawn")?;
    bitmap.close();
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
            &JsValue::from_f64(quality),
        );
    });
    let blob = JsFuture::from(made)
        .await
        .map(|b| b.unchecked_into())
        .map_err(|_| "the picture could not be made smaller".to_owned())?;
    Ok(Smaller {
        blob,
        width,
        height,
    })
}
